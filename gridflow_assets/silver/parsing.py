"""Parsing delivered text into typed values, in Polars, for every utility's adapter.

Each parser returns a ``Parsed``: the typed value as an expression, and how to tell a
failure from the parsed column, so an adapter parses a column once and rejects the rows it
could not read (``silver.adapters.spec.parse``). Drops repeat the same timestamps across
millions of rows: those are parsed once per distinct text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

# ISO 8601 forms a delivered timestamp may take: with an offset (Z, ±HH:MM, ±HHMM), or
# without one (then read as UTC); 'T' or a space between date and time; any fraction.
_ISO_OFFSET = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z")
_ISO_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M%.f")


def col(c: str | pl.Expr) -> pl.Expr:
    """A column given by name or already as an expression."""
    return pl.col(c) if isinstance(c, str) else c


def on_distinct_pl(
    values: str | pl.Expr, fn: Callable[[pl.Series], pl.Series], dtype: pl.DataType
) -> pl.Expr:
    """``fn`` evaluated on the distinct values only, mapped back to every row.

    Drops repeat the same timestamps and ids across millions of rows; parsing each distinct
    text once (several formats tried in turn) is cheaper than parsing every row.
    """

    def apply(s: pl.Series) -> pl.Series:
        if s.is_empty():
            return pl.Series(s.name, [], dtype=dtype)
        distinct = s.unique()
        if 2 * len(distinct) > len(s):  # mostly distinct: mapping back would cost more
            return fn(s)
        return s.replace_strict(distinct, fn(distinct), return_dtype=dtype)

    return col(values).map_batches(apply, return_dtype=dtype, is_elementwise=True)


def blank(c: str | pl.Expr) -> pl.Expr:
    """Whether each value is null or only whitespace."""
    return col(c).str.strip_chars().fill_null("") == ""


def _first_that_parses(s: pl.Series, parsers: list[Callable[[pl.Series], pl.Series]]) -> pl.Series:
    """Each text parsed by the first parser that takes it; a later parser only sees the
    texts the earlier ones left (a drop mostly uses one form, so usually one pass)."""
    text = s.str.strip_chars()
    out = parsers[0](text)
    for parse in parsers[1:]:
        todo = out.is_null() & text.is_not_null()
        if not todo.any():
            break
        out = out.scatter(todo.arg_true(), parse(text.filter(todo)))
    return out


def _datetime(fmt: str, tz: str | None = None) -> Callable[[pl.Series], pl.Series]:
    def parse(text: pl.Series) -> pl.Series:
        out = text.str.to_datetime(
            fmt, strict=False, time_unit="us", time_zone=tz if "z" in fmt else None
        )
        return out.dt.replace_time_zone(tz) if tz and "z" not in fmt else out

    return parse


def _day(tz: str | None = None) -> Callable[[pl.Series], pl.Series]:
    def parse(text: pl.Series) -> pl.Series:
        out = text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us"))
        return out.dt.replace_time_zone(tz) if tz else out

    return parse


_UTC_PARSERS = [*(_datetime(f, "UTC") for f in _ISO_OFFSET + _ISO_NAIVE), _day("UTC")]
_LOCAL_PARSERS = [*(_datetime(f) for f in _ISO_NAIVE), _day()]


def _parse_iso_utc(s: pl.Series) -> pl.Series:
    return _first_that_parses(s, _UTC_PARSERS)


def _parse_iso_local(s: pl.Series) -> pl.Series:
    return _first_that_parses(s, _LOCAL_PARSERS)


@dataclass(frozen=True)
class Parsed:
    """A parsed column (``value``) and how to tell a failure from the parsed value (so the
    text is parsed once: the failure test reads the column the value was stored in)."""

    value: pl.Expr
    failed: Callable[[pl.Expr], pl.Expr]

    def then(self, fn: Callable[[pl.Expr], pl.Expr]) -> Parsed:
        """The value transformed (null stays null, so failures are unchanged)."""
        return Parsed(fn(self.value), self.failed)


def _failed_unless_blank(
    c: str, required: bool, bad: Callable[[pl.Expr], pl.Expr]
) -> Callable[[pl.Expr], pl.Expr]:
    return bad if required else (lambda v: bad(v) & ~blank(c))


def parse_utc(c: str, *, required: bool = True) -> Parsed:
    """ISO-8601 text (any offset or Z; none means UTC) → UTC instants. An empty value is a
    failure only when ``required``."""
    return Parsed(
        on_distinct_pl(c, _parse_iso_utc, pl.Datetime("us", "UTC")),
        _failed_unless_blank(c, required, lambda v: v.is_null()),
    )


def parse_iso_date(c: str, *, required: bool = False) -> Parsed:
    """ISO-8601 date or local date-time text → calendar date."""
    return Parsed(
        on_distinct_pl(c, _parse_iso_local, pl.Datetime("us")).dt.date(),
        _failed_unless_blank(c, required, lambda v: v.is_null()),
    )


def parse_float(c: str, *, required: bool = True) -> Parsed:
    """Text → float64; NaN is a failure, and empty text only when ``required``."""
    return Parsed(
        pl.col(c).str.strip_chars().cast(pl.Float64, strict=False),
        _failed_unless_blank(c, required, lambda v: v.is_null() | v.is_nan()),
    )


def parse_date(c: str, fmt: str) -> Parsed:
    """Text in ``fmt`` → naive date-time (parsed once per distinct text)."""
    return Parsed(
        pl.col(c).str.to_datetime(fmt, strict=False, time_unit="us", cache=True),
        lambda v: v.is_null(),
    )


def matches(c: str, pattern: str) -> pl.Expr:
    """Whether each value matches ``pattern`` (null never does)."""
    return pl.col(c).str.contains(pattern).fill_null(False)
