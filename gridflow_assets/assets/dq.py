"""DQ assets for data stewards: check results as data, and the partition scorecard.

Both are unpartitioned. ``dq/check_results`` is the instance's whole check history (a
partition of it would be a filter, and a rerun's history belongs to no single partition).
``dq/partition_scorecard`` holds one row per month × utility, rebuilt as a whole: a
partition's status depends on checks of every layer and its trend on the previous month,
so one consistent file is simpler and cheaper than keeping partitions of it in step
(≈0.3 s per partition). Refreshing them after partition runs is the orchestration's job.
"""

from pathlib import Path

import dagster as dg
import pandas as pd

from gridflow_assets.dq.history import check_history, latest
from gridflow_assets.dq.profile import data_tables
from gridflow_assets.dq.scorecard import scorecard_frame
from gridflow_assets.dq.snapshot import build_snapshot, render, status_markdown
from gridflow_assets.registry.derive import column_schema
from gridflow_assets.registry.dq import CHECK_RESULTS, PARTITION_SCORECARD
from gridflow_assets.registry.model import Table
from gridflow_assets.resources import GridflowPaths

DASHBOARD_FILE = "dq_dashboard.html"


def _metadata(spec: Table) -> dict:
    """Static metadata from the declaration itself (``resources.table_metadata`` looks the
    key up in the registry, which must not be a condition for importing this module)."""
    return {
        "dagster/column_schema": column_schema(spec),
        "grain": spec.grain,
        "primary_key": ", ".join(spec.primary_key),
    }


def _asset(spec: Table, **kwargs):
    return dg.asset(
        key=["dq", spec.name],
        description=spec.description,
        group_name="dq",
        io_manager_key="warehouse_io",
        metadata=_metadata(spec),
        kinds={"deltalake", "pandas"},
        owners=["team:data-stewards"],
        tags={"layer": "dq"},
        **kwargs,
    )


@_asset(CHECK_RESULTS)
def check_results(context: dg.AssetExecutionContext) -> dg.Output[pd.DataFrame]:
    """Every asset-check evaluation the Dagster instance holds, as rows."""
    history = check_history(context.instance)
    now = latest(history)
    failing = now[~now.passed.astype(bool)]
    return dg.Output(
        history,
        metadata={
            "evaluations": len(history),
            "checks_latest": len(now),
            "checks_failing": len(failing),
            "checks_failing_error": int((failing.severity == "ERROR").sum()),
        },
    )


def dashboard_metadata(snapshot: dict) -> dict:
    """The dashboard's summary as Dagster metadata: Markdown the UI renders, and numbers the
    UI plots across materializations (is the warehouse getting better or worse?)."""
    cards, m = snapshot["scorecard"], snapshot["summary"]
    total = {
        k: sum(c["totals"][k] for c in cards)
        for k in (
            "landed",
            "kept",
            "duplicates_exact",
            "duplicates_conflicting",
            "rejected",
            "orphans",
        )
    }
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
        "checks_failing": m["checks_failed"],
        "utilities_needing_ticket": len(m["utilities_needing_ticket"]),
        "rows_landed": total["landed"],
        "rows_not_kept": total["landed"] - total["kept"],
        "duplicates_exact": total["duplicates_exact"],
        "duplicates_conflicting": total["duplicates_conflicting"],
        "rows_rejected": total["rejected"],
        "orphans": total["orphans"],
        "interval_coverage_min": min(coverage) if coverage else 0.0,
    }


@_asset(
    PARTITION_SCORECARD,
    ins={"checks": dg.AssetIn(["dq", "check_results"])},
    deps=[dg.AssetKey(key.split("/")) for key in data_tables()],
)
def partition_scorecard(checks: pd.DataFrame, paths: GridflowPaths) -> dg.Output[pd.DataFrame]:
    """One scorecard row per month × utility; also writes the HTML dashboard to the reports
    folder so the page and the table never disagree."""
    snapshot = build_snapshot(paths.store(), checks)
    reports = Path(paths.reports)
    reports.mkdir(parents=True, exist_ok=True)
    page = reports / DASHBOARD_FILE
    page.write_text(render(snapshot, "html"), encoding="utf-8")
    return dg.Output(
        scorecard_frame(snapshot["scorecard"]),
        metadata={**dashboard_metadata(snapshot), "dashboard": dg.MetadataValue.path(str(page))},
    )


DQ_ASSETS: list = [check_results, partition_scorecard]
