"""The verdict: the snapshot in at most 25 lines (``gridflow dq --brief``, the end of
``make demo``): the states, what to act on first, what awaits a sign-off, what was not
delivered, and where to look next."""

from __future__ import annotations

from pathlib import Path

from gridflow_assets.dq.rows import delivery_text, headline
from gridflow_assets.dq.snapshot import DASHBOARD_FILE
from gridflow_assets.dq.states import DROP_REJECTED, LATE, MISSING

TOP = 5  # partitions of the ranking shown
MAX_LINES = 25


def verdict(s: dict, reports: str | Path) -> str:
    lines = [f"gridflow DQ verdict (now {s['now'][:16]}Z)", headline(s) + "."]
    if s["ranking"]:
        lines.append("Act on these first:")
        states = {(x["utility"], x["month"]): x["state"] for x in s["states"]}
        for r in s["ranking"][:TOP]:
            state = states.get((r["utility"], r["month"]), r["status"])
            lines.append(
                f"  {r['rank']}. {r['utility']} {r['month']}  {r['grade']} {r['grade_meaning']}"
                f" · {state} · {r['main_reasons']}"
            )
    gone = [x for x in s["states"] if x["state"] in (DROP_REJECTED, MISSING, LATE)]
    if gone:
        lines.append("Deliveries to chase:")
        for x in gone[:4]:
            lines.append(f"  {x['utility']} {x['month']}  {x['state']}: {delivery_text(x)}"[:160])
        if len(gone) > 4:
            lines.append(f"  … and {len(gone) - 4} more (`gridflow dq`)")
    if s["queue"]:
        q = s["queue"]
        names = ", ".join(f"{x['utility']} {x['month']}" for x in q[:4])
        more = f" … +{len(q) - 4}" if len(q) > 4 else ""
        lines.append(f"Awaiting sign-off, oldest first: {names}{more}")
    approved = [x for x in s["states"] if x["signoff"] and x["signoff"].get("status") == "approved"]
    if approved:
        lines.append(
            "Approved: "
            + ", ".join(
                f"{x['utility']} {x['month']} by {x['signoff']['steward']}" for x in approved[:4]
            )
        )
    lines += [
        "Next:",
        "  gridflow dq                                  the whole snapshot",
        "  gridflow dq --utility U --month M            one partition: issues, checks, rows",
        f"  {Path(reports) / DASHBOARD_FILE}",
        "  gridflow signoff approve U M --by NAME --reason TEXT --waive CHECK|all",
    ]
    return "\n".join(lines[:MAX_LINES])
