"""The DQ snapshot: what a steward needs to sign a month off, computed from the warehouse
itself (row counts, accounting, rejects, coverage, values) and the Dagster instance (check
evaluations), rendered as text, Markdown, JSON (interfaces.md) or the HTML dashboard.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from gridflow_assets.dq.assess import BLOCKED, READY, WARNINGS, Thresholds, count_of, pct
from gridflow_assets.dq.history import check_history
from gridflow_assets.dq.profile import data_tables, interval_label
from gridflow_assets.dq.scorecard import build_cards, check_dicts
from gridflow_assets.warehouse import Warehouse

STATUSES = (READY, WARNINGS, BLOCKED)

# check_history is re-exported: the CLI builds the snapshot from these three.
__all__ = ["build_snapshot", "check_history", "render"]


def _wanted(c: dict, utility: str | None, month: str | None) -> bool:
    if c["utility"] is None:  # checks of tables that are not partitioned
        return utility is None and month is None
    return (utility is None or c["utility"] == utility) and (month is None or c["month"] == month)


def build_snapshot(store: Warehouse, history: pd.DataFrame, utility: str | None = None,
                   month: str | None = None, thresholds: Thresholds | None = None) -> dict:
    """The snapshot of interfaces.md (``gridflow dq --format json``) and more.

    Keys of interfaces.md: ``generated_at, partitions, tables, accounting, checks``. Added:
    ``status`` (per partition), ``summary``, ``scorecard`` (one card per partition),
    ``rejects``, ``value_stats``, ``tickets`` (issues per utility) and ``thresholds``.
    """
    thresholds = thresholds or Thresholds()
    cards = build_cards(store, history, utility, month, thresholds)
    order = {k: i for i, k in enumerate(data_tables())}
    tables = sorted(({"table": k, "utility": c["utility"], "month": c["month"], "rows": n}
                     for c in cards for k, n in c["rows"].items()),
                    key=lambda r: (order[r["table"]], r["utility"], r["month"]))
    accounting = sorted(({"table": a["table"], "utility": c["utility"], "month": c["month"],
                          **{k: a[k] for k in ("landed", "kept", "duplicates_exact",
                                               "duplicates_conflicting", "rejected")},
                          "reconciles": a["reconciles"], "unaccounted": a["unaccounted"],
                          "source": a["source"], "rejects_by_reason": a["rejects_by_reason"]}
                         for c in cards for a in c["accounting"]),
                        key=lambda r: (r["utility"], r["month"], order[r["table"]]))
    checks = [{k: c[k] for k in ("asset", "check", "kind", "utility", "month", "passed",
                                 "severity", "failed_count", "total_rows", "evaluated_at",
                                 "run_id")}
              for c in check_dicts(history) if _wanted(c, utility, month)]
    counts = {s: sum(c["status"] == s for c in cards) for s in STATUSES}
    tickets = {}
    for c in cards:
        for text in c["utility_issues"]:
            tickets.setdefault(c["utility"], []).append({"month": c["month"], "text": text})
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "partitions": [{"utility": c["utility"], "month": c["month"]} for c in cards],
        "tables": tables,
        "accounting": accounting,
        "checks": checks,
        "status": [{"utility": c["utility"], "month": c["month"], "status": c["status"],
                    "trend": c["trend"], "failed_checks": c["checks"]["failed"],
                    "blocking_reasons": c["blocking_reasons"],
                    "utility_issues": c["utility_issues"]} for c in cards],
        "summary": {"partitions": len(cards), **counts,
                    "checks_passed": sum(c["passed"] for c in checks),
                    "checks_failed": sum(not c["passed"] for c in checks),
                    "check_evaluations": len(history),
                    "utilities_needing_ticket": sorted(tickets)},
        "scorecard": cards,
        "rejects": [{"utility": c["utility"], "month": c["month"], **r}
                    for c in cards for r in c["rejects"]],
        "value_stats": [{"utility": c["utility"], "month": c["month"], **v}
                        for c in cards for v in c["value_stats"]],
        "tickets": [{"utility": u, "issues": issues} for u, issues in sorted(tickets.items())],
        "thresholds": thresholds.as_dict(),
    }


def render(snapshot: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(snapshot, indent=2, default=str, ensure_ascii=False)
    if fmt == "markdown":
        return markdown(snapshot)
    if fmt == "html":
        from gridflow_assets.dq.html import render_html

        return render_html(snapshot)
    return text(snapshot)


# ---- shared formatting -------------------------------------------------------------------

def fmt_int(n) -> str:
    return "—" if n is None else f"{int(n):,}"


def fmt_pct(x) -> str:
    return "—" if x is None else pct(x)


def fmt_num(x) -> str:
    """Values in their unit: enough digits for 0.0113 kVArh and for a 992,790 kWh register."""
    if x is None:
        return "—"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.4g}"


VEE_TITLE = ("VEE rules (V1 missing intervals · V2 duplicates · V3-V8 readings flagged · "
             "V9 days not covered · E1-E4 estimates)")


def partition_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = ["utility", "month", "status", "trend", "checks ✓", "warn", "error", "missing",
            "landed", "kept", "dup exact", "dup confl.", "rejected", "orphans", "coverage",
            "days", "estimated"]
    rows = []
    for c in s["scorecard"]:
        t, k = c["totals"], c["checks"]
        rows.append([c["utility"], c["month"], c["status"], c["trend"], fmt_int(k["passed"]),
                     fmt_int(k["failed_warn"]), fmt_int(k["failed_error"]),
                     fmt_int(k["missing"]), fmt_int(t["landed"]), fmt_int(t["kept"]),
                     fmt_int(t["duplicates_exact"]), fmt_int(t["duplicates_conflicting"]),
                     fmt_int(t["rejected"]), fmt_int(t["orphans"]),
                     fmt_pct(c["coverage"]["interval_coverage"]),
                     fmt_pct(c["coverage"]["day_coverage"]),
                     fmt_pct(c["quality"]["estimated_share"])])
    return head, rows


def accounting_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = ["table", "utility", "month", "landed", "kept", "dup exact", "dup confl.",
            "rejected", "reconciles"]
    rows = [[a["table"], a["utility"], a["month"], fmt_int(a["landed"]), fmt_int(a["kept"]),
             fmt_int(a["duplicates_exact"]), fmt_int(a["duplicates_conflicting"]),
             fmt_int(a["rejected"]), "yes" if a["reconciles"] else
             f"NO ({a['unaccounted']:+,})"] for a in s["accounting"]]
    return head, rows


def reject_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = ["utility", "month", "table", "reason", "rows", "example"]
    rows = [[r["utility"], r["month"], r["table"], r["reason_code"], fmt_int(r["rows"]),
             f"{r['example_file'].rsplit('/', 1)[-1]} row {r['example_row']}"
             + (f" ({r['column']})" if r.get("column") else "")] for r in s["rejects"]]
    return head, rows


def value_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = ["utility", "month", "measurement", "direction", "kind", "interval", "unit", "rows",
            "meters", "min", "median", "mean", "max", "total", "estimated", "failed", "negative"]
    rows = [[v["utility"], v["month"], v["measurement"], v["direction"], v["reading_kind"],
             interval_label(v["interval_s"]), v["unit"], fmt_int(v["rows"]),
             fmt_int(v["meters"]), fmt_num(v["min"]), fmt_num(v["p50"]), fmt_num(v["mean"]),
             fmt_num(v["max"]), fmt_num(v["sum"]), fmt_int(v["estimated"]),
             fmt_int(v["failed_validation"]), fmt_int(v["negative"])]
            for v in s["value_stats"]]
    return head, rows


def vee_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    """Counts of every VEE rule per partition with interval data, and their total: V1
    missing intervals, V2 duplicates set aside, V3-V8 and E1-E4 readings carrying the rule,
    V9 expected days not covered."""
    cards = [c for c in s["scorecard"] if c.get("vee")]
    rules = list(cards[0]["vee"]["by_rule"]) if cards else []
    head = ["utility", "month", *rules]
    rows = [[c["utility"], c["month"], *(fmt_int(c["vee"]["by_rule"][r]) for r in rules)]
            for c in cards]
    if len(cards) > 1:
        rows.append(["all", "", *(fmt_int(sum(c["vee"]["by_rule"][r] or 0 for c in cards))
                                  for r in rules)])
    return head, rows


def failing_rows(s: dict) -> tuple[list[str], list[list[str]]]:
    head = ["asset", "check", "utility", "month", "severity", "failed"]
    rows = [[c["asset"], c["check"], c["utility"] or "—", c["month"] or "—", c["severity"],
             fmt_int(c["failed_count"])] for c in s["checks"] if not c["passed"]]
    return head, rows


def headline(s: dict) -> str:
    m = s["summary"]
    return (f"{count_of(m['partitions'], 'partition')}: {m[READY]} ready · {m[WARNINGS]} ready with "
            f"warnings · {m[BLOCKED]} blocked · checks {m['checks_passed']:,} passing, "
            f"{m['checks_failed']:,} failing")


# ---- text --------------------------------------------------------------------------------

def is_number(cell: str) -> bool:
    """A formatted number (1,234 · -0.5 · 99.9% · — for none): aligned right in tables."""
    return (cell[:1].isdigit() or (cell[:1] in ("-", "+") and cell[1:2].isdigit())
            or cell == "—")


def text_table(head: list[str], rows: list[list[str]]) -> str:
    """A terminal table: numbers right-aligned, text left-aligned, one space-padded grid."""
    if not rows:
        return "  (none)"
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    numeric = [all(is_number(str(r[i])) for r in rows) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).rjust(w) if n else str(c).ljust(w)
                         for c, w, n in zip(cells, widths, numeric, strict=True)).rstrip()

    return "\n".join([line(head), "  ".join("─" * w for w in widths), *map(line, rows)])


def text(s: dict) -> str:
    out = [f"gridflow DQ snapshot — {s['generated_at']}"]
    if not s["partitions"]:
        return "\n".join(out + ["", "No partitions in the warehouse yet: run `gridflow run`."])
    out += [headline(s), "", "Partitions", text_table(*partition_rows(s)), ""]
    blocked = [c for c in s["scorecard"] if c["blocking_reasons"]]
    if blocked:
        out.append("Blocked — fix in the pipeline before sign-off")
        for c in blocked:
            out += [f"  {c['utility']} {c['month']}"] + [f"    - {r}" for r in
                                                        c["blocking_reasons"]]
        out.append("")
    out.append("Issues to raise with the utility")
    if not s["tickets"]:
        out.append("  none: no utility needs a ticket")
    for t in s["tickets"]:
        out.append(f"  {t['utility']}")
        for i in t["issues"]:
            out.append(f"    {i['month']}  {i['text']}")
    out += ["", "Trend (compared with the utility's previous month)"]
    out += [f"  {c['utility']} {c['month']}: {c['trend']}"
            + (f" — {'; '.join(c['trend_notes'])}" if c["trend_notes"] else "")
            for c in s["scorecard"]]
    out += ["", "Row accounting (landed = kept + exact dup + conflicting dup + rejected)",
            text_table(*accounting_rows(s)), "",
            "Rejected and set-aside rows by reason", text_table(*reject_rows(s)), "",
            "Values per reading type (one row per utility, month and type: units never mixed)",
            text_table(*value_rows(s)), "",
            VEE_TITLE, text_table(*vee_rows(s)), ""]
    head, rows = failing_rows(s)
    out += [f"Failing checks ({len(rows)} of {len(s['checks'])})", text_table(head, rows)]
    return "\n".join(out)


# ---- Markdown ----------------------------------------------------------------------------

def md_table(head: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "_none_"

    def esc(cell) -> str:
        return str(cell).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows])


def status_markdown(s: dict) -> str:
    """The part a steward reads first: statuses, blockers and tickets (also the Markdown
    metadata of the scorecard asset in the Dagster UI)."""
    parts = [headline(s) + ".", "## Partitions", md_table(*partition_rows(s))]
    blocked = [c for c in s["scorecard"] if c["blocking_reasons"]]
    if blocked:
        parts.append("## Blocked — fix in the pipeline before sign-off")
        parts.append("\n".join(f"- **{c['utility']} {c['month']}**: {r}" for c in blocked
                               for r in c["blocking_reasons"]))
    parts.append("## Issues to raise with the utility")
    if not s["tickets"]:
        parts.append("None: no utility needs a ticket.")
    for t in s["tickets"]:
        parts.append(f"### {t['utility']}\n\n" + "\n".join(
            f"- {i['month']}: {i['text']}" for i in t["issues"]))
    return "\n\n".join(parts)


def markdown(s: dict) -> str:
    return "\n\n".join([
        f"# gridflow DQ snapshot\n\nGenerated {s['generated_at']}.",
        status_markdown(s),
        "## Trend\n\nCompared with the utility's previous month.\n\n" + "\n".join(
            f"- {c['utility']} {c['month']}: **{c['trend']}**"
            + (f" — {'; '.join(c['trend_notes'])}" if c["trend_notes"] else "")
            for c in s["scorecard"]),
        "## Row accounting\n\nlanded = kept + exact duplicates + conflicting duplicates + "
        "rejected, per silver table.\n\n" + md_table(*accounting_rows(s)),
        "## Rejected and set-aside rows by reason\n\n" + md_table(*reject_rows(s)),
        "## Values per reading type\n\nOne row per utility, month and reading type "
        "(measurement, direction, kind, interval, unit): units are never mixed.\n\n"
        + md_table(*value_rows(s)),
        f"## {VEE_TITLE}\n\n" + md_table(*vee_rows(s)),
        "## Failing checks\n\n" + md_table(*failing_rows(s)),
    ])
