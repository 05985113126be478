"""The snapshot's tables as rows of formatted cells, and how their numbers are written:
shared by the text, Markdown and HTML renderers so the three show the same figures."""

from __future__ import annotations

from gridflow_assets.dq.assess import BLOCKED, READY, count_of, pct
from gridflow_assets.dq.checklist import interval_label
from gridflow_assets.registry.dq import STATES


def fmt_int(n) -> str:
    return "—" if n is None else f"{int(n):,}"


def fmt_pct(x) -> str:
    return "—" if x is None else pct(x)


def fmt_num(x) -> str:
    """Values in their unit: enough digits for 0.0113 kVArh and for a 992,790 kWh register."""
    if x is None:
        return "—"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.4g}"


VEE_TITLE = (
    "VEE rules (V1 missing intervals · V2 duplicates · V3-V8 readings flagged · "
    "V9 days not covered · E1-E4 estimates)"
)


RANKING_TITLE = (
    "Act on these first (score: weighted rows to act on / landed rows; grade A < 0.1% · "
    "B < 1% · C < 5% · D < 20% · E ≥ 20% · F blocked)"
)


TREND_BASIS = (
    "compared with the utility's previous month: shares of landed rows, and days covered "
    "over the days the format expects, so months of other lengths compare like with like"
)


def by_rank(s: dict) -> list[dict]:
    """The snapshot's cards, the partition to act on first first."""
    return sorted(s["scorecard"], key=lambda c: c["action"]["rank"])


def ranking_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = ["rank", "grade", "utility", "month", "score", "status", "mostly"]
    rows = [
        [
            str(r["rank"]),
            f"{r['grade']} {r['grade_meaning']}",
            r["utility"],
            r["month"],
            fmt_pct(r["score"]),
            r["status"],
            r["main_reasons"],
        ]
        for r in s["ranking"]
    ]
    return head, rows


def partition_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = [
        "rank",
        "grade",
        "utility",
        "month",
        "state",
        "sign-off",
        "trend",
        "checks ✓",
        "warn",
        "error",
        "missing",
        "landed",
        "kept",
        "dup exact",
        "dup confl.",
        "rejected",
        "orphans",
        "coverage",
        "days (exp.)",
        "estimated",
    ]
    states = {(x["utility"], x["month"]): x["state"] for x in s["states"]}
    signoffs = {(x["utility"], x["month"]): signoff_text(x["signoff"]) for x in s["states"]}
    rows = []
    for c in by_rank(s):
        t, k = c["totals"], c["checks"]
        rows.append(
            [
                str(c["action"]["rank"]),
                c["action"]["grade"],
                c["utility"],
                c["month"],
                states.get((c["utility"], c["month"]), c["status"]),
                signoffs.get((c["utility"], c["month"]), "—"),
                c["trend"],
                fmt_int(k["passed"]),
                fmt_int(k["failed_warn"]),
                fmt_int(k["failed_error"]),
                fmt_int(k["missing"]),
                fmt_int(t["landed"]),
                fmt_int(t["kept"]),
                fmt_int(t["duplicates_exact"]),
                fmt_int(t["duplicates_conflicting"]),
                fmt_int(t["rejected"]),
                fmt_int(t["orphans"]),
                fmt_pct(c["coverage"]["interval_coverage"]),
                fmt_pct(c["measures"].get("expected_day_coverage")),
                fmt_pct(c["quality"]["estimated_share"]),
            ]
        )
    return head, rows


def accounting_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = [
        "table",
        "utility",
        "month",
        "landed",
        "kept",
        "dup exact",
        "dup confl.",
        "rejected",
        "reconciles",
    ]
    rows = [
        [
            a["table"],
            a["utility"],
            a["month"],
            fmt_int(a["landed"]),
            fmt_int(a["kept"]),
            fmt_int(a["duplicates_exact"]),
            fmt_int(a["duplicates_conflicting"]),
            fmt_int(a["rejected"]),
            "yes" if a["reconciles"] else f"NO ({a['unaccounted']:+,})",
        ]
        for a in s["accounting"]
    ]
    return head, rows


def reject_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = ["utility", "month", "table", "reason", "rows", "example"]
    rows = [
        [
            r["utility"],
            r["month"],
            r["table"],
            r["reason_code"],
            fmt_int(r["rows"]),
            f"{r['example_file'].rsplit('/', 1)[-1]} row {r['example_row']}"
            + (f" ({r['column']})" if r.get("column") else ""),
        ]
        for r in s["rejects"]
    ]
    return head, rows


def value_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = [
        "utility",
        "month",
        "measurement",
        "direction",
        "kind",
        "interval",
        "unit",
        "rows",
        "meters",
        "min",
        "median",
        "mean",
        "max",
        "total",
        "estimated",
        "failed",
        "negative",
    ]
    rows = [
        [
            v["utility"],
            v["month"],
            v["measurement"],
            v["direction"],
            v["reading_kind"],
            interval_label(v["interval_s"]),
            v["unit"],
            fmt_int(v["rows"]),
            fmt_int(v["meters"]),
            fmt_num(v["min"]),
            fmt_num(v["p50"]),
            fmt_num(v["mean"]),
            fmt_num(v["max"]),
            fmt_num(v["sum"]),
            fmt_int(v["estimated"]),
            fmt_int(v["failed_validation"]),
            fmt_int(v["negative"]),
        ]
        for v in s["value_stats"]
    ]
    return head, rows


def vee_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    """Counts of every VEE rule per partition with interval data, and their total: V1
    missing intervals, V2 duplicates set aside, V3-V8 and E1-E4 readings carrying the rule,
    V9 expected days not covered."""
    cards = [c for c in s["scorecard"] if c.get("vee")]
    rules = list(cards[0]["vee"]["by_rule"]) if cards else []
    head = ["utility", "month", *rules]
    rows = [
        [c["utility"], c["month"], *(fmt_int(c["vee"]["by_rule"][r]) for r in rules)] for c in cards
    ]
    if len(cards) > 1:
        rows.append(
            ["all", "", *(fmt_int(sum(c["vee"]["by_rule"][r] or 0 for c in cards)) for r in rules)]
        )
    return head, rows


def failing_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = ["asset", "check", "utility", "month", "severity", "failed"]
    rows = [
        [
            c["asset"],
            c["check"],
            c["utility"] or "—",
            c["month"] or "—",
            c["severity"],
            fmt_int(c["failed_count"]),
        ]
        for c in s["checks"]
        if not c["passed"]
    ]
    return head, rows


def headline(s: dict) -> str:
    m = s["summary"]
    states = " · ".join(f"{m[k]} {k}" for k in STATES if m.get(k) or k in (READY, BLOCKED))
    return (
        f"{count_of(m['partitions'], 'partition')}: {states} · "
        f"{m['awaiting_signoff']} awaiting sign-off · checks {m['checks_passed']:,} passing, "
        f"{m['checks_failed']:,} failing"
    )


def signoff_text(so: dict | None) -> str:
    """A partition's sign-off in words: 'approved by Ana 2025-08-20 (waived 3)'."""
    if so is None or so.get("status") is None:
        return "—"
    status = so["status"]
    if status == "awaiting":
        return "awaiting"
    who = f" by {so['steward']} {(so.get('decided_at') or '')[:10]}"
    if status == "void":
        return "void: needs sign-off again"
    waived = len(so.get("waived_checks") or [])
    return status + who + (f" (waived {waived})" if waived else "")


def delivery_text(st: dict) -> str:
    """Where the partition's drop stands: arrived / rejected (file, column) / due."""
    d = st["delivery"]
    if d.get("outcome") == "drop rejected":
        where = ", ".join(x for x in (d.get("file"), d.get("column")) if x)
        return f"{where}: {d.get('reason')}" if where else str(d.get("reason"))
    if d.get("arrived_at"):
        return f"arrived {d['arrived_at'][:16]}Z, due {(d.get('due_at') or '')[:16]}Z"
    return f"due by {(d.get('due_at') or '')[:16]}Z"


def state_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    """Every expected partition: its state, its delivery, its sign-off."""
    head = ["utility", "month", "state", "delivery", "sign-off"]
    rows = [
        [st["utility"], st["month"], st["state"], delivery_text(st), signoff_text(st["signoff"])]
        for st in s["states"]
    ]
    return head, rows


def queue_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = ["utility", "month", "state", "to approve, waive"]
    failing = {}
    for c in s["checks"]:
        if not c["passed"]:
            failing.setdefault((c["utility"], c["month"]), []).append(f"{c['asset']}:{c['check']}")
    rows = [
        [
            q["utility"],
            q["month"],
            q["state"],
            fmt_int(len(failing.get((q["utility"], q["month"]), []))),
        ]
        for q in s["queue"]
    ]
    return head, rows


def is_number(cell: str) -> bool:
    """A formatted number (1,234 · -0.5 · 99.9% · — for none): aligned right in tables."""
    return cell[:1].isdigit() or (cell[:1] in ("-", "+") and cell[1:2].isdigit()) or cell == "—"
