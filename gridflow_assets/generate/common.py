"""Shared plumbing for the synthetic drop generators.

Generators build Polars frames (small reference tables may still be pandas); this module
turns them into files exactly as a utility would deliver them (encoding quirks included) and lands them with the drop protocol of
``drop-formats.md``: data files first, then ``manifest.json``, then ``_SUCCESS`` last.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.frames import as_polars

BOM = "\ufeff".encode()


def month_range(start: str, end: str) -> list[str]:
    """Inclusive list of ``YYYY-MM`` months from ``start`` to ``end``."""
    periods = pd.period_range(pd.Period(start, "M"), pd.Period(end, "M"), freq="M")
    return [p.strftime("%Y-%m") for p in periods]


def csv_bytes(df: pl.DataFrame | pd.DataFrame, *, bom: bool = False,
              final_newline: bool = True) -> bytes:
    """Serialise ``df`` as CSV the way a utility delivers it.

    Written by Polars' multithreaded CSV writer: per-row Python formatting was most of a
    drop's generation time. Empty text and NaN become empty unquoted fields, as delivered
    files carry them; fields are quoted only when they hold a comma, quote or line break.
    ``bom`` prefixes a UTF-8 byte-order mark; ``final_newline=False`` drops the trailing LF,
    as the New York utilities do.
    """
    frame = _blank_as_null(as_polars(df))
    buffer = io.BytesIO()
    frame.write_csv(buffer, line_terminator="\n", quote_style="necessary")
    data = buffer.getvalue()
    if not final_newline and data.endswith(b"\n"):
        data = data[:-1]
    return BOM + data if bom else data


def labels(name: str, values: Sequence[str] | np.ndarray | pd.Index | pd.Series,
           codes: np.ndarray) -> pl.Series:
    """A text column that repeats a few distinct ``values``: row i is ``values[codes[i]]``.

    Stored as an Enum (one small dictionary plus integer codes), so a column of a million
    meter numbers or timestamps costs a gather of integers, not a million Python strings;
    the CSV writer prints the text.
    """
    categories = pl.Series(name, np.asarray(values, dtype=object), dtype=pl.String)
    return categories.cast(pl.Enum(categories.unique(maintain_order=True))).gather(codes)


def _blank_as_null(df: pl.DataFrame) -> pl.DataFrame:
    """Null where a delivered file has an empty field: Polars writes "" and NaN otherwise."""
    fixes = [pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
             for c, t in df.schema.items() if t == pl.String]
    fixes += [pl.col(c).fill_nan(None) for c, t in df.schema.items() if t.is_float()]
    return df.with_columns(fixes) if fixes else df


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
