"""Every expected partition's state, delivery and sign-off, for the steward.

A partition's **state** is one word of ``registry.dq.STATES``:

* what ran: ``ready``, ``ready with warnings``, ``blocked`` (the scorecard's status), or
  ``delivered late`` for a drop that ran but arrived after its due time;
* why nothing ran: ``drop rejected`` (the latest drop could not be read: drop, file,
  column, row and reason from ``dq/deliveries``), ``missing and overdue`` (no drop, and
  its due time has passed), ``not yet due``.

The expected months of a utility run from its first delivered month to the last month
whose drop is due as of now (``dq.calendar``), plus the next one, not yet due. The
**sign-off** of a partition with data is ``awaiting``, ``approved``, ``sent back``, or
``void`` when the partition's content digest is no longer the one decided on (a rerun or
re-delivery changed it: it needs a sign-off again). Decisions come from ``dq/signoffs``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from gridflow_assets.dq.assess import BLOCKED, READY, WARNINGS
from gridflow_assets.dq.calendar import deadline, expected_months
from gridflow_assets.dq.deliveries import REJECTED, first_months

LATE, MISSING, NOT_DUE, DROP_REJECTED = (
    "delivered late",
    "missing and overdue",
    "not yet due",
    REJECTED,
)
SIGNABLE = (READY, WARNINGS, LATE)
AWAITING, APPROVED, SENT_BACK, VOID = "awaiting", "approved", "sent back", "void"
# Calendar of a utility: (expected delivery day, time zone), None when not registered.
Calendar = Callable[[str], tuple[int, str] | None]


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return str(value)


def latest_decisions(signoffs: list[dict]) -> dict[tuple[str, str], dict]:
    """The latest decision row of each partition."""
    out: dict[tuple[str, str], dict] = {}
    for row in sorted(signoffs, key=lambda r: (r["decided_at_utc"], r["decision_id"])):
        out[(row["utility"], row["month"])] = row
    return out


def signoff_of(card: dict | None, state: str, decision: dict | None) -> dict | None:
    """The partition's sign-off: None without data to sign off."""
    if card is None:
        return None
    digest = card.get("content_digest")
    if decision is None:
        return {"status": AWAITING if state in SIGNABLE else None, "content_digest": digest}
    status = decision["decision"]
    if status != "void" and decision["content_digest"] != digest:
        status = VOID
    out = {
        "status": status,
        "decision_id": decision["decision_id"],
        "steward": decision["steward"],
        "decided_at": _iso(decision["decided_at_utc"]),
        "reason": decision["reason"],
        "waived_checks": json.loads(decision.get("waived_checks") or "[]"),
        "content_digest": digest,
        "decided_digest": decision["content_digest"],
        "via": decision.get("via"),
    }
    if status == VOID:
        out["needs"] = "needs sign-off again: the partition changed since the decision"
    return out


def _delivery(row: dict | None, due: dt.datetime | None) -> dict:
    if row is None:
        return {"outcome": None, "due_at": _iso(due)}
    return {
        "outcome": row["outcome"],
        "fingerprint": row["fingerprint"],
        "arrived_at": _iso(row["arrived_at_utc"]),
        "due_at": _iso(row["due_at_utc"] or due),
        "seen_at": _iso(row["seen_at_utc"]),
        "run_id": row["run_id"],
        "file": row["file"],
        "column": row["column_name"],
        "row": row["row_number"],
        "reason": row["reason"],
    }


def _late(row: dict | None) -> bool:
    if row is None or row["arrived_at_utc"] is None or row["due_at_utc"] is None:
        return False
    return _utc(row["arrived_at_utc"]) >= _utc(row["due_at_utc"])


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def state_of(card: dict | None, delivery: dict | None, due: dt.datetime | None, now) -> str:
    if delivery is not None and delivery["outcome"] == REJECTED:
        return DROP_REJECTED
    if card is not None:
        if card["status"] == BLOCKED:
            return BLOCKED
        return LATE if _late(delivery) else card["status"]
    if delivery is not None:  # landed, not yet in the DQ tables
        return BLOCKED
    return MISSING if due is not None and now >= due else NOT_DUE


def partition_states(
    cards: dict[tuple[str, str], dict],
    deliveries: dict[tuple[str, str], dict],
    signoffs: list[dict],
    calendar: Calendar,
    now: dt.datetime,
    utility: str | None = None,
    month: str | None = None,
) -> list[dict]:
    """One entry per expected partition (or asked-for one), by utility and month."""
    keys = set(cards) | set(deliveries)
    for u, first in first_months(deliveries, list(cards)).items():
        cal = calendar(u)
        if cal is None:
            continue
        for m in expected_months(first, *cal, now):
            keys.add((u, m))
    decisions = latest_decisions(signoffs)
    out = []
    for u, m in sorted(keys):
        if (utility is not None and u != utility) or (month is not None and m != month):
            continue
        cal = calendar(u)
        due = deadline(*cal, m) if cal is not None else None
        card, delivery = cards.get((u, m)), deliveries.get((u, m))
        state = state_of(card, delivery, due, now)
        out.append(
            {
                "utility": u,
                "month": m,
                "state": state,
                "status": None if card is None else card["status"],
                "delivery": _delivery(delivery, due),
                "signoff": signoff_of(card, state, decisions.get((u, m))),
            }
        )
    return out


def queue(states: list[dict]) -> list[dict]:
    """Partitions awaiting a decision (never decided, or void), oldest month first."""
    waiting = [
        s
        for s in states
        if s["signoff"] is not None
        and s["state"] in SIGNABLE
        and s["signoff"]["status"] in (AWAITING, VOID)
    ]
    return sorted(waiting, key=lambda s: (s["month"], s["utility"]))


def ticket_lines(s: dict) -> list[str]:
    """What to raise with the utility about the delivery itself."""
    d = s["delivery"]
    if s["state"] == MISSING:
        return [f"No drop for {s['month']}: it was due by {d['due_at']} (missing and overdue)."]
    if s["state"] == DROP_REJECTED:
        where = ", ".join(
            p
            for p in (
                f"file {d['file']}" if d.get("file") else "",
                f"column {d['column']}" if d.get("column") else "",
                f"row {d['row']}" if d.get("row") is not None else "",
            )
            if p
        )
        return [f"Drop rejected{' (' + where + ')' if where else ''}: {d['reason']}."]
    if s["state"] == LATE:
        return [f"Drop delivered late: arrived {d['arrived_at']}, due by {d['due_at']}."]
    return []
