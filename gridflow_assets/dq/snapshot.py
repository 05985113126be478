"""The DQ snapshot: what a steward needs to sign a month off, computed from the warehouse
itself (row counts, accounting, rejects, coverage, values) and the Dagster instance (check
evaluations), as data. Rendering it (text, Markdown, JSON, HTML) is ``dq/render.py``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from gridflow_assets.dq.assess import BLOCKED, READY, WARNINGS, Thresholds
from gridflow_assets.dq.history import check_history
from gridflow_assets.dq.markdown import status_markdown
from gridflow_assets.dq.profile import data_tables
from gridflow_assets.dq.rank import ranking_entry, utility_order
from gridflow_assets.dq.render import render
from gridflow_assets.dq.scorecard import build_cards, check_dicts
from gridflow_assets.warehouse import Warehouse

STATUSES = (READY, WARNINGS, BLOCKED)

# Re-exported: the CLI builds and prints the snapshot with the first three, the dq asset
# imports render and status_markdown from here too.
__all__ = ["build_snapshot", "check_history", "render", "status_markdown"]


def _wanted(c: dict, utility: str | None, month: str | None) -> bool:
    if c["utility"] is None:  # checks of tables that are not partitioned
        return utility is None and month is None
    return (utility is None or c["utility"] == utility) and (month is None or c["month"] == month)


def build_snapshot(
    store: Warehouse,
    history: pd.DataFrame,
    utility: str | None = None,
    month: str | None = None,
    thresholds: Thresholds | None = None,
) -> dict:
    """The snapshot of docs/architecture.md (``gridflow dq --format json``) and more.

    Keys of docs/architecture.md: ``generated_at, partitions, tables, accounting, checks``. Added:
    ``status`` (per partition), ``summary``, ``scorecard`` (one card per partition),
    ``ranking`` (partitions by how much needs acting on, ``dq/rank.py``), ``rejects``,
    ``value_stats``, ``tickets`` (issues per utility) and ``thresholds``.
    """
    thresholds = thresholds or Thresholds()
    cards = build_cards(store, history, utility, month, thresholds)
    order = {k: i for i, k in enumerate(data_tables())}
    tables = sorted(
        (
            {"table": k, "utility": c["utility"], "month": c["month"], "rows": n}
            for c in cards
            for k, n in c["rows"].items()
        ),
        key=lambda r: (order[r["table"]], r["utility"], r["month"]),
    )
    accounting = sorted(
        (
            {
                "table": a["table"],
                "utility": c["utility"],
                "month": c["month"],
                **{
                    k: a[k]
                    for k in (
                        "landed",
                        "kept",
                        "duplicates_exact",
                        "duplicates_conflicting",
                        "rejected",
                    )
                },
                "reconciles": a["reconciles"],
                "unaccounted": a["unaccounted"],
                "source": a["source"],
                "rejects_by_reason": a["rejects_by_reason"],
            }
            for c in cards
            for a in c["accounting"]
        ),
        key=lambda r: (r["utility"], r["month"], order[r["table"]]),
    )
    checks = [
        {
            k: c[k]
            for k in (
                "asset",
                "check",
                "kind",
                "utility",
                "month",
                "passed",
                "severity",
                "failed_count",
                "total_rows",
                "evaluated_at",
                "run_id",
            )
        }
        for c in check_dicts(history)
        if _wanted(c, utility, month)
    ]
    counts = {s: sum(c["status"] == s for c in cards) for s in STATUSES}
    tickets = {u: [] for u in utility_order(cards)}  # the utility to act on first first
    for c in cards:
        for text in c["utility_issues"]:
            tickets[c["utility"]].append({"month": c["month"], "text": text})
    tickets = {u: issues for u, issues in tickets.items() if issues}
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "partitions": [{"utility": c["utility"], "month": c["month"]} for c in cards],
        "tables": tables,
        "accounting": accounting,
        "checks": checks,
        "status": [
            {
                "utility": c["utility"],
                "month": c["month"],
                "status": c["status"],
                "trend": c["trend"],
                "failed_checks": c["checks"]["failed"],
                "blocking_reasons": c["blocking_reasons"],
                "utility_issues": c["utility_issues"],
                **{k: c["action"][k] for k in ("rank", "grade")},
                "action_score": c["action"]["score"],
            }
            for c in cards
        ],
        "ranking": [ranking_entry(c) for c in sorted(cards, key=lambda c: c["action"]["rank"])],
        "summary": {
            "partitions": len(cards),
            **counts,
            "checks_passed": sum(c["passed"] for c in checks),
            "checks_failed": sum(not c["passed"] for c in checks),
            "check_evaluations": len(history),
            "utilities_needing_ticket": sorted(tickets),
        },
        "scorecard": cards,
        "rejects": [
            {"utility": c["utility"], "month": c["month"], **r} for c in cards for r in c["rejects"]
        ],
        "value_stats": [
            {"utility": c["utility"], "month": c["month"], **v}
            for c in cards
            for v in c["value_stats"]
        ],
        "tickets": [{"utility": u, "issues": issues} for u, issues in tickets.items()],
        "thresholds": thresholds.as_dict(),
    }
