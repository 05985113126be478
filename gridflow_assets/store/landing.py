"""The landing folder: finding complete drops, verifying them and reading them as text.

Contract (docs/formats/): ``<landing>/<UTILITY_ID>/<YYYY-MM>/<file>.csv`` with ``_SUCCESS``
written last and an optional ``manifest.json`` (sha256 and row count per file) verified
before anything is read. Every problem that makes a file unreadable raises ``DropError``
naming the drop, the file, the column and the row.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from gridflow_assets.domain.names import is_valid_month, is_valid_utility_id
from gridflow_assets.registry.formats import STANDARD, FormatVariant, NoVariant, match_variant

SUCCESS_MARKER = "_SUCCESS"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SourceFile:
    """One delivered file: its name, its columns in order (as bronze stores them), which of
    them are PII, and the format variants it may be delivered in (none declared: exactly
    ``columns``)."""

    filename: str
    columns: tuple[str, ...]
    pii_columns: tuple[str, ...] = ()
    bom: bool = False
    variants: tuple[FormatVariant, ...] = ()

    def __post_init__(self) -> None:
        for variant in self.variants:
            unknown = set(variant.allowed) - set(self.columns)
            if unknown:
                raise ValueError(f"{self.filename} {variant.name}: columns {unknown} not declared")

    @property
    def formats(self) -> tuple[FormatVariant, ...]:
        return self.variants or (FormatVariant(STANDARD, self.columns),)


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

    def __init__(
        self,
        drop: str,
        message: str,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ):
        self.drop, self.file, self.column, self.row = drop, file, column, row
        self.reason = message
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
        raise DropError(
            f"{utility}/{month}", f"no complete drop at {path} (missing {SUCCESS_MARKER})"
        )
    return Drop(utility, month, path)


# the run tag that carries a drop's fingerprint (and the Delta commits of its run)
FINGERPRINT_TAG = "gridflow/fingerprint"


def fingerprint(drop: Drop) -> str:
    """sha256 over file names, sizes and modification times: changes when re-delivered."""
    h = hashlib.sha256()
    for f in sorted(drop.path.iterdir()):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


_BLANK_AFTER = re.compile(rb"\n(?=\r*\n)")  # a newline followed by a blank line
_BLANK_FIRST = re.compile(rb"\r*\n")


def _blank_lines(lines: bytes) -> int:
    """Blank lines (nothing but carriage returns) in ``lines``, which ends with a newline."""
    first = 1 if _BLANK_FIRST.match(lines) else 0
    return first + sum(1 for _ in _BLANK_AFTER.finditer(lines))


def _digest_and_count(fpath: Path, chunk_size: int = 1 << 24) -> tuple[str, int]:
    """sha256 of the file and its data lines that are not blank (after the header), read
    in chunks: a delivered file is never held in memory whole."""
    digest = hashlib.sha256()
    records, carry, past_header = 0, b"", False
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
            buf = carry + chunk
            end = buf.rfind(b"\n")
            if end < 0:
                carry = buf
                continue
            lines, carry = buf[: end + 1], buf[end + 1 :]
            if not past_header:
                lines, past_header = lines[lines.find(b"\n") + 1 :], True
            if lines:
                records += lines.count(b"\n") - _blank_lines(lines)
    if past_header and carry.strip(b"\r"):
        records += 1  # a last line without a newline
    return digest.hexdigest(), records


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
        digest, records = _digest_and_count(fpath)
        if entry.get("sha256") and digest != entry["sha256"]:
            raise DropError(
                drop.name, f"sha256 {digest} does not match manifest {entry['sha256']}", file=name
            )
        if "rows" in entry and records != int(entry["rows"]):
            raise DropError(
                drop.name, f"{records} data rows, manifest says {entry['rows']}", file=name
            )
    return manifest


def _first_bad_utf8_row(fpath: Path) -> tuple[int, int]:
    """(data row, byte offset in line) of the first invalid UTF-8 sequence, read line by
    line (the file is never held whole)."""
    with open(fpath, "rb") as f:
        for lineno, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return lineno - 1, exc.start
    return 0, 0


def _scan(fpath: Path) -> tuple[bytes, bool, bool]:
    """(header line, whether any data row follows, whether the file is only whitespace),
    reading no further than needed: a large file is never held in memory here."""
    with open(fpath, "rb") as f:
        first = f.readline()
        header = first.rstrip(b"\n").rstrip(b"\r")
        has_rows, only_space = False, not first.strip()
        while not has_rows or only_space:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            has_rows = has_rows or bool(chunk.translate(None, b"\r\n"))
            only_space = only_space and not chunk.strip()
    return header, has_rows and first.endswith(b"\n"), only_space


def _empty_bronze(columns: tuple[str, ...]) -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            **dict.fromkeys(columns, pl.String),
            "_source_file": pl.String,
            "_source_row": pl.Int64,
            "_parse_error": pl.String,
        }
    )


# CSV text per block of pyarrow's reader: a file read whole in large blocks (few chunks in
# the gathered frame), a file streamed in smaller ones (the reader holds about 30 times a
# block at once: 480 MB at 16 MB, 146 MB at 4 MB; below 4 MB, the work per block makes
# writing the buckets of 7.2 M readings ~3 s slower).
BLOCK_SIZE = 1 << 24
STREAM_BLOCK_SIZE = 1 << 22


def _source_path(drop: Drop, spec: SourceFile) -> Path:
    fpath = drop.path / spec.filename
    if not fpath.exists():
        raise DropError(drop.name, "file missing from the drop", file=spec.filename)
    return fpath


def expected_rows(drop: Drop, spec: SourceFile, manifest: dict | None) -> int:
    """The data rows of a delivered file known before reading it: the count in the drop's
    manifest (``verify_manifest`` checked it against the file), else its lines that are not
    blank after the header, counted in chunks. A quoted field spanning lines makes this
    more than the rows read: a caller that plans with it checks the rows it got."""
    fpath = _source_path(drop, spec)
    for entry in (manifest or {}).get("files", []):
        if entry.get("file") == spec.filename and "rows" in entry:
            return int(entry["rows"])
    return _digest_and_count(fpath)[1]


def read_source(drop: Drop, spec: SourceFile) -> pl.DataFrame:
    """Read one delivered file as text, every row kept, with lineage columns.

    Returns the delivered columns (all text, empty fields as ``""``) plus ``_source_file``,
    ``_source_row`` (1-based data row, blank lines not counted) and ``_parse_error`` (null,
    or why a ragged row could not be split into columns: its fields are then null and its
    text is kept). The blocks of ``iter_source`` gathered into one frame, so the text is
    held once, as Arrow strings.
    """
    blocks = list(iter_source(drop, spec, BLOCK_SIZE))
    # The blocks stay separate chunks of one frame: joining them into one contiguous chunk
    # would copy the whole file's text (measured: 3x the memory of the text itself).
    frame = blocks[0] if len(blocks) == 1 else pl.concat(blocks, rechunk=False)
    del blocks
    pa.default_memory_pool().release_unused()
    return frame


def _header(drop: Drop, spec: SourceFile, fpath: Path) -> tuple[list[str], bool]:
    """The file's header, one of the source's variants, and whether a data row follows it;
    ``DropError`` for a file without a header, or one that is not UTF-8 or no variant's."""
    header_line, has_rows, only_space = _scan(fpath)
    if only_space:
        raise DropError(drop.name, "file is empty (not even a header)", file=spec.filename)
    try:
        header_text = header_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DropError(
            drop.name, f"header is not UTF-8: {exc.reason}", file=spec.filename, row=0
        ) from exc
    header = next(csv.reader([header_text]), [])
    try:
        match_variant(header, spec.formats, drop.utility)
    except NoVariant as exc:
        raise DropError(drop.name, str(exc), file=spec.filename, column=exc.column) from exc
    return header, has_rows


def iter_source(
    drop: Drop, spec: SourceFile, block_size: int | None = None
) -> Iterator[pl.DataFrame]:
    """``read_source`` block by block: the file streamed through pyarrow's CSV reader
    about ``block_size`` (default ``STREAM_BLOCK_SIZE``) bytes at a time, each block's rows
    as a frame with its lineage, in the file's order (at least one frame; gathered, exactly
    ``read_source``'s rows). A file that cannot be read raises ``DropError`` before the
    first frame or, for a problem found further on (a row that is not UTF-8), after
    earlier frames: a caller writing them as they come discards what it wrote.
    """
    fpath = _source_path(drop, spec)
    rel = f"{drop.name}/{spec.filename}"
    header, has_rows = _header(drop, spec, fpath)
    delivered = [c for c in spec.columns if c in header]
    if not has_rows:  # header only: a valid, empty delivery of the table
        yield _empty_bronze(spec.columns)
        return

    rows = _RowNumbers(rel)

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if row.number is None:  # only with threads, which are off
            raise RuntimeError(f"{rel}: a ragged row without a row number")
        why = f"expected {row.expected_columns} fields, got {row.actual_columns}: {row.text}"
        rows.ragged.append((row.number - 1, why))
        return "skip"

    def parse_error(exc: pa.ArrowInvalid) -> DropError:
        if "UTF8" not in str(exc):
            return DropError(drop.name, f"cannot parse CSV: {exc}", file=spec.filename)
        row, offset = _first_bad_utf8_row(fpath)
        col_idx = str(exc).split("#")[1].split(":")[0] if "#" in str(exc) else None
        column = header[int(col_idx)] if col_idx and col_idx.isdigit() else None
        return DropError(
            drop.name,
            f"invalid UTF-8 bytes at byte {offset} of the line",
            file=spec.filename,
            column=column,
            row=row,
        )

    try:
        reader = pacsv.open_csv(
            fpath,
            read_options=pacsv.ReadOptions(
                use_threads=False, block_size=block_size or STREAM_BLOCK_SIZE
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=delivered,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise parse_error(exc) from exc
    yielded = False
    for batch in _batches(reader, parse_error):
        good = pl.from_arrow(batch)
        del batch
        # a column this variant does not deliver is null (a delivered empty field is "")
        good = good.select(
            pl.col(c) if c in delivered else pl.lit(None, pl.String).alias(c) for c in spec.columns
        )
        block = rows.number(good)
        if block.height:
            yielded = True
            yield block
    last = rows.rest(_empty_bronze(spec.columns).select(spec.columns))
    if last.height or not yielded:
        yield last


def _batches(
    reader: pacsv.CSVStreamingReader, parse_error: Callable[[pa.ArrowInvalid], DropError]
) -> Iterator[pa.RecordBatch]:
    """The reader's batches in order; a CSV it cannot parse raises ``parse_error``'s error."""
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise parse_error(exc) from exc


class _RowNumbers:
    """Numbers a file's rows block by block. pyarrow numbers rows as it reads them (header
    = 1, blank lines not counted: the data row + 1, which the lineage promises) and reports
    the ragged ones (``ragged``: row, why) as it meets them, before it yields the block of
    the rows after them: each block's parsed rows take the numbers left free by the ragged
    rows placed in it."""

    def __init__(self, rel: str):
        self.rel = rel
        self.next = 1  # the number of the next row not yet placed
        self.ragged: list[tuple[int, str]] = []  # reported, not yet placed

    def number(self, good: pl.DataFrame) -> pl.DataFrame:
        """A block's parsed rows numbered, with the ragged rows that come before its last."""
        taken = 0
        while taken < len(self.ragged) and self.ragged[taken][0] < self.next + good.height + taken:
            taken += 1
        placed, self.ragged = self.ragged[:taken], self.ragged[taken:]
        first, self.next = self.next, self.next + good.height + taken
        if not placed:
            return good.with_columns(
                _source_file=pl.lit(self.rel, pl.String),
                _source_row=pl.int_range(first, first + good.height, dtype=pl.Int64),
                _parse_error=pl.lit(None, pl.String),
            )
        return _with_ragged_rows(good, placed, first, self.rel)

    def rest(self, empty: pl.DataFrame) -> pl.DataFrame:
        """The ragged rows after the last parsed row (``empty``: no parsed rows)."""
        placed, self.ragged = self.ragged, []
        if not placed:
            return self.number(empty)
        return _with_ragged_rows(empty, placed, self.next, self.rel)


def _with_ragged_rows(
    good: pl.DataFrame, bad: list[tuple[int, str]], first: int, rel: str
) -> pl.DataFrame:
    """Number rows ``first`` … when some could not be split: ragged rows keep their text
    and a reason."""
    bad_rows = np.array([r for r, _ in bad], dtype=np.int64)
    good_rows = np.setdiff1d(np.arange(first, first + good.height + len(bad)), bad_rows)
    if len(good_rows) != good.height:
        raise RuntimeError(f"{rel}: could not number rows ({len(good_rows)} vs {good.height})")
    good = good.with_columns(
        _source_file=pl.lit(rel, pl.String),
        _source_row=pl.Series(good_rows, dtype=pl.Int64),
        _parse_error=pl.lit(None, pl.String),
    )
    ragged = pl.DataFrame(
        {
            **{c: pl.Series(c, [None] * len(bad), dtype=pl.String) for c in good.columns[:-3]},
            "_source_file": [rel] * len(bad),
            "_source_row": pl.Series(bad_rows, dtype=pl.Int64),
            "_parse_error": pl.Series([why for _, why in bad], dtype=pl.String),
        }
    )
    return pl.concat([good, ragged]).sort("_source_row")
