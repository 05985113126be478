"""The DQ snapshot as terminal text (``gridflow dq``, the end of ``gridflow run``)."""

from __future__ import annotations

from gridflow_assets.dq.rows import (
    RANKING_TITLE,
    TREND_BASIS,
    VEE_TITLE,
    accounting_rows,
    failing_rows,
    headline,
    is_number,
    partition_rows,
    queue_rows,
    ranking_rows,
    reject_rows,
    state_rows,
    value_rows,
    vee_rows,
)


def text_table(head: list[str], rows: list[list[str]]) -> str:
    """A terminal table: numbers right-aligned, text left-aligned, one space-padded grid."""
    if not rows:
        return "  (none)"
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    numeric = [all(is_number(str(r[i])) for r in rows) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if n else str(c).ljust(w)
            for c, w, n in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(head), "  ".join("─" * w for w in widths), *map(line, rows)])


def text(s: dict) -> str:
    out = [f"gridflow DQ snapshot — {s['generated_at']}"]
    if not s["partitions"]:
        return "\n".join(out + ["", "No partitions in the warehouse yet: run `gridflow run`."])
    out += [headline(s), "", "Every expected partition", text_table(*state_rows(s)), ""]
    if s["queue"]:
        out += ["Awaiting sign-off (oldest first)", text_table(*queue_rows(s)), ""]
    out += [RANKING_TITLE, text_table(*ranking_rows(s)), ""]
    out += ["Partitions (in rank order)", text_table(*partition_rows(s)), ""]
    blocked = [c for c in s["scorecard"] if c["blocking_reasons"]]
    if blocked:
        out.append("Blocked — fix in the pipeline before sign-off")
        for c in blocked:
            out += [f"  {c['utility']} {c['month']}"] + [
                f"    - {r}" for r in c["blocking_reasons"]
            ]
        out.append("")
    out.append("Issues to raise with the utility")
    if not s["tickets"]:
        out.append("  none: no utility needs a ticket")
    for t in s["tickets"]:
        out.append(f"  {t['utility']}")
        for i in t["issues"]:
            out.append(f"    {i['month']}  {i['text']}")
    out += ["", f"Trend ({TREND_BASIS})"]
    out += [
        f"  {c['utility']} {c['month']}: {c['trend']}"
        + (f" — {'; '.join(c['trend_notes'])}" if c["trend_notes"] else "")
        for c in s["scorecard"]
    ]
    out += [
        "",
        "Row accounting (landed = kept + exact dup + conflicting dup + rejected)",
        text_table(*accounting_rows(s)),
        "",
        "Rejected and set-aside rows by reason",
        text_table(*reject_rows(s)),
        "",
        "Values per reading type (one row per utility, month and type: units never mixed)",
        text_table(*value_rows(s)),
        "",
        VEE_TITLE,
        text_table(*vee_rows(s)),
        "",
    ]
    head, rows = failing_rows(s)
    out += [f"Failing checks ({len(rows)} of {len(s['checks'])})", text_table(head, rows)]
    return "\n".join(out)
