"""The one bronze → silver skeleton every adapter runs, table by table:

ragged rows → the table's checks in order (ids, parsing, required fields, utility rules)
→ duplicates (exact repeats, and conflicting versions of a key: one wins) → silver
columns. Every row lands either in silver or in ``silver/rejects`` with its reason.
Also the silver columns every adapter writes the same way (versions, conflict winner,
common quality, orphans).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from gridflow_assets.domain.quality import Quality
from gridflow_assets.registry.formats import derivations
from gridflow_assets.silver.adapters.base import SilverInput, SilverOutput, Utility
from gridflow_assets.silver.adapters.spec import Context, QualityCodes, Table, registry_source
from gridflow_assets.silver.common import (
    Rejects,
    add_rule,
    key_text,
    namespaced,
    no_rules,
    resolve_duplicates,
    silver_frame,
    split_malformed,
    text_or_null,
)
from gridflow_assets.silver.derived import delivered_columns
from gridflow_assets.store.landing import SourceFile

Built = pl.DataFrame | pl.Series | None


def build_table(
    table: Table,
    file: SourceFile,
    df: pl.DataFrame,
    rejects: Rejects,
    utility: str,
    tz: str,
    built: dict[str, Built],
) -> pl.DataFrame:
    """Silver ``table`` from its bronze frame ``df`` (delivered as ``file``); what is set
    aside goes to ``rejects``."""
    declared = derivations(file.formats)
    where = {"target": table.target, "source": table.source}
    df = split_malformed(df, rejects, **where, delivered=list(file.columns))
    delivered = delivered_columns(df, file.columns, declared)
    ctx = Context(utility, tz, rejects, {**where, "delivered": delivered}, declared, built)
    for step in table.steps:
        df = step.apply(df, ctx)
    dd = resolve_duplicates(df, list(table.key), delivered, list(table.order_by))
    key = key_text(list(table.record_key))
    rejects.add(dd.exact, reason="DUP_EXACT", key=key, **ctx.where)
    rejects.add(dd.conflicting, reason="DUP_CONFLICT", key=key, detail=table.conflict, **ctx.where)
    kept = dd.kept if table.prepare is None else table.prepare(dd.kept, ctx)
    return silver_frame(kept, table.target, utility, table.columns(ctx))


@dataclass(frozen=True, eq=False)
class Adapter:
    """A utility's delivered files and the silver tables made of them, in build order
    (service points and meters before the readings flagged against them)."""

    sources: dict[str, SourceFile]
    tables: tuple[Table, ...]

    def table(self, target: str) -> Table:
        return next(t for t in self.tables if t.target == target)

    def utility(self, **identity) -> Utility:
        """The registry entry of the adapter's utility: ``identity`` (id, name, time zone,
        ...) with the files it delivers, its silver function, and the bronze table each
        silver table accounts for where that is not the registry's."""
        return Utility(
            **identity,
            sources=self.sources,
            to_silver=self.to_silver,
            silver_sources={
                t.target: t.source for t in self.tables if t.source != registry_source(t.target)
            },
        )

    def build(
        self,
        target: str,
        df: pl.DataFrame,
        rejects: Rejects,
        utility: str,
        tz: str,
        service_points: Built = None,
        meters: Built = None,
    ) -> pl.DataFrame:
        """Silver ``target`` alone, flagged against the given service points and meters."""
        table = self.table(target)
        built = {"service_points": service_points, "meters": meters}
        return build_table(table, self.sources[table.source], df, rejects, utility, tz, built)

    def to_silver(self, inp: SilverInput) -> SilverOutput:
        """Every silver table of the partition: a table already built for it
        (``SilverInput.built``) is taken as it is; an optional one only when delivered."""
        rejects = Rejects(inp.utility)
        tables: dict[str, pl.DataFrame] = {}
        for t in self.tables:
            if t.optional and t.source not in inp.bronze:
                continue

            def make(t: Table = t) -> pl.DataFrame:
                file, frame = self.sources[t.source], inp.bronze[t.source]
                return build_table(t, file, frame, rejects, inp.utility, inp.timezone, dict(tables))

            tables[t.target] = inp.table(t.target, make)
        return SilverOutput(tables=tables, rejects=rejects.frame())


# --------------------------------------------------------------- columns shared by adapters


def texts(**columns: str) -> dict[str, pl.Expr]:
    """Silver column → the delivered text column it takes (an empty field as null)."""
    return {name: text_or_null(c) for name, c in columns.items()}


def same(*columns: str) -> dict[str, pl.Expr]:
    """Columns kept as delivered, under the same name."""
    return {c: pl.col(c) for c in columns}


def parsed(*columns: str) -> dict[str, pl.Expr]:
    """Columns as parsed (``_<column>``), under the delivered name."""
    return {c: pl.col(f"_{c}") for c in columns}


def conflict_winner(rule_ids: pl.Expr | None = None) -> pl.Expr:
    """``rule_ids`` with V2_CONFLICT_WINNER on the rows that won over other versions."""
    base = no_rules() if rule_ids is None else rule_ids
    return add_rule(base, pl.col("_versions") > 1, "V2_CONFLICT_WINNER")


def service_point(utility: str, id_column: str) -> dict[str, pl.Expr]:
    """A service point's id, how many address versions it came in, and the rule that kept
    one."""
    return {
        "service_point_id": namespaced(utility, id_column),
        "address_versions": pl.col("_versions"),
        "resolution_rule": pl.when(pl.col("_versions") > 1).then(pl.lit("SP_LATEST_VERSION")),
    }


def reading_quality(
    codes: QualityCodes, first: pl.Expr | None = None, channel_unknown: pl.Expr | None = None
) -> dict[str, pl.Expr]:
    """A reading's common quality code (raw when the utility's code is unknown), the code
    as delivered, and its rule ids: ``first``, then V2_CONFLICT_WINNER, QUALITY_UNKNOWN and
    CHANNEL_UNKNOWN (where ``channel_unknown``)."""
    quality = codes.common()
    rule_ids = add_rule(conflict_winner(first), quality.is_null(), "QUALITY_UNKNOWN")
    if channel_unknown is not None:
        rule_ids = add_rule(rule_ids, channel_unknown, "CHANNEL_UNKNOWN")
    return {
        "quality_code": quality.fill_null(int(Quality.RAW)),
        "quality_code_original": pl.col(codes.column),
        "rule_ids": rule_ids,
    }


def orphan(ids: pl.Expr, known: Built, column: str) -> pl.Expr:
    """Rows whose id (``ids``) is not among ``known``'s ``column`` (or ``known`` itself,
    a series of ids)."""
    values = known if isinstance(known, pl.Series) else known.get_column(column)
    return ~ids.is_in(values.implode()).fill_null(False)
