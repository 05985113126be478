"""Shared plumbing for the synthetic drop generators.

Generators build Polars frames (small reference tables may still be pandas); this module
turns them into files exactly as a utility would deliver them (encoding quirks included) and
lands them with the drop protocol of ``docs/formats/``: data files first, then
``manifest.json``, then ``_SUCCESS`` last. A large file is written piece by piece as its
frames are made (:class:`DropWriter`, :func:`csv_pieces`), so a drop never has to fit in
memory. It also holds the two text builders that keep per-row Python out of the readings
files: :func:`labels` and :func:`clock_text`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from gridflow_assets.dq.calendar import next_month
from gridflow_assets.store.frames import as_polars

BOM = "\ufeff".encode()


def month_range(start: str, end: str) -> list[str]:
    """Inclusive list of ``YYYY-MM`` months from ``start`` to ``end``."""
    periods = pd.period_range(pd.Period(start, "M"), pd.Period(end, "M"), freq="M")
    return [p.strftime("%Y-%m") for p in periods]


CSV_PIECE_ROWS = 1_000_000
"""Rows serialised at a time when a file is written piece by piece (about 75 MB of text)."""


def csv_bytes(
    df: pl.DataFrame | pd.DataFrame,
    *,
    bom: bool = False,
    final_newline: bool = True,
    header: bool = True,
) -> bytes:
    """Serialise ``df`` as CSV the way a utility delivers it.

    Written by Polars' multithreaded CSV writer: per-row Python formatting was most of a
    drop's generation time. Empty text and NaN become empty unquoted fields, as delivered
    files carry them; fields are quoted only when they hold a comma, quote or line break.
    ``bom`` prefixes a UTF-8 byte-order mark; ``final_newline=False`` drops the trailing LF,
    as the New York utilities do. ``header=False`` writes the rows only (a later piece of
    a file, :func:`csv_pieces`).
    """
    buffer = io.BytesIO()
    if bom:
        buffer.write(BOM)
    _blank_as_null(as_polars(df)).write_csv(
        buffer, include_header=header, line_terminator="\n", quote_style="necessary"
    )
    if not final_newline and buffer.getbuffer()[-1:] == b"\n":
        buffer.truncate(buffer.tell() - 1)
    return buffer.getvalue()


def csv_pieces(
    frames: Iterable[pl.DataFrame], rows: int = CSV_PIECE_ROWS
) -> Iterator[tuple[bytes, int]]:
    """One CSV file of ``frames`` one after the other, as (text, rows) pieces of at most
    ``rows`` rows: the header once, then every frame's rows. The bytes joined are those
    :func:`csv_bytes` writes for the frames concatenated (each row's text depends on that
    row only), while only one piece of text is held at a time."""
    header = True
    for frame in frames:
        yield from _frame_pieces(frame, rows, header)
        header = False
        del frame  # gone before the next frame is made


def _frame_pieces(frame: pl.DataFrame, rows: int, header: bool) -> Iterator[tuple[bytes, int]]:
    if header and not frame.height:  # an empty first frame: the header is written still
        yield csv_bytes(frame), 0
    for start in range(0, frame.height, rows):
        piece = frame.slice(start, rows)
        yield csv_bytes(piece, header=header and not start), piece.height


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


class DropWriter:
    """Lands one drop file by file with the drop protocol: each data file written in pieces
    as they come, its sha256 and rows counted on the way, then ``manifest.json``, then
    ``_SUCCESS`` (:meth:`close`).

    A re-delivered month replaces the old folder: ``_SUCCESS`` is removed first so that no
    reader ever sees a mix of old and new files marked complete.
    """

    def __init__(self, landing: Path, utility: str, month: str):
        self.utility, self.month = utility, month
        self.folder = Path(landing) / utility / month
        if self.folder.exists():
            (self.folder / "_SUCCESS").unlink(missing_ok=True)
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        self.entries: list[dict] = []

    def write(self, name: str, pieces: Iterable[bytes], rows: int | None = None) -> None:
        """Write file ``name`` from its ``pieces`` in order; ``rows`` goes in the manifest."""
        digest = hashlib.sha256()
        with open(self.folder / name, "wb") as out:
            for piece in pieces:
                out.write(piece)
                digest.update(piece)
        entry = {"file": name, "sha256": digest.hexdigest()}
        if rows is not None:
            entry["rows"] = int(rows)
        self.entries.append(entry)

    def write_csv(self, name: str, frames: Iterable[pl.DataFrame]) -> None:
        """Write CSV file ``name`` of ``frames`` one after the other (:func:`csv_pieces`),
        holding one piece at a time; the manifest counts every row written."""
        counted = [0]

        def texts() -> Iterator[bytes]:
            for text, rows in csv_pieces(frames):
                counted[0] += rows
                yield text

        self.write(name, texts())
        self.entries[-1]["rows"] = counted[0]

    def close(self, manifest: bool = True) -> Path:
        """Write ``manifest.json`` (unless ``manifest=False``), then ``_SUCCESS``."""
        if manifest:
            body = {"utility": self.utility, "month": self.month, "files": self.entries}
            (self.folder / "manifest.json").write_text(json.dumps(body, indent=2))
        marker = self.folder / "_SUCCESS"
        marker.write_text("")
        stamp = delivered_at(self.month)
        os.utime(marker, (stamp, stamp))
        return self.folder


def delivered_at(month: str) -> float:
    """When a generated drop is delivered (its ``_SUCCESS`` time, which the platform reads as
    its arrival): 06:00 UTC on the first day of the following month, on time for every
    utility's due day, or now if that is still ahead."""
    first = dt.datetime.fromisoformat(f"{next_month(month)}-01T06:00:00+00:00")
    return min(first.timestamp(), time.time())


def write_drop(
    landing: Path,
    utility: str,
    month: str,
    files: Mapping[str, bytes],
    *,
    manifest: bool = True,
    row_counts: Mapping[str, int] | None = None,
) -> Path:
    """Land one complete drop of whole files (:class:`DropWriter`)."""
    writer = DropWriter(landing, utility, month)
    for name, data in files.items():
        writer.write(name, [data], (row_counts or {}).get(name))
    return writer.close(manifest)
