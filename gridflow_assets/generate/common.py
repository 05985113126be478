"""Shared plumbing for the synthetic drop generators.

Generators build DataFrames; this module turns them into files exactly as a utility would
deliver them (encoding quirks included) and lands them with the drop protocol of
``drop-formats.md``: data files first, then ``manifest.json``, then ``_SUCCESS`` last.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

BOM = "\ufeff".encode()


def month_range(start: str, end: str) -> list[str]:
    """Inclusive list of ``YYYY-MM`` months from ``start`` to ``end``."""
    periods = pd.period_range(pd.Period(start, "M"), pd.Period(end, "M"), freq="M")
    return [p.strftime("%Y-%m") for p in periods]


def csv_bytes(df: pd.DataFrame, *, bom: bool = False, final_newline: bool = True) -> bytes:
    """Serialise ``df`` as CSV the way a utility delivers it.

    ``bom`` prefixes a UTF-8 byte-order mark; ``final_newline=False`` drops the trailing LF,
    as the New York utilities do.
    """
    text = df.to_csv(index=False, lineterminator="\n")
    if not final_newline:
        text = text.rstrip("\n")
    data = text.encode("utf-8")
    return BOM + data if bom else data


def write_drop(
    landing: Path,
    utility: str,
    month: str,
    files: Mapping[str, bytes],
    *,
    manifest: bool = True,
    row_counts: Mapping[str, int] | None = None,
) -> Path:
    """Land one complete drop: files, then ``manifest.json``, then ``_SUCCESS``.

    A re-delivered month replaces the old folder: ``_SUCCESS`` is removed first so that no
    reader ever sees a mix of old and new files marked complete.
    """
    folder = Path(landing) / utility / month
    if folder.exists():
        (folder / "_SUCCESS").unlink(missing_ok=True)
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    entries = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        entry = {"file": name, "sha256": hashlib.sha256(data).hexdigest()}
        if row_counts and name in row_counts:
            entry["rows"] = int(row_counts[name])
        entries.append(entry)
    if manifest:
        (folder / "manifest.json").write_text(
            json.dumps({"utility": utility, "month": month, "files": entries}, indent=2)
        )
    (folder / "_SUCCESS").write_text("")
    return folder
