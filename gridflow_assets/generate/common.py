"""Shared plumbing for the synthetic drop generators.

Generators build Polars frames (small reference tables may still be pandas); this module
turns them into files exactly as a utility would deliver them (encoding quirks included) and
lands them with the drop protocol of ``docs/formats/``: data files first, then
``manifest.json``, then ``_SUCCESS`` last. It also holds the two text builders that keep
per-row Python out of the readings files: :func:`labels` and :func:`clock_text`.
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
import pyarrow as pa

from gridflow_assets.frames import as_polars

BOM = "\ufeff".encode()


def month_range(start: str, end: str) -> list[str]:
    """Inclusive list of ``YYYY-MM`` months from ``start`` to ``end``."""
    periods = pd.period_range(pd.Period(start, "M"), pd.Period(end, "M"), freq="M")
    return [p.strftime("%Y-%m") for p in periods]


def csv_bytes(
    df: pl.DataFrame | pd.DataFrame, *, bom: bool = False, final_newline: bool = True
) -> bytes:
    """Serialise ``df`` as CSV the way a utility delivers it.

    Written by Polars' multithreaded CSV writer: per-row Python formatting was most of a
    drop's generation time. Empty text and NaN become empty unquoted fields, as delivered
    files carry them; fields are quoted only when they hold a comma, quote or line break.
    ``bom`` prefixes a UTF-8 byte-order mark; ``final_newline=False`` drops the trailing LF,
    as the New York utilities do.
    """
    buffer = io.BytesIO()
    if bom:
        buffer.write(BOM)
    _blank_as_null(as_polars(df)).write_csv(buffer, line_terminator="\n", quote_style="necessary")
    if not final_newline and buffer.getbuffer()[-1:] == b"\n":
        buffer.truncate(buffer.tell() - 1)
    return buffer.getvalue()


def labels(
    name: str,
    values: Sequence[str] | np.ndarray | pd.Index | pd.Series | pl.Series,
    codes: np.ndarray,
) -> pl.Series:
    """A text column that repeats a few distinct ``values``: row i is ``values[codes[i]]``.

    Stored as an Enum (one small dictionary plus integer codes), so a column of a million
    meter numbers or timestamps costs a gather of integers, not a million Python strings;
    the CSV writer prints the text. ``values`` may repeat a text.
    """
    if isinstance(values, pl.Series):
        categories = values.rename(name)
    else:
        categories = pl.Series(name, np.asarray(values, dtype=object), dtype=pl.String)
    return categories.cast(pl.Enum(categories.unique(maintain_order=True))).gather(codes)


def clock_text(
    name: str,
    wall_ns: np.ndarray,
    *,
    sep: str = "T",
    offset_minutes: np.ndarray | None = None,
    zulu: bool = False,
) -> pl.Series:
    """``YYYY-MM-DD<sep>HH:MM:SS`` text of wall-clock nanoseconds, built as fixed-width bytes.

    ``offset_minutes`` appends a ``-05:00``-style offset, ``zulu`` a ``Z``. Formatting a
    million timestamps through strftime costs the better part of a second; writing digits
    into a byte matrix with numpy and handing it to Arrow as a string array costs a few
    hundredths. Dates come from a table of the few distinct days.
    """
    seconds = np.asarray(wall_ns, dtype=np.int64) // 1_000_000_000
    days, clock = np.divmod(seconds, 86_400)
    n = len(seconds)
    width = 19 + (6 if offset_minutes is not None else 0) + (1 if zulu else 0)
    out = np.empty((n, width), dtype=np.uint8)
    if n:
        first = days.min()
        calendar = np.arange(first, days.max() + 1).astype("datetime64[D]")
        table = np.frombuffer(
            "".join(np.datetime_as_string(calendar, unit="D")).encode(), dtype=np.uint8
        ).reshape(-1, 10)
        out[:, :10] = table[days - first]
    out[:, 10] = ord(sep)
    out[:, 13] = out[:, 16] = ord(":")
    _two_digits(out, 11, clock // 3600)
    _two_digits(out, 14, clock // 60 % 60)
    _two_digits(out, 17, clock % 60)
    if offset_minutes is not None:
        offset = np.asarray(offset_minutes, dtype=np.int64)
        out[:, 19] = np.where(offset < 0, ord("-"), ord("+"))
        _two_digits(out, 20, np.abs(offset) // 60)
        out[:, 22] = ord(":")
        _two_digits(out, 23, np.abs(offset) % 60)
    if zulu:
        out[:, -1] = ord("Z")
    offsets = pa.py_buffer(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    text = pa.Array.from_buffers(pa.string(), n, [None, offsets, pa.py_buffer(out)])
    return pl.Series(name, text)


def _two_digits(out: np.ndarray, column: int, values: np.ndarray) -> None:
    out[:, column] = 48 + values // 10
    out[:, column + 1] = 48 + values % 10


def _blank_as_null(df: pl.DataFrame) -> pl.DataFrame:
    """Null where a delivered file has an empty field: Polars writes "" and NaN otherwise."""
    fixes = [
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
        for c, t in df.schema.items()
        if t == pl.String
    ]
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
