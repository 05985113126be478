"""The DQ snapshot as Markdown: to paste into a ticket, and the status part shown in the
Dagster UI."""

from __future__ import annotations

from gridflow_assets.dq.rows import (
    RANKING_TITLE,
    TREND_BASIS,
    VEE_TITLE,
    accounting_rows,
    failing_rows,
    headline,
    partition_rows,
    queue_rows,
    ranking_rows,
    reject_rows,
    state_rows,
    value_rows,
    vee_rows,
)


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
    parts = [
        headline(s) + ".",
        "## Every expected partition",
        md_table(*state_rows(s)),
    ]
    if s["queue"]:
        parts += ["## Awaiting sign-off (oldest first)", md_table(*queue_rows(s))]
    parts += [
        f"## {RANKING_TITLE}",
        md_table(*ranking_rows(s)),
        "## Partitions (in rank order)",
        md_table(*partition_rows(s)),
    ]
    blocked = [c for c in s["scorecard"] if c["blocking_reasons"]]
    if blocked:
        parts.append("## Blocked — fix in the pipeline before sign-off")
        parts.append(
            "\n".join(
                f"- **{c['utility']} {c['month']}**: {r}"
                for c in blocked
                for r in c["blocking_reasons"]
            )
        )
    parts.append("## Issues to raise with the utility")
    if not s["tickets"]:
        parts.append("None: no utility needs a ticket.")
    for t in s["tickets"]:
        parts.append(
            f"### {t['utility']}\n\n"
            + "\n".join(f"- {i['month']}: {i['text']}" for i in t["issues"])
        )
    return "\n\n".join(parts)


def markdown(s: dict) -> str:
    return "\n\n".join(
        [
            f"# gridflow DQ snapshot\n\nGenerated {s['generated_at']}.",
            status_markdown(s),
            f"## Trend\n\n{TREND_BASIS[:1].upper()}{TREND_BASIS[1:]}.\n\n"
            + "\n".join(
                f"- {c['utility']} {c['month']}: **{c['trend']}**"
                + (f" — {'; '.join(c['trend_notes'])}" if c["trend_notes"] else "")
                for c in s["scorecard"]
            ),
            "## Row accounting\n\nlanded = kept + exact duplicates + conflicting duplicates + "
            "rejected, per silver table.\n\n" + md_table(*accounting_rows(s)),
            "## Rejected and set-aside rows by reason\n\n" + md_table(*reject_rows(s)),
            "## Values per reading type\n\nOne row per utility, month and reading type "
            "(measurement, direction, kind, interval, unit): units are never mixed.\n\n"
            + md_table(*value_rows(s)),
            f"## {VEE_TITLE}\n\n" + md_table(*vee_rows(s)),
            "## Failing checks\n\n" + md_table(*failing_rows(s)),
        ]
    )
