"""Building blocks shared by every utility's bronze → silver transform, in Polars.

Pure functions over Polars frames and expressions. Each returns what it kept and what it set
aside, so the caller can route every landed row either into silver or into
``silver/rejects``; no per-row Python. The parsers live in ``silver.parsing``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from gridflow_assets.domain.codes import CATEGORY
from gridflow_assets.registry import table
from gridflow_assets.registry.derive import conform_pl, polars_schema
from gridflow_assets.silver.parsing import col

REJECTED = "_rejected"  # marks rows already sent to rejects (see _set_aside)
REJECTS = table("silver/rejects")


def namespaced(utility: str, ids: str | pl.Expr) -> pl.Expr:
    """'<UTILITY>:<id>' so identifiers never collide across utilities; null and empty stay
    null."""
    e = col(ids)
    return pl.when(e.is_not_null() & (e != "")).then(pl.lit(f"{utility}:") + e)


def text_or_null(c: str) -> pl.Expr:
    """The delivered text, an empty field as null (silver has no empty strings)."""
    return pl.when(pl.col(c) != "").then(pl.col(c)).alias(c)


@dataclass
class Rejects:
    """Collects rejected rows for one partition, with reason code and the delivered record."""

    utility: str
    frames: list[pl.DataFrame] = field(default_factory=list)

    def add(
        self,
        rows: pl.DataFrame,
        *,
        target: str,
        source: str,
        reason: str,
        delivered: list[str],
        column: str | None = None,
        detail: str | pl.Expr | None = None,
        key: pl.Expr | None = None,
    ) -> None:
        """Keep ``rows`` as rejects. ``detail`` and ``key`` are texts or expressions over
        ``rows``; without a detail, a ragged row's ``_parse_error`` says why."""
        if rows.is_empty():
            return
        if detail is None:
            detail_e = pl.col("_parse_error") if "_parse_error" in rows.columns else pl.lit(None)
        else:
            detail_e = pl.lit(detail) if isinstance(detail, str) else detail
        # The record as delivered, as JSON. '/' is written '\/' as the pandas writer did, so
        # raw_record stays byte-identical across engines.
        raw = pl.struct([pl.col(c).cast(pl.String) for c in delivered]).struct.json_encode()
        self.frames.append(
            rows.select(
                utility_id=pl.lit(self.utility, pl.String),
                target_table=pl.lit(target, pl.String),
                source_table=pl.lit(source, pl.String),
                source_file=pl.col("_source_file"),
                source_row=pl.col("_source_row").cast(pl.Int64),
                reason_code=pl.lit(reason, pl.String),
                category=pl.lit(CATEGORY[reason], pl.String),
                column_name=pl.lit(column, pl.String),
                detail=detail_e.cast(pl.String),
                record_key=(key if key is not None else pl.lit(None)).cast(pl.String),
                raw_record=raw.str.replace_all("/", "\\/", literal=True),
            )
        )

    def frame(self) -> pl.DataFrame:
        if not self.frames:
            return pl.DataFrame(schema=polars_schema(REJECTS))
        out = pl.concat(self.frames, how="vertical_relaxed")
        out = out.sort(["target_table", "source_file", "source_row"], maintain_order=True)
        return conform_pl(out, REJECTS)


def split_malformed(
    df: pl.DataFrame, rejects: Rejects, *, target: str, source: str, delivered: list[str]
) -> pl.DataFrame:
    """Send ragged rows (bronze ``_parse_error``) to rejects; return the rest."""
    return reject_rows(
        df,
        pl.col("_parse_error").is_not_null(),
        rejects,
        target=target,
        source=source,
        reason="MALFORMED_ROW",
        delivered=delivered,
    )


def _mask(df: pl.DataFrame, bad: pl.Expr | pl.Series) -> pl.Series:
    """Rows to reject now: ``bad`` (null counts as bad) among the rows not yet rejected."""
    mask = bad if isinstance(bad, pl.Series) else df.select(bad.alias("_bad")).to_series()
    mask = mask.fill_null(True)
    return mask & ~df.get_column(REJECTED) if REJECTED in df.columns else mask


def _set_aside(df: pl.DataFrame, mask: pl.Series) -> pl.DataFrame:
    """Mark rows as rejected instead of filtering them out: a large frame is not copied at
    every check; ``resolve_duplicates`` leaves the marked rows out, once."""
    flag = df.get_column(REJECTED) | mask if REJECTED in df.columns else mask
    return df.with_columns(flag.alias(REJECTED))


def reject_rows(
    df: pl.DataFrame,
    bad: pl.Expr | pl.Series,
    rejects: Rejects,
    *,
    target: str,
    source: str,
    reason: str,
    delivered: list[str],
    column: str | None = None,
    detail: str | pl.Expr | None = None,
    key: pl.Expr | None = None,
) -> pl.DataFrame:
    """Reject the rows where ``bad`` is true (or null); later checks skip them. The frame is
    not copied (see ``_set_aside``)."""
    mask = _mask(df, bad)
    if not mask.any():
        return df
    rejects.add(
        df.filter(mask),
        target=target,
        source=source,
        reason=reason,
        delivered=delivered,
        column=column,
        detail=detail,
        key=key,
    )
    return _set_aside(df, mask)


def reject_where(
    df: pl.DataFrame,
    bad: pl.Expr | pl.Series,
    rejects: Rejects,
    *,
    target: str,
    source: str,
    reason: str,
    delivered: list[str],
    column: str,
    detail: str | pl.Expr,
) -> pl.DataFrame:
    """Reject the rows where ``bad`` is true, naming the column and quoting its value (as
    Python's repr, computed once per distinct rejected value); later checks skip them."""
    mask = _mask(df, bad)
    if not mask.any():
        return df
    rows = df.filter(mask)
    values = rows.get_column(column)
    distinct = values.unique()
    quoted = values.replace_strict(
        distinct, [repr(v) for v in distinct.to_list()], return_dtype=pl.String
    )
    why = (pl.lit(detail) if isinstance(detail, str) else detail) + pl.lit(": ") + quoted
    rejects.add(
        rows,
        target=target,
        source=source,
        reason=reason,
        delivered=delivered,
        column=column,
        detail=why,
    )
    return _set_aside(df, mask)


@dataclass
class Dedup:
    # Lazy, with ``_versions`` (distinct versions of its key, 1 = no conflict): the kept rows
    # are gathered once, and only the columns the silver table uses (``silver_frame``).
    kept: pl.LazyFrame
    exact: pl.DataFrame
    conflicting: pl.DataFrame


def resolve_duplicates(
    df: pl.DataFrame, key: list[str], delivered: list[str], order_by: list[str]
) -> Dedup:
    """Split exact repeats and conflicting repeats of ``key``; keep one row per key.

    Exact repeat: every delivered column equal to an earlier row (the first is kept).
    Conflicting repeat: same key, other values. The winner is the last row when sorted by
    ``order_by`` (ascending, nulls last as before; put ``_source_row`` last so ties go to
    the row delivered last). Nothing is dropped: losers come back for ``silver/rejects``.
    ``key`` must follow from the delivered columns (it does for every adapter), so only rows
    whose key repeats are compared column by column: on a clean drop that is none of them.
    Rows already rejected (marked by ``reject_where``) are left out here, in one filter.
    """
    alive = ~df.get_column(REJECTED) if REJECTED in df.columns else None
    if alive is not None:
        df = df.drop(REJECTED)
    if alive is not None and alive.all():
        alive = None
    if alive is None:
        n = df.select(pl.len().over(key)).to_series()
    else:  # rows of the key not yet rejected
        n = df.with_columns(_alive=alive).select(pl.col("_alive").sum().over(key)).to_series()
    repeats = n > 1 if alive is None else (n > 1) & alive
    if df.is_empty() or not repeats.any():  # no key repeats: nothing to compare
        kept = df.lazy() if alive is None else _only(df, alive)
        return Dedup(
            kept=kept.with_columns(_versions=pl.lit(1, pl.Int64)),
            exact=df.head(0),
            conflicting=df.head(0),
        )
    # Only the rows whose key repeats, and only the columns the decision needs.
    multi = (
        df.lazy()
        .with_columns(_pos=pl.int_range(pl.len(), dtype=pl.Int64), _rep=repeats)
        .filter("_rep")
        .select(
            "_pos",
            *dict.fromkeys([*key, *order_by]),
            _first=pl.struct(delivered).is_first_distinct(),
        )
        .collect()
    )
    rest = multi.filter("_first")
    winners = (
        rest.sort(order_by, nulls_last=True, maintain_order=True)
        .group_by(key)
        .agg(pl.col("_pos").last(), _versions=pl.len())
    )
    exact = np.zeros(df.height, dtype=bool)
    exact[multi.filter(~pl.col("_first"))["_pos"].to_numpy()] = True
    losers = np.zeros(df.height, dtype=bool)
    losers[rest["_pos"].to_numpy()] = True
    losers[winners["_pos"].to_numpy()] = False
    versions = np.ones(df.height, dtype=np.int64)
    versions[winners["_pos"].to_numpy()] = winners["_versions"].to_numpy()
    keep = ~(exact | losers) if alive is None else ~(exact | losers) & alive.to_numpy()
    kept = _only(df.with_columns(_versions=pl.Series(versions)), pl.Series(keep))
    return Dedup(
        kept=kept, exact=df.filter(pl.Series(exact)), conflicting=df.filter(pl.Series(losers))
    )


def _only(df: pl.DataFrame, mask: pl.Series) -> pl.LazyFrame:
    return df.lazy().with_columns(_keep=mask).filter("_keep").drop("_keep")


def add_rule(rule_ids: pl.Expr, mask: pl.Expr, rule: str) -> pl.Expr:
    """Append ``rule`` to the ';'-separated rule ids of the rows in ``mask``."""
    appended = (
        pl.when(rule_ids.is_null() | (rule_ids == ""))
        .then(pl.lit(rule))
        .otherwise(rule_ids + pl.lit(f";{rule}"))
    )
    return pl.when(mask.fill_null(False)).then(appended).otherwise(rule_ids)


# Set by VEE, after every adapter: an adapter's rows are all delivered values.
_SET_BY_VEE = {"is_estimated": pl.lit(False), "estimation_method": pl.lit(None, pl.String)}


def silver_frame(
    kept: pl.LazyFrame | pl.DataFrame, name: str, utility: str, columns: dict[str, pl.Expr]
) -> pl.DataFrame:
    """The rows of silver/``name``: ``columns`` given, lineage from bronze, every other
    registry column null, each typed as the registry says."""
    spec = table(f"silver/{name}")
    given = {
        "utility_id": pl.lit(utility),
        **columns,
        "source_file": pl.col("_source_file"),
        "source_row": pl.col("_source_row"),
    }
    unknown = set(given) - set(spec.column_names)
    if unknown:
        raise ValueError(f"silver/{name} has no columns {sorted(unknown)}")
    out = (
        kept.lazy()
        .select(
            [
                given.get(c.name, _SET_BY_VEE.get(c.name, pl.lit(None))).alias(c.name)
                for c in spec.columns
            ]
        )
        .collect()
    )
    return conform_pl(out, spec)


def no_rules() -> pl.Expr:
    return pl.lit(None, pl.String)


def key_text(cols: list[str]) -> pl.Expr:
    """The business key of each row as one text (for rejects.record_key)."""
    return pl.concat_str([pl.col(c).cast(pl.String).fill_null("None") for c in cols], separator="|")
