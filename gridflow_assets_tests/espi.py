"""Green Button (ESPI) files checked against the Green Button Alliance's schemas, vendored in
``fixtures/espi/``: ``espiDerived.xsd`` (version 0.7.20131008), the ``atom.xsd`` it imports
and a local ``xml.xsd`` for the XML namespace atom.xsd imports. Nothing is fetched from the
network: the W3C's ``xml.xsd``, by whatever address a schema names it, is the local one.

A feed validates as a whole: ``atom:content`` holds its ESPI resource under a strict
wildcard, so each resource is validated against its espiDerived.xsd declaration too.

    python -m gridflow_assets_tests.espi FOLDER...

validates every ``*.xml`` under the folders (``make demo`` runs it on
``data/warehouse/external/green_button``): exit 0 and one line when all are valid; the first
errors of each invalid file and exit 1 otherwise, or when no file is found.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from lxml import etree

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "espi"
SCHEMA = FIXTURES / "espiDerived.xsd"
XML_NAMESPACE_XSD = FIXTURES / "xml.xsd"
AUTHORITY = "Green Button Alliance"
FIRST_ERRORS = 3  # printed per invalid file


class _LocalXmlNamespace(etree.Resolver):
    """The XML namespace's schema (``http://www.w3.org/2001/xml.xsd``, ``.../03/xml.xsd``
    or ``xml.xsd`` beside the importing schema) resolved to the vendored ``xml.xsd``."""

    def resolve(self, system_url, public_id, context):
        if system_url and system_url.rsplit("/", 1)[-1] == "xml.xsd":
            return self.resolve_filename(str(XML_NAMESPACE_XSD), context)
        return None


def parser() -> etree.XMLParser:
    """The parser schemas and files are read with: no network, no external entities, the
    XML namespace's schema the local one."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalXmlNamespace())
    return parser


@functools.cache
def schema() -> etree.XMLSchema:
    """espiDerived.xsd with the atom.xsd and xml.xsd it imports, compiled once."""
    return etree.XMLSchema(etree.parse(str(SCHEMA), parser()))


@functools.cache
def version() -> str:
    """espiDerived.xsd's ``version`` attribute."""
    return etree.parse(str(SCHEMA), parser()).getroot().get("version", "unknown version")


def validate(path: str | Path) -> list[str]:
    """The schema errors of the file at ``path`` (``line N: message``); ``[]`` when it is
    valid. A file that is not well-formed XML gives its parse error."""
    try:
        doc = etree.parse(str(path), parser())
    except (etree.XMLSyntaxError, OSError) as error:
        return [f"not well-formed XML: {error}"]
    checker = schema()
    if checker.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in checker.error_log]


def xml_files(folders: Iterable[str | Path]) -> list[Path]:
    """Every ``*.xml`` under the folders (a file named directly counts too), in order."""
    found: set[Path] = set()
    for folder in map(Path, folders):
        if folder.is_file():
            found.add(folder)
        elif folder.is_dir():
            found.update(p for p in folder.rglob("*.xml") if p.is_file())
    return sorted(found)


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(
        prog="python -m gridflow_assets_tests.espi",
        description=f"Validate Green Button (ESPI) files against {SCHEMA.name} ({AUTHORITY}).",
    )
    cli.add_argument("folders", nargs="+", metavar="FOLDER", help="validate *.xml under it")
    args = cli.parse_args(argv)
    files = xml_files(args.folders)
    if not files:
        print(f"no Green Button file (*.xml) under {', '.join(args.folders)}", file=sys.stderr)
        return 1
    bad = 0
    for path in files:
        errors = validate(path)
        if errors:
            bad += 1
            more = len(errors) - FIRST_ERRORS
            print(f"{path}: invalid against {SCHEMA.name}", file=sys.stderr)
            for error in errors[:FIRST_ERRORS]:
                print(f"  {error}", file=sys.stderr)
            if more > 0:
                print(f"  ... and {more} more error(s)", file=sys.stderr)
    against = f"{SCHEMA.name} ({AUTHORITY}, {version()})"
    if bad:
        print(f"{bad} of {len(files)} Green Button file(s) invalid against {against}")
        return 1
    print(f"{len(files)} Green Button file(s) valid against {against}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
