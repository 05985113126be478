"""What an adapter says about one silver table, as data.

A ``Table`` names the checks a row of its bronze table must pass in order (ids, parsing,
required fields, utility rules), the key its duplicates share and which version wins, and
its silver columns. ``skeleton`` runs every table of every utility the same way; the code
left in an adapter (``Compute`` steps, ``prepare``, ``columns``) is what only that utility
needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from gridflow_assets.registry import table
from gridflow_assets.registry.formats import Derivation
from gridflow_assets.silver.adapters import code_tables
from gridflow_assets.silver.common import Rejects, reject_where
from gridflow_assets.silver.derived import Rule, derive_missing
from gridflow_assets.silver.parsing import Parsed, blank, matches, parse_float, parse_iso_date


@dataclass
class Context:
    """One table being built: whose rows, which clock, where rejects go (``where``: the
    target, source and delivered columns of each), and the tables already built."""

    utility: str
    tz: str
    rejects: Rejects
    where: dict
    declared: Mapping[str, Derivation]
    built: dict[str, pl.DataFrame | pl.Series | None]

    @property
    def service_points(self) -> pl.DataFrame | pl.Series | None:
        return self.built.get("service_points")

    @property
    def meters(self) -> pl.DataFrame | pl.Series | None:
        return self.built.get("meters")


class Step(Protocol):
    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame: ...


@dataclass(frozen=True, eq=False)
class Check:
    """Rows where ``bad`` holds are rejected with ``reason``, quoting ``column``; ``adds``:
    columns added first (a parsed value that ``bad`` reads)."""

    bad: pl.Expr
    reason: str
    column: str
    detail: str | pl.Expr
    adds: tuple[tuple[str, pl.Expr], ...] = ()

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        if self.adds:
            df = df.with_columns(value.alias(name) for name, value in self.adds)
        return reject_where(
            df,
            self.bad,
            ctx.rejects,
            reason=self.reason,
            column=self.column,
            detail=self.detail,
            **ctx.where,
        )


def ids(column: str, pattern: str, detail: str) -> Check:
    """``column`` must match the utility's id ``pattern`` (else ``INVALID_ID``)."""
    return Check(~matches(column, pattern), "INVALID_ID", column, detail)


def parse(column: str, parsed: Parsed, reason: str, detail: str, out: str) -> Check:
    """``column`` parsed into ``out``; a row it fails on is rejected with ``reason``."""
    return Check(parsed.failed(pl.col(out)), reason, column, detail, ((out, parsed.value),))


def timestamp(column: str, parsed: Parsed, detail: str, out: str | None = None) -> Check:
    """A date or time ``column`` parsed into ``out`` (``_<column>``), else
    ``INVALID_TIMESTAMP``."""
    return parse(column, parsed, "INVALID_TIMESTAMP", detail, out or f"_{column}")


def numbers(columns, detail: str, *, required: bool = True) -> tuple[Check, ...]:
    """Number columns parsed into ``_<column>``; an empty value only fails ``required``."""
    return tuple(
        parse(c, parse_float(c, required=required), "INVALID_NUMBER", detail, f"_{c}")
        for c in columns
    )


def dates(columns, detail: str = "expected a date") -> tuple[Check, ...]:
    """ISO dates parsed into ``_<column>`` (a date); an empty value is allowed."""
    return tuple(timestamp(c, parse_iso_date(c), detail) for c in columns)


def required(column: str, detail: str) -> Check:
    """``column`` must not be empty (``MISSING_REQUIRED``)."""
    return Check(blank(column), "MISSING_REQUIRED", column, detail)


@dataclass(frozen=True, eq=False)
class Compute:
    """Working columns a later step or the duplicate key needs: ``fn(frame, context)``
    returns the frame with them."""

    fn: Callable[[pl.DataFrame, Context], pl.DataFrame]

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        return self.fn(df, ctx)


@dataclass(frozen=True, eq=False)
class Derive:
    """The columns the delivered format variant lacks, derived as ``how`` says."""

    how: Mapping[str, Rule]

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        return derive_missing(df, ctx.declared, self.how)


@dataclass(frozen=True, eq=False)
class QualityCodes:
    """A utility's quality codes (delivered in ``column``) and the common code each maps
    to: ``codes`` itself, or the code table of that name (``code`` → ``common_code``)."""

    column: str
    codes: Mapping[str, int] | str
    strip: bool = True  # delivered codes are read without surrounding whitespace

    def common(self) -> pl.Expr:
        """The common code of each row (null when the utility's code is unknown)."""
        codes = self.codes
        if isinstance(codes, str):
            codes = code_tables.mapping(codes, "common_code")
        text = pl.col(self.column).str.strip_chars() if self.strip else pl.col(self.column)
        return text.replace_strict(
            {k: str(v) for k, v in codes.items()}, default=None, return_dtype=pl.String
        ).cast(pl.Float64, strict=False)


@dataclass(frozen=True, eq=False)
class Table:
    """One silver table made from one bronze table."""

    target: str  # silver table
    steps: tuple[Step, ...]
    key: tuple[str, ...]  # what repeats share (parsed columns)
    record_key: tuple[str, ...]  # the same key as delivered (rejects.record_key)
    conflict: str  # why a conflicting repeat lost (its reject's detail)
    columns: Callable[[Context], dict[str, pl.Expr]]
    # versions of a key sorted by these: the last wins (``_source_row``: delivered last)
    order_by: tuple[str, ...] = ("_source_row",)
    # the kept rows before ``columns`` (lookups in tables already built)
    prepare: Callable[[pl.LazyFrame, Context], pl.LazyFrame] | None = None
    optional: bool = False  # built only when its bronze table is delivered
    # the bronze table it is made of, where not the registry's (IESCO: the meters file)
    from_source: str | None = None

    @property
    def source(self) -> str:
        return self.from_source or registry_source(self.target)


def registry_source(target: str) -> str:
    """The bronze table silver ``target`` is made of, as the registry declares it."""
    return table(f"silver/{target}").source
