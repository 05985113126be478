"""The DQ dashboard: one self-contained HTML page (inline CSS and SVG, no script, no
network) answering a steward's three questions from the page alone: is every partition
ready, what was rejected and why, and which utility needs a ticket.
"""

from __future__ import annotations

from gridflow_assets.domain.codes import REASON_CODES
from gridflow_assets.dq import svg
from gridflow_assets.dq.assess import BLOCKED, READY, WARNINGS
from gridflow_assets.dq.rank import BLOCKED_GRADE, GRADES, utility_order
from gridflow_assets.dq.rows import (
    RANKING_TITLE,
    TREND_BASIS,
    accounting_rows,
    delivery_text,
    fmt_int,
    fmt_pct,
    headline,
    is_number,
    partition_rows,
    queue_rows,
    ranking_rows,
    reject_rows,
    signoff_text,
    state_rows,
    value_rows,
    vee_rows,
)
from gridflow_assets.registry import data_tables

esc = svg.esc
STATUS_CLASS = {
    READY: "ready",
    WARNINGS: "warn",
    BLOCKED: "blocked",
    "delivered late": "warn",
    "drop rejected": "blocked",
    "missing and overdue": "blocked",
    "not yet due": "mute",
}
TREND_SERIES = {
    "score (rows to act on)": "#1f2328",
    "exact duplicates": "#0969da",
    "conflicting duplicates": "#8250df",
    "rejected": "#cf222e",
    "orphans": "#bc4c00",
}
COVERAGE_COLORS = {
    "interval coverage": "#1a7f37",
    "days of the expected days": "#8250df",
    "days of the month": "#0969da",
}
# One background per grade, green (A) to deep orange (E); F (blocked) is solid red.
GRADE_COLORS = {
    "A": "#dafbe1",
    "B": "#eaf5c8",
    "C": "#fff1a8",
    "D": "#ffd3a1",
    "E": "#ff9f87",
    "F": "#cf222e",
}

GRADE_CSS = "".join(f".grade-{g}{{background:{c}}}" for g, c in GRADE_COLORS.items())
CSS = """
:root{--ready:#2da44e;--warn:#d4a72c;--blocked:#cf222e;--ink:#1f2328;--mute:#57606a;
--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;
color:var(--ink);margin:0;background:#fff}
header{background:var(--ink);color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#d0d7de}main{padding:8px 28px 40px;max-width:1500px}
section{margin:26px 0}h2{font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px}.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.kpi{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:130px}
.kpi b{display:block;font-size:22px}.kpi span{color:var(--mute);font-size:12px}
.banner{padding:10px 14px;border-radius:6px;font-weight:600;margin-top:14px}
.banner.ready{background:#dafbe1}.banner.warn{background:#fff8c5}.banner.blocked{background:#ffebe9}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0}
th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--bg)}td.n{text-align:right;font-variant-numeric:tabular-nums}
.board td.status{min-width:150px;font-weight:600;border:2px solid #fff}
.board small{display:block;font-weight:400;color:var(--ink)}.board td.grade-F{color:#fff}
.board td.grade-F small{color:#fff}.grade{font-size:20px;margin-right:6px}
.panels{display:flex;flex-wrap:wrap;gap:18px}.panel{border:1px solid var(--line);
border-radius:6px;padding:8px 12px}.panel h3{margin-top:2px}
.legend{display:flex;flex-wrap:wrap;gap:12px;font-size:12px;margin:6px 0}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;
border-radius:2px}.ticket{border-left:4px solid var(--warn);padding:4px 14px;margin:10px 0;
background:#fffdf0}.ticket.blocked{border-color:var(--blocked);background:#fff5f4}
.ticket.none{border-color:var(--ready);background:#f3fbf5}.ticket ul{margin:4px 0 8px;
padding-left:20px}.pipeline{color:var(--blocked)}.mute{color:var(--mute)}
details summary{cursor:pointer;color:#0969da;margin:8px 0}.scroll{overflow-x:auto}
footer{color:var(--mute);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
@media print{header{background:#fff;color:var(--ink)}details{display:none}}
"""


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    if not rows:
        return '<p class="mute">None.</p>'
    numeric = [all(is_number(str(r[i])) for r in rows) for i in range(len(head))]
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{esc(c)}</td>' if n else f"<td>{esc(c)}</td>"
            for c, n in zip(r, numeric, strict=True)
        )
        + "</tr>"
        for r in rows
    )
    return (
        f'<div class="scroll"><table class="{cls}"><thead><tr>{th}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _section(sid: str, title: str, intro: str, body: str) -> str:
    return (
        f'<section id="{sid}"><h2>{esc(title)}</h2>'
        + (f'<p class="mute">{esc(intro)}</p>' if intro else "")
        + body
        + "</section>"
    )


def _kpis(s: dict) -> str:
    cards = s["scorecard"]
    landed = sum(c["totals"]["landed"] for c in cards)
    kept = sum(c["totals"]["kept"] for c in cards)
    m = s["summary"]
    tiles = [
        (m["partitions"], "partitions"),
        (m[READY], "ready"),
        (m[WARNINGS], "ready with warnings"),
        (m[BLOCKED], "blocked"),
        (m["drop rejected"], "drop rejected"),
        (m["missing and overdue"], "missing and overdue"),
        (m["delivered late"], "delivered late"),
        (m["awaiting_signoff"], "awaiting sign-off"),
        (
            f"{m['checks_failed']:,}",
            (f"of {m['checks_passed'] + m['checks_failed']:,} checks failing"),
        ),
        (f"{landed:,}", "rows landed (silver sources)"),
        (f"{landed - kept:,}", "rows set aside or rejected"),
        (len(m["utilities_needing_ticket"]), "utilities need a ticket"),
    ]
    kpis = "".join(f'<div class="kpi"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for v, k in tiles)
    return f'<div class="kpis">{kpis}</div>'


def _banner(s: dict) -> str:
    m = s["summary"]
    if not m["partitions"]:
        return (
            '<div class="banner warn">No partitions in the warehouse yet: run '
            "<code>gridflow run</code>.</div>"
        )
    undelivered = m["drop rejected"] + m["missing and overdue"]
    if m[BLOCKED] or undelivered:
        cls, what = (
            "blocked",
            (
                f"{m[BLOCKED]} of {m['partitions']} partitions are blocked (do not sign off "
                f"until the pipeline is fixed); {m['drop rejected']} drop(s) rejected and "
                f"{m['missing and overdue']} missing and overdue (chase the utility)."
            ),
        )
    elif m[WARNINGS]:
        cls, what = (
            "warn",
            (
                f"Every partition can flow; {m[WARNINGS]} of {m['partitions']} "
                "have issues to raise with the utility."
            ),
        )
    else:
        cls, what = "ready", f"All {m['partitions']} partitions are ready to sign off."
    return f'<div class="banner {cls}" id="verdict">{esc(what)}</div>'


def _cell(st: dict, c: dict | None) -> str:
    """One partition of the board: its state and sign-off, and for one with data its grade,
    rank and score."""
    so = signoff_text(st["signoff"])
    if c is None:
        tip = delivery_text(st)
        return (
            f'<td class="status {STATUS_CLASS[st["state"]]}" title="{esc(tip)}">'
            f"{esc(st['state'])}<small>{esc(tip)}</small></td>"
        )
    k, a = c["checks"], c["action"]
    tip = "\n".join(c["blocking_reasons"] + c["utility_issues"]) or "nothing to raise"
    return (
        f'<td class="status {STATUS_CLASS[st["state"]]} grade-{esc(a["grade"])}" '
        f'title="{esc(tip)}"><span class="grade">{esc(a["grade"])}</span>'
        f"#{a['rank']} · score {esc(fmt_pct(a['score']))}<small>{esc(st['state'])} · "
        f"sign-off: {esc(so)} · {len(c['issues'])} issues · "
        f"{k['failed_warn'] + k['failed_error']} failing checks · trend {esc(c['trend'])}"
        "</small></td>"
    )


def status_board(s: dict) -> str:
    """Utility × month grid of every expected partition, coloured by state: the sign-off
    question at a glance."""
    cards = {(c["utility"], c["month"]): c for c in s["scorecard"]}
    states = {(x["utility"], x["month"]): x for x in s["states"]}
    utilities = sorted({u for u, _ in states})
    months = sorted({m for _, m in states})
    head = "<tr><th>utility</th>" + "".join(f"<th>{esc(m)}</th>" for m in months) + "</tr>"
    rows = []
    for u in utilities:
        cells = [
            _cell(states[(u, m)], cards.get((u, m)))
            if (u, m) in states
            else '<td class="mute">not expected</td>'
            for m in months
        ]
        rows.append(f"<tr><th>{esc(u)}</th>{''.join(cells)}</tr>")
    grid = f'<table class="board">{head}{"".join(rows)}</table>'
    grades = svg.legend(
        {f"{g} {meaning}": GRADE_COLORS[g] for g, _, meaning in GRADES}
        | {" ".join(BLOCKED_GRADE): GRADE_COLORS[BLOCKED_GRADE[0]]}
    )
    return _section(
        "status",
        "Partition status",
        "Each cell: the grade of its score (rows to act on, weighted, per landed row), its "
        "rank (#1: act on it first), then its state and sign-off. ready: nothing to raise · "
        "ready with warnings: the data flows, the issues are the utility's · blocked: a "
        "pipeline guarantee is broken, do not sign off · delivered late · drop rejected: "
        "the drop could not be read · missing and overdue: no drop by its due day · not "
        "yet due. Hover a cell for its issues.",
        grades + grid + _table(*state_rows(s)) + _table(*partition_rows(s)),
    )


def ranking(s: dict) -> str:
    """The partitions in the order a steward should act on them, with what weighs most."""
    return _section(
        "ranking",
        RANKING_TITLE,
        "Weights: 1 for conflicting duplicates, rejected rows, orphan references and rows "
        "failing an ERROR check; 0.5 for rows failing a WARN check on values (ranges, "
        "reconciliation, VEE validation); 0.1 for exact duplicates. A blocked partition "
        "ranks first whatever its score.",
        _table(*ranking_rows(s)),
    )


def tickets(s: dict) -> str:
    """Per utility, the one to act on first first: what to raise with them (and, in red,
    what is ours to fix)."""
    by_utility: dict[str, list[dict]] = {}
    for c in s["scorecard"]:
        by_utility.setdefault(c["utility"], []).append(c)
    parts = []
    for u in utility_order(s["scorecard"]):
        cards = by_utility[u]
        theirs = [
            (c["month"], i["text"])
            for c in cards
            for i in c["issues"]
            if i["audience"] == "utility"
        ]
        ours = [
            (c["month"], i["text"])
            for c in cards
            for i in c["issues"]
            if i["audience"] == "pipeline"
        ]
        blocked = any(c["status"] == BLOCKED for c in cards)
        cls = "blocked" if blocked else "none" if not theirs and not ours else ""
        verdict = f"needs a ticket: {len(theirs)} issues" if theirs else "no ticket needed"
        body = [
            (
                f'<article class="ticket {cls}" id="ticket-{esc(u)}"><h3>{esc(u)} — '
                f"{esc(verdict)}</h3>"
            )
        ]
        if ours:
            body.append(
                '<p class="pipeline"><b>Ours to fix first (pipeline):</b></p><ul>'
                + "".join(f'<li class="pipeline">{esc(m)}: {esc(t)}</li>' for m, t in ours)
                + "</ul>"
            )
        for month in sorted({m for m, _ in theirs}):
            body.append(
                f"<p><b>{esc(month)}</b></p><ul>"
                + "".join(f"<li>{esc(t)}</li>" for m, t in theirs if m == month)
                + "</ul>"
            )
        parts.append("".join(body) + "</article>")
    return _section(
        "tickets",
        "Tickets: issues to raise with each utility",
        "Generated from the row accounting, rejects, orphans, coverage, "
        "completeness, estimates and failing checks of each partition.",
        "".join(parts) or '<p class="mute">No partitions.</p>',
    )


def _check_cells(s: dict):
    columns = [
        (c["utility"], c["month"])
        for c in sorted(s["scorecard"], key=lambda c: (c["utility"], c["month"]))
    ]
    cells, rows = {}, set()
    for c in s["checks"]:
        col = (c["utility"], c["month"])
        if c["utility"] is None or col not in columns:
            continue
        row = f"{c['asset']} · {c['check']}"
        rows.add(row)
        state = "pass" if c["passed"] else c["severity"].lower()
        tip = f"{c['asset']} {c['check']} {col[0]} {col[1]}: " + (
            "passed" if c["passed"] else f"{c['severity']} {c['failed_count']:,} rows"
        )
        cells[(row, col)] = (state, "" if c["passed"] else svg.compact(c["failed_count"]), tip)
    for card in s["scorecard"]:
        col = (card["utility"], card["month"])
        for asset, check in card.get("expected_checks", []):
            row = f"{asset} · {check}"
            if (row, col) not in cells:
                rows.add(row)
                cells[(row, col)] = (
                    "missing",
                    "?",
                    (
                        f"{asset} {check} {col[0]} {col[1]}: "
                        "no result (not run or failed to execute)"
                    ),
                )
    order = {k: i for i, k in enumerate(data_tables())}
    ordered = sorted(rows, key=lambda r: (order.get(r.split(" · ")[0], 99), r))
    return ordered, columns, cells


def checks_heatmap(s: dict) -> str:
    rows, columns, cells = _check_cells(s)
    if not rows:
        return _section(
            "checks",
            "Checks by partition",
            "",
            '<p class="mute">No check results: run the pipeline on this Dagster instance.</p>',
        )
    attention = [
        r
        for r in rows
        if any(cells.get((r, c), ("n/a",))[0] not in ("pass", "n/a") for c in columns)
    ]
    calm = [r for r in rows if r not in attention]
    key = svg.legend(
        {
            "passed": svg.STATE_COLORS["pass"],
            "failed, WARN (count)": svg.STATE_COLORS["warn"],
            "failed, ERROR (blocks)": svg.STATE_COLORS["error"],
            "no result": svg.STATE_COLORS["missing"],
            "table not in partition": svg.STATE_COLORS["n/a"],
        }
    )
    body = [key]
    if attention:
        body.append(
            '<div class="scroll" id="heatmap-attention">'
            + svg.heatmap(attention, columns, cells, "Checks failing or missing in some partition")
            + "</div>"
        )
    if calm:
        body.append(
            f"<details><summary>{len(calm)} checks pass in every partition</summary>"
            '<div class="scroll">'
            + svg.heatmap(calm, columns, cells, "Checks passing everywhere")
            + "</div></details>"
        )
    return _section(
        "checks",
        "Checks by partition",
        "Latest result of every check of every partition (rows: table · check; "
        "columns: utility and month). Numbers are failing rows.",
        "".join(body),
    )


def rejects_chart(s: dict) -> str:
    codes = sorted({r["reason_code"] for r in s["rejects"]})
    colors = svg.color_map(codes)
    by_utility: dict[str, list[dict]] = {}
    for c in s["scorecard"]:
        by_utility.setdefault(c["utility"], []).append(c)
    panels = []
    for u, cards in sorted(by_utility.items()):
        rows = []
        for c in cards:
            counts: dict[str, int] = {}
            for r in c["rejects"]:
                counts[r["reason_code"]] = counts.get(r["reason_code"], 0) + r["rows"]
            rows.append((c["month"], [(k, counts[k]) for k in codes if counts.get(k)]))
        panels.append(
            f'<div class="panel"><h3>{esc(u)}</h3>'
            + svg.hbars(rows, colors, f"Rows set aside by reason, {u}")
            + "</div>"
        )
    described = REASON_CODES[REASON_CODES.code.isin(codes)]
    key = _table(
        ["code", "accounting category", "meaning"],
        [[r.code, r.category, r.description] for r in described.itertuples()],
    )
    return _section(
        "rejects",
        "What was rejected or set aside, and why",
        "Rows of silver/rejects per month and reason code (each utility on its own "
        "scale; hover a bar for exact counts). Every landed row is either kept or "
        "here.",
        (
            svg.legend(colors) + '<div class="panels">' + "".join(panels) + "</div>"
            if codes
            else '<p class="mute">Nothing rejected.</p>'
        )
        + key
        + "<h3>By table and reason</h3>"
        + _table(*reject_rows(s)),
    )


def _share(card: dict, key: str) -> float | None:
    landed = card["totals"]["landed"]
    return card["totals"][key] / landed if landed else None


def trends_chart(s: dict) -> str:
    by_utility: dict[str, list[dict]] = {}
    for c in s["scorecard"]:
        by_utility.setdefault(c["utility"], []).append(c)
    panels = []
    for u, cards in sorted(by_utility.items()):
        months = [c["month"] for c in cards]
        series = {
            "score (rows to act on)": [c["action"]["score"] for c in cards],
            **{
                name: [_share(c, key) for c in cards]
                for name, key in (
                    ("exact duplicates", "duplicates_exact"),
                    ("conflicting duplicates", "duplicates_conflicting"),
                    ("rejected", "rejected"),
                    ("orphans", "orphans"),
                )
            },
        }
        notes = "".join(
            f"<li>{esc(c['month'])}: {esc(c['trend'])}"
            + (f" — {esc('; '.join(c['trend_notes']))}" if c["trend_notes"] else "")
            + "</li>"
            for c in cards
        )
        panels.append(
            f'<div class="panel"><h3>{esc(u)}</h3>'
            + svg.lines(
                months,
                series,
                TREND_SERIES,
                f"Score, duplicates, rejects and orphans per landed row, {u}",
                fmt=fmt_pct,
            )
            + f'<ul class="mute">{notes}</ul></div>'
        )
    return _section(
        "trends",
        "Rows to act on over months (shares of landed rows)",
        "Shares of the landed rows per month for each utility (a bigger month is not worse "
        f"for its size): is it getting better or worse? The trend is {TREND_BASIS}.",
        svg.legend(TREND_SERIES) + '<div class="panels">' + "".join(panels) + "</div>",
    )


def coverage_chart(s: dict) -> str:
    t = s["thresholds"]
    by_utility: dict[str, list[dict]] = {}
    for c in s["scorecard"]:
        by_utility.setdefault(c["utility"], []).append(c)
    panels, rows_q = [], []
    for u, cards in sorted(by_utility.items()):
        rows = []
        for c in cards:
            cov = c["coverage"]
            rows.append(
                (f"{c['month']} intervals", [("interval coverage", cov["interval_coverage"] or 0)])
            )
            expected = c["measures"].get("expected_day_coverage")
            if expected is not None:
                rows.append(
                    (f"{c['month']} expected days", [("days of the expected days", expected)])
                )
            rows.append(
                (f"{c['month']} all days", [("days of the month", cov["day_coverage"] or 0)])
            )
            rows_q.append(
                [
                    u,
                    c["month"],
                    fmt_pct(cov["interval_coverage"]),
                    fmt_pct(c["measures"].get("expected_day_coverage")),
                    fmt_pct(cov["day_coverage"]),
                    fmt_int(cov["series"]),
                    fmt_int(cov["channels_with_gaps"]),
                    fmt_pct(c["quality"]["estimated_share"]),
                    fmt_pct(c["quality"]["failed_validation_share"]),
                    fmt_int(c["time_range"]["rows_outside_month"]),
                ]
            )
        panels.append(
            f'<div class="panel"><h3>{esc(u)}</h3>'
            + svg.hbars(
                rows,
                COVERAGE_COLORS,
                f"Coverage, {u}",
                max_value=1.0,
                fmt=fmt_pct,
                markers={
                    "interval coverage": t["interval_coverage_min"],
                    "days of the expected days": t["day_coverage_min"],
                },
                width=460,
            )
            + "</div>"
        )
    head = [
        "utility",
        "month",
        "interval coverage",
        "days (expected)",
        "days (month)",
        "meter channels",
        "with gaps",
        "estimated",
        "failed validation",
        "outside month",
    ]
    return _section(
        "coverage",
        "Coverage per utility",
        "Interval coverage: readings present / expected inside the days a meter "
        "channel delivered (23/25-hour DST days counted right). Days (expected): days "
        "with at least half their readings / the days the utility's format expects a "
        "channel to deliver (VEE V9; New York: its delivered days), judged against the "
        "target and compared month to month. Days (month): the same over every day of the "
        "month, for reference. Dashed lines are the targets.",
        svg.legend(COVERAGE_COLORS)
        + '<div class="panels">'
        + "".join(panels)
        + "</div>"
        + _table(head, rows_q),
    )


def render_html(s: dict) -> str:
    """The whole page; every section has a stable id (the browser test looks for them)."""
    accounting = _section(
        "accounting",
        "Row accounting",
        "landed = kept + exact duplicates + conflicting duplicates + "
        "rejected, for every silver table of every partition.",
        _table(*accounting_rows(s)),
    )
    values = _section(
        "values",
        "Values per reading type",
        "One row per utility, month and reading type (measurement, direction, "
        "kind, interval, unit): values of different units are never combined. "
        "Totals only for interval readings; failed validations left out.",
        _table(*value_rows(s)),
    )
    vee = _section(
        "vee",
        "VEE rules",
        "Per partition: V1 intervals missing, V2 duplicates "
        "set aside, V3-V8 readings each rule flagged, V9 expected days not "
        "covered, E1-E4 readings estimated (from the vee__ checks).",
        _table(*vee_rows(s)),
    )
    thresholds = ", ".join(f"{k} {v}" for k, v in s["thresholds"].items())
    return "".join(
        [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            "<title>gridflow — data quality dashboard</title>",
            f"<style>{CSS}{GRADE_CSS}</style></head><body>",
            "<header><h1>gridflow — data quality dashboard</h1>",
            f"<p>{esc(headline(s))} · generated {esc(s['generated_at'])}</p></header><main>",
            _banner(s),
            _kpis(s),
            status_board(s),
            _section(
                "signoff",
                "Sign-off queue",
                "Partitions awaiting a steward's decision (never decided, or void after a "
                "rerun changed them), oldest first. Decide with gridflow signoff approve|"
                "send-back UTILITY MONTH --by NAME --reason TEXT [--waive CHECK|all], or the "
                "signoff job in the Dagster UI.",
                _table(*queue_rows(s)),
            ),
            ranking(s),
            tickets(s),
            checks_heatmap(s),
            rejects_chart(s),
            trends_chart(s),
            coverage_chart(s),
            accounting,
            values,
            vee,
            (
                f"<footer>Regenerate with <code>gridflow dq --format html</code>. Thresholds: "
                f"{esc(thresholds)}. Self-contained page: no scripts, no network.</footer>"
            ),
            "</main></body></html>",
        ]
    )
