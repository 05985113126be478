"""The landing folder: finding complete drops, verifying them and reading them as text.

Contract (drop-formats.md): ``<landing>/<UTILITY_ID>/<YYYY-MM>/<file>.csv`` with ``_SUCCESS``
written last and an optional ``manifest.json`` (sha256 and row count per file) verified
before anything is read. Every problem that makes a file unreadable raises ``DropError``
naming the drop, the file, the column and the row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from gridflow_assets.partitions import is_valid_month, is_valid_utility_id

SUCCESS_MARKER = "_SUCCESS"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SourceFile:
    """One delivered file: its name, its columns in order, and which of them are PII."""

    filename: str
    columns: tuple[str, ...]
    pii_columns: tuple[str, ...] = ()
    bom: bool = False


@dataclass(frozen=True)
class Drop:
    utility: str
    month: str
    path: Path

    @property
    def name(self) -> str:
        return f"{self.utility}/{self.month}"


class DropError(Exception):
    """A drop (or one of its files) cannot be read; nothing of it may reach the warehouse."""

    def __init__(self, drop: str, message: str, file: str | None = None,
                 column: str | None = None, row: int | None = None):
        self.drop, self.file, self.column, self.row = drop, file, column, row
        where = [f"drop {drop}"]
        if file:
            where.append(f"file {file}")
        if column:
            where.append(f"column {column}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {message}")


def discover_drops(landing: Path) -> tuple[list[Drop], list[tuple[str, str]]]:
    """Complete drops under ``landing`` and the folders skipped, each with a reason.

    Names come from outside: a folder that is not a valid utility id or month is skipped
    (never used to build a path), as is a drop without ``_SUCCESS`` (still arriving).
    """
    landing = Path(landing)
    drops: list[Drop] = []
    skipped: list[tuple[str, str]] = []
    if not landing.is_dir():
        return drops, skipped
    for udir in sorted(p for p in landing.iterdir() if p.is_dir()):
        if not is_valid_utility_id(udir.name):
            skipped.append((udir.name, "not a valid utility id (A-Z, 0-9, _)"))
            continue
        if udir.is_symlink():
            skipped.append((udir.name, "symbolic links are not followed"))
            continue
        for mdir in sorted(p for p in udir.iterdir() if p.is_dir()):
            label = f"{udir.name}/{mdir.name}"
            if not is_valid_month(mdir.name):
                skipped.append((label, "not a valid month (YYYY-MM)"))
            elif mdir.is_symlink():
                skipped.append((label, "symbolic links are not followed"))
            elif not (mdir / SUCCESS_MARKER).exists():
                skipped.append((label, "no _SUCCESS yet: drop still being delivered"))
            else:
                drops.append(Drop(udir.name, mdir.name, mdir))
    return drops, skipped


def find_drop(landing: Path, utility: str, month: str) -> Drop:
    if not is_valid_utility_id(utility) or not is_valid_month(month):
        raise DropError(f"{utility}/{month}", "invalid utility id or month")
    path = Path(landing) / utility / month
    if not (path / SUCCESS_MARKER).exists():
        raise DropError(f"{utility}/{month}",
                        f"no complete drop at {path} (missing {SUCCESS_MARKER})")
    return Drop(utility, month, path)


def fingerprint(drop: Drop) -> str:
    """sha256 over file names, sizes and modification times: changes when re-delivered."""
    h = hashlib.sha256()
    for f in sorted(drop.path.iterdir()):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _count_records(data: bytes) -> int:
    body = data.split(b"\n", 1)[1] if b"\n" in data else b""
    return sum(1 for line in body.split(b"\n") if line.strip(b"\r"))


def verify_manifest(drop: Drop) -> dict | None:
    """Check every file of ``manifest.json`` (sha256, row count). None when there is none."""
    path = drop.path / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        entries = manifest["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DropError(drop.name, f"manifest.json is not valid: {exc}", file=MANIFEST) from exc
    for entry in entries:
        name = str(entry.get("file", ""))
        if Path(name).name != name or name in ("", ".", ".."):
            raise DropError(drop.name, f"manifest names an invalid file {name!r}", file=MANIFEST)
        fpath = drop.path / name
        if not fpath.exists():
            raise DropError(drop.name, "listed in manifest.json but not delivered", file=name)
        data = fpath.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if entry.get("sha256") and digest != entry["sha256"]:
            raise DropError(drop.name, f"sha256 {digest} does not match manifest "
                            f"{entry['sha256']}", file=name)
        if "rows" in entry and _count_records(data) != int(entry["rows"]):
            raise DropError(drop.name, f"{_count_records(data)} data rows, manifest says "
                            f"{entry['rows']}", file=name)
    return manifest


def _first_bad_utf8_row(data: bytes) -> tuple[int, int]:
    """(data row, byte offset in line) of the first invalid UTF-8 sequence."""
    for lineno, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return lineno - 1, exc.start
    return 0, 0


def read_source(drop: Drop, spec: SourceFile) -> pd.DataFrame:
    """Read one delivered file as text, every row kept, with lineage columns.

    Returns the delivered columns (all text, empty fields as ``""``) plus ``_source_file``,
    ``_source_row`` (1-based data row) and ``_parse_error`` (null, or why a ragged row
    could not be split into columns: its fields are then null and its text is kept).
    """
    fpath = drop.path / spec.filename
    rel = f"{drop.name}/{spec.filename}"
    if not fpath.exists():
        raise DropError(drop.name, "file missing from the drop", file=spec.filename)
    data = fpath.read_bytes()
    if not data.strip():
        raise DropError(drop.name, "file is empty (not even a header)", file=spec.filename)
    header_line = data.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        header_text = header_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DropError(drop.name, f"header is not UTF-8: {exc.reason}",
                        file=spec.filename, row=0) from exc
    header = next(csv.reader([header_text]), [])
    missing = [c for c in spec.columns if c not in header]
    extra = [c for c in header if c not in spec.columns]
    if missing:
        raise DropError(drop.name, f"required column missing (header has {header})",
                        file=spec.filename, column=missing[0])
    if extra:
        raise DropError(drop.name, f"unexpected column not in the {drop.utility} format",
                        file=spec.filename, column=extra[0])

    if _count_records(data) == 0:  # header only: a valid, empty delivery of the table
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in spec.columns})
        return empty.assign(_source_file=pd.Series(dtype="object"),
                            _source_row=pd.Series(dtype="Int64"),
                            _parse_error=pd.Series(dtype="object"))

    bad: list[str] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append(f"expected {row.expected_columns} fields, got {row.actual_columns}"
                   f"\x00{row.text}")
        return "skip"

    try:
        tbl = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 26),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header}, strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            row, offset = _first_bad_utf8_row(data)
            col_idx = str(exc).split("#")[1].split(":")[0] if "#" in str(exc) else None
            column = header[int(col_idx)] if col_idx and col_idx.isdigit() else None
            raise DropError(drop.name, f"invalid UTF-8 bytes at byte {offset} of the line",
                            file=spec.filename, column=column, row=row) from exc
        raise DropError(drop.name, f"cannot parse CSV: {exc}", file=spec.filename) from exc
    df = tbl.to_pandas()[list(spec.columns)]
    n_good = len(df)
    if not bad:
        rows = pd.RangeIndex(1, n_good + 1)
        df.insert(len(df.columns), "_source_file", rel)
        df["_source_row"] = pd.array(rows, dtype="Int64")
        df["_parse_error"] = None
        return df
    return _with_ragged_rows(df, data, bad, rel)


def _with_ragged_rows(df: pd.DataFrame, data: bytes, bad: list[str], rel: str) -> pd.DataFrame:
    """Number rows when some could not be split: ragged rows keep their text and a reason."""
    lines = data.decode("utf-8-sig").split("\n")[1:]
    bad_rows, reasons, texts = [], [], []
    pointer = 0
    good_rows = []
    row = 0
    for line in lines:
        text = line.rstrip("\r")
        if not text.strip():
            continue
        row += 1
        if pointer < len(bad) and text == bad[pointer].split("\x00", 1)[1]:
            reason, raw = bad[pointer].split("\x00", 1)
            bad_rows.append(row)
            reasons.append(reason)
            texts.append(raw)
            pointer += 1
        else:
            good_rows.append(row)
    if len(good_rows) != len(df):
        raise RuntimeError(f"{rel}: could not number rows ({len(good_rows)} vs {len(df)})")
    df = df.copy()
    df["_source_file"] = rel
    df["_source_row"] = pd.array(good_rows, dtype="Int64")
    df["_parse_error"] = None
    ragged = pd.DataFrame({c: [None] * len(bad_rows) for c in df.columns[:-3]})
    ragged["_source_file"] = rel
    ragged["_source_row"] = pd.array(bad_rows, dtype="Int64")
    ragged["_parse_error"] = [f"{r}: {t}" for r, t in zip(reasons, texts, strict=True)]
    out = pd.concat([df, ragged], ignore_index=True)
    return out.sort_values("_source_row", kind="stable").reset_index(drop=True)
