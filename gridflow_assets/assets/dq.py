"""DQ assets for data stewards: check results as data, the partition scorecard, and the
two tables written where their facts happen (deliveries by the bronze step, sign-offs by the
steward).

``dq_tables`` is one refresh: it reads every check evaluation of the instance, computes
every partition's scorecard, and writes both tables partitioned by utility × month (the
reference tables' checks to ``dq/reference_checks``). A partition whose rows would be the
same bytes is not committed, so a refresh rewrites only the partitions a run changed. It
then voids the sign-offs of partitions whose content changed, and renders the dashboard
from the stored tables, so the page, ``gridflow dq`` and the tables agree on every count.
Refreshing after partition runs is the code location's job (``defs/downstream.py``).
"""

import dagster as dg
import pandas as pd
import polars as pl

from gridflow_assets.assets.layer import asset_spec
from gridflow_assets.domain.accounting import ACCOUNTING_KEYS
from gridflow_assets.dq.checklist import latest
from gridflow_assets.dq.history import refreshed_history
from gridflow_assets.dq.profile import data_tables
from gridflow_assets.dq.refresh import build_snapshot
from gridflow_assets.dq.scorecard import scorecard_frame
from gridflow_assets.dq.signoff import void_changed
from gridflow_assets.dq.snapshot import (
    DASHBOARD_FILE,
    status_markdown,
    stored_cards,
    stored_snapshot,
    write_dashboard,
)
from gridflow_assets.registry.derive import column_schema, to_arrow
from gridflow_assets.registry.dq import (
    CHECK_RESULTS,
    DELIVERIES,
    PARTITION_SCORECARD,
    REFERENCE_CHECKS,
    SIGNOFFS,
)
from gridflow_assets.registry.model import Table
from gridflow_assets.store.resources import GridflowPaths
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets.store.writers import ROW_GROUP

__all__ = ["DASHBOARD_FILE", "DQ_ASSETS", "DQ_SOURCES", "dashboard_metadata"]


def _spec(spec: Table, deps: list[str] | None = None) -> dg.AssetSpec:
    metadata = {
        "dagster/column_schema": column_schema(spec),
        "grain": spec.grain,
        "primary_key": ", ".join(spec.primary_key) or "utility, month",
        "append_only": spec.append_only,
    }
    return asset_spec(spec.key, skippable=False, deps=deps, metadata=metadata)


def dashboard_metadata(snapshot: dict) -> dict:
    """The dashboard's summary as Dagster metadata: Markdown the UI renders, and numbers the
    UI plots across materializations (is the warehouse getting better or worse?)."""
    cards, m = snapshot["scorecard"], snapshot["summary"]
    total = {k: sum(c["totals"][k] for c in cards) for k in (*ACCOUNTING_KEYS, "orphans")}
    coverage = [
        c["coverage"]["interval_coverage"]
        for c in cards
        if c["coverage"]["interval_coverage"] is not None
    ]
    return {
        "summary": dg.MetadataValue.md(status_markdown(snapshot)),
        "partitions": m["partitions"],
        "partitions_ready": m["ready"],
        "partitions_with_warnings": m["ready with warnings"],
        "partitions_blocked": m["blocked"],
        "partitions_drop_rejected": m["drop rejected"],
        "partitions_missing": m["missing and overdue"],
        "awaiting_signoff": m["awaiting_signoff"],
        "checks_failing": m["checks_failed"],
        "utilities_needing_ticket": len(m["utilities_needing_ticket"]),
        "rows_landed": total["landed"],
        "rows_kept": total["kept"],
        "duplicates_exact": total["duplicates_exact"],
        "duplicates_conflicting": total["duplicates_conflicting"],
        "rows_rejected": total["rejected"],
        "orphans": total["orphans"],
        "interval_coverage_min": min(coverage) if coverage else 0.0,
    }


def write_checks(store: Warehouse, history: pd.DataFrame, touched: set) -> int:
    """The evaluations of the ``touched`` partitions ((utility, month); (None, None): the
    reference tables') into ``dq/check_results`` (the reference tables' into
    ``dq/reference_checks``); returns the partitions committed (unchanged ones are not)."""
    columns = CHECK_RESULTS.column_names
    committed = 0
    if (None, None) in touched:
        reference = history[history.utility_id.isna()]
        committed += _write(store, REFERENCE_CHECKS.key, reference[columns])
    for (utility, month), rows in history.dropna(subset=["utility_id"]).groupby(
        ["utility_id", "month"], sort=True
    ):
        if (utility, month) in touched:
            committed += _write(store, CHECK_RESULTS.key, rows[columns], utility, month)
    return committed


def write_scorecards(store: Warehouse, cards: list[dict]) -> int:
    """One row per partition into ``dq/partition_scorecard``; returns those committed."""
    frame = scorecard_frame(cards)
    committed = 0
    for row in frame.to_dict("records"):
        utility, month = row.pop("utility_id"), row.pop("month")
        one = pd.DataFrame([row], columns=PARTITION_SCORECARD.column_names)
        committed += _write(store, PARTITION_SCORECARD.key, one, utility, month)
    return committed


def _write(
    store: Warehouse, key: str, frame: pd.DataFrame, utility: str | None = None, month=None
) -> bool:
    """One partition (the table, unpartitioned) written; whether it was committed (a
    partition whose rows are the same bytes is not)."""
    rows = pl.from_pandas(frame.reset_index(drop=True))  # Polars conforms it ~10x faster
    with store.partition_writer(key, utility, month) as w:
        w.append(to_arrow(rows, w.spec), ROW_GROUP)
    return bool(w.committed)


@dg.multi_asset(
    name="dq_tables",
    specs=[
        _spec(CHECK_RESULTS),
        _spec(REFERENCE_CHECKS),
        _spec(
            PARTITION_SCORECARD,
            deps=[*data_tables(), DELIVERIES.key, SIGNOFFS.key],
        ),
    ],
)
def dq_tables(context: dg.AssetExecutionContext, paths: GridflowPaths):
    """Check results and scorecards, partition by partition, then the dashboard."""
    store = paths.store()
    history, touched = refreshed_history(context.instance, store)
    checks_committed = write_checks(store, history, touched)
    stored = {(c["utility"], c["month"]): c for c in stored_cards(store)}
    computed = build_snapshot(store, history, reuse=stored)
    cards_committed = write_scorecards(store, computed["scorecard"])
    rebuilt = sum(c is not stored.get((c["utility"], c["month"])) for c in computed["scorecard"])
    voided = void_changed(store, computed["scorecard"], context.run_id)
    for row in voided:
        context.log.warning(f"sign-off void: {row['reason']}")
    snapshot = stored_snapshot(store)
    page = write_dashboard(snapshot, paths.reports)
    now = latest(history)
    failing = now[~now.passed.astype(bool)]
    yield dg.MaterializeResult(
        asset_key=["dq", "check_results"],
        metadata={
            "evaluations": len(history),
            "checks_latest": len(now),
            "checks_failing": len(failing),
            "checks_failing_error": int((failing.severity == "ERROR").sum()),
            "partitions_committed": checks_committed,
        },
    )
    yield dg.MaterializeResult(asset_key=["dq", "reference_checks"])
    yield dg.MaterializeResult(
        asset_key=["dq", "partition_scorecard"],
        metadata={
            **dashboard_metadata(snapshot),
            "partitions_committed": cards_committed,
            "cards_rebuilt": rebuilt,
            "signoffs_voided": len(voided),
            "dashboard": dg.MetadataValue.path(str(page)),
        },
    )


# Written where their facts happen, not by a materialization: the bronze step appends to
# dq/deliveries, `gridflow signoff` and the signoff job append to dq/signoffs.
DQ_SOURCES: list = [_spec(DELIVERIES), _spec(SIGNOFFS)]
DQ_ASSETS: list = [dq_tables]
