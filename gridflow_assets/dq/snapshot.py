"""The DQ snapshot: what a steward needs to sign a month off, as data. Rendering it (text,
Markdown, JSON, HTML) is ``dq/render.py``.

Two ways to one shape: ``dq.refresh.build_snapshot`` computes the scorecards from the warehouse itself
(row counts, accounting, rejects, coverage, values) and the Dagster instance's check
evaluations (the DQ refresh does this, then stores them); ``stored_snapshot`` reads what the
last refresh stored in the DQ tables, without Dagster, so ``gridflow dq``, the dashboard and
the tables agree on every count. Both add what changes between refreshes: every expected
partition's state and delivery (``dq/deliveries``), and its sign-off (``dq/signoffs``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from gridflow_assets.domain.accounting import ACCOUNTING_KEYS
from gridflow_assets.dq import deliveries
from gridflow_assets.dq.assess import Thresholds
from gridflow_assets.dq.calendar import now as clock
from gridflow_assets.dq.checklist import check_dicts, stored_history
from gridflow_assets.dq.markdown import status_markdown
from gridflow_assets.dq.rank import rank_cards, ranking_entry, utility_order
from gridflow_assets.dq.render import render
from gridflow_assets.dq.states import partition_states, queue, ticket_lines
from gridflow_assets.registry import data_tables, dq
from gridflow_assets.registry.dq import STATES
from gridflow_assets.store.warehouse import Warehouse

DASHBOARD_FILE = "dq_dashboard.html"
SCORECARD, CHECKS, REFERENCE_CHECKS, SIGNOFFS = (
    t.key for t in (dq.PARTITION_SCORECARD, dq.CHECK_RESULTS, dq.REFERENCE_CHECKS, dq.SIGNOFFS)
)

# Re-exported: the CLI prints the snapshot with these, the dq asset imports them from here.
__all__ = ["assemble", "render", "status_markdown", "stored_snapshot"]


def is_wanted(c: dict, utility: str | None, month: str | None) -> bool:
    if c["utility"] is None:  # checks of tables that are not partitioned
        return utility is None and month is None
    return (utility is None or c["utility"] == utility) and (month is None or c["month"] == month)


def stored_cards(store: Warehouse) -> list[dict]:
    """Every partition's scorecard as the last DQ refresh stored it (none from a table an
    earlier gridflow wrote without a column of today's: the next refresh rebuilds every card)."""
    frame = store.read_table(SCORECARD)
    if frame is None or set(dq.PARTITION_SCORECARD.column_names) - set(frame.columns):
        return []
    return [json.loads(text) for text in frame["card"].to_list()]


def stored_checks(store: Warehouse) -> tuple[list[dict], int]:
    """The latest evaluation of every check as the last DQ refresh stored it, and the number
    of evaluations stored."""
    history = stored_history(store)
    return check_dicts(history), len(history)


def stored_snapshot(
    store: Warehouse,
    utility: str | None = None,
    month: str | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """The snapshot the last DQ refresh stored (``gridflow dq``, the dashboard), with every
    expected partition's state and sign-off as they stand now. No Dagster."""
    cards = [
        c
        for c in stored_cards(store)
        if (utility is None or c["utility"] == utility) and (month is None or c["month"] == month)
    ]
    cards.sort(key=lambda c: (c["utility"], c["month"]))
    rank_cards(cards)
    checks, evaluations = stored_checks(store)
    checks = [c for c in checks if is_wanted(c, utility, month)]
    return assemble(store, cards, checks, evaluations, Thresholds(), utility, month, now)


def write_dashboard(snapshot: dict, reports: str | Path) -> Path:
    """The snapshot as the HTML dashboard, ``<reports>/dq_dashboard.html``."""
    folder = Path(reports)
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / DASHBOARD_FILE
    page.write_text(render(snapshot, "html"), encoding="utf-8")
    return page


def calendars(rows: dict[tuple[str, str], dict]):
    """A utility's delivery day and time zone: as its deliveries recorded them (no adapter
    imported to print a snapshot), else from its registry entry; None when not registered."""
    known = {u: (r["due_day"], r["timezone"]) for (u, _), r in rows.items() if r.get("due_day")}

    def calendar_of(utility: str) -> tuple[int, str] | None:
        if utility in known:
            return known[utility]
        from gridflow_assets.silver.adapters import get_utility

        try:
            u = get_utility(utility)
        except KeyError:
            return None
        return u.expected_delivery_day, u.timezone

    return calendar_of


def signoff_rows(store: Warehouse) -> list[dict]:
    frame = store.read_table(SIGNOFFS)
    return [] if frame is None else frame.to_dicts()


def assemble(
    store: Warehouse,
    cards: list[dict],
    checks: list[dict],
    evaluations: int,
    thresholds: Thresholds,
    utility: str | None = None,
    month: str | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """The snapshot of docs/architecture.md (``gridflow dq --format json``) and more.

    Keys of docs/architecture.md: ``generated_at, partitions, tables, accounting, checks``. Added:
    ``states`` (every expected partition: state, delivery, sign-off), ``queue`` (awaiting a
    decision, oldest first), ``status`` (per partition with data), ``summary``,
    ``scorecard`` (one card per partition with data), ``ranking`` (by how much needs acting
    on, ``dq/rank.py``), ``rejects``, ``value_stats``, ``tickets`` (issues per utility) and
    ``thresholds``.
    """
    now = now or clock()
    by_key = {(c["utility"], c["month"]): c for c in cards}
    delivered = deliveries.latest(store)
    states = partition_states(
        by_key,
        delivered,
        signoff_rows(store),
        calendars(delivered),
        now,
        utility,
        month,
    )
    state_of = {(s["utility"], s["month"]): s for s in states}
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
                **{k: a[k] for k in ACCOUNTING_KEYS},
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
                "violation",
            )
        }
        for c in checks
    ]
    counts = {s: sum(x["state"] == s for x in states) for s in STATES}
    # the utility to act on first first, then those whose only issue is a delivery
    tickets = {u: [] for u in [*utility_order(cards), *sorted({s["utility"] for s in states})]}
    for s in states:
        for text in ticket_lines(s):
            tickets[s["utility"]].append({"month": s["month"], "text": text})
    for c in cards:
        for text in c["utility_issues"]:
            tickets[c["utility"]].append({"month": c["month"], "text": text})
    tickets = {u: issues for u, issues in tickets.items() if issues}
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "now": now.isoformat(timespec="seconds"),
        "partitions": [{"utility": s["utility"], "month": s["month"]} for s in states],
        "states": states,
        "queue": [
            {"utility": s["utility"], "month": s["month"], "state": s["state"]}
            for s in queue(states)
        ],
        "tables": tables,
        "accounting": accounting,
        "checks": checks,
        "status": [
            {
                "utility": c["utility"],
                "month": c["month"],
                "status": c["status"],
                "state": state_of[(c["utility"], c["month"])]["state"],
                "signoff": state_of[(c["utility"], c["month"])]["signoff"],
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
            "partitions": len(states),
            "partitions_with_data": len(cards),
            **counts,
            "awaiting_signoff": len(queue(states)),
            "checks_passed": sum(c["passed"] for c in checks),
            "checks_failed": sum(not c["passed"] for c in checks),
            "check_evaluations": evaluations,
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
