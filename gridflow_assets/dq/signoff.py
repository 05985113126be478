"""The steward's decision on a partition, recorded as data in ``dq/signoffs``.

* **approve**: every failing check of the partition is waived by name (``asset:check``, or
  a check name for every table it fails on) or all at once (``all``); the row lists them
  by name either way. A blocked partition cannot be approved, and a blocking (ERROR) check
  cannot be waived.
* **send back**: the month goes back to the utility, with the reason.

Each row holds who (the steward's name, the operating-system user and the host), when,
the decision, the reason, the waived and the failing checks, and the partition's content
digest (``dq/digest.py``). The table is append-only: a rerun that changes the digest
voids the decision by adding a ``void`` row (``void_changed``, run by the DQ refresh); the
decision itself stays in the trail.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import socket
import uuid

from gridflow_assets.dq.digest import content_digest
from gridflow_assets.dq.snapshot import SIGNOFFS, stored_snapshot
from gridflow_assets.dq.states import APPROVED, SENT_BACK, SIGNABLE, VOID, latest_decisions
from gridflow_assets.store.warehouse import Warehouse

KEY = SIGNOFFS
APPROVE, SEND_BACK = "approve", "send-back"
DECISION_OF = {APPROVE: APPROVED, SEND_BACK: SENT_BACK}
ALL = "all"


class Refused(Exception):
    """The decision cannot be recorded (exit 1): the message says why, in one line."""


def _failing(snapshot: dict) -> tuple[list[str], set[str]]:
    """The partition's failing checks as ``asset:check``, and which of them block."""
    failed = [c for c in snapshot["checks"] if not c["passed"]]
    names = sorted({f"{c['asset']}:{c['check']}" for c in failed})
    blocking = {f"{c['asset']}:{c['check']}" for c in failed if c["severity"] == "ERROR"}
    return names, blocking


def _state(snap: dict, utility: str, month: str) -> dict | None:
    """The partition's entry among the snapshot's expected partitions."""
    return next((s for s in snap["states"] if (s["utility"], s["month"]) == (utility, month)), None)


def _row(decision: str, steward: str, reason: str, digest: str, via: str, **rest) -> dict:
    """A ``dq/signoffs`` row: the decision, who (with the OS user and host), when, why."""
    return {
        "decision_id": uuid.uuid4().hex,
        "decision": decision,
        "steward": steward,
        "os_user": _os_user(),
        "host": socket.gethostname(),
        "decided_at_utc": dt.datetime.now(dt.UTC),
        "reason": reason,
        "waived_checks": "[]",
        "failing_checks": "[]",
        "state": None,
        "content_digest": digest,
        "voids": None,
        "via": via,
        **rest,
    }


def waived(failing: list[str], blocking: set[str], waive: list[str], where: str) -> list[str]:
    """The failing checks ``waive`` names (``all``: every one); refuses a name that is
    not a failing check of the partition, and a blocking check."""
    if ALL in waive:
        chosen = set(failing)
    else:
        chosen = set()
        for name in waive:
            hits = [f for f in failing if name in (f, f.split(":", 1)[1])]
            if not hits:
                raise Refused(
                    f"--waive {name}: not a failing check of {where} "
                    f"(failing: {', '.join(failing) or 'none'})"
                )
            chosen.update(hits)
    stuck = sorted(chosen & blocking)
    if stuck and ALL not in waive:
        raise Refused(f"{', '.join(stuck)} of {where} is blocking (ERROR) and cannot be waived")
    return sorted(chosen - blocking)


def decide(
    store: Warehouse,
    utility: str,
    month: str,
    decision: str,
    by: str,
    reason: str,
    waive: list[str] | None = None,
    via: str = "cli",
    now: dt.datetime | None = None,
) -> dict:
    """Record ``decision`` (``approve`` or ``send-back``) on the partition; returns the row.
    Raises ``Refused`` when it cannot be recorded."""
    where = f"{utility} {month}"
    if decision not in DECISION_OF:
        raise Refused(f"decision {decision!r}: approve or send-back")
    if not by.strip() or not reason.strip():
        raise Refused("a decision needs the steward's name (--by) and a reason (--reason)")
    snap = stored_snapshot(store, utility, month, now)
    state = _state(snap, utility, month)
    card = next(iter(snap["scorecard"]), None)
    if state is None or card is None:
        what = state["state"] if state else "no drop and no data"
        raise Refused(f"{where} has no data to sign off ({what})")
    digest, _ = content_digest(store, utility, month)
    if digest != card["content_digest"]:
        raise Refused(
            f"{where} changed since its DQ snapshot (content digest {card['content_digest']} "
            f"→ {digest}): wait for the DQ refresh after its run, then decide"
        )
    failing, blocking = _failing(snap)
    waivers: list[str] = []
    if decision == APPROVE:
        waivers = waived(failing, blocking, waive or [], where)
        if state["state"] not in SIGNABLE:
            reasons = "; ".join(card["blocking_reasons"]) or state["state"]
            raise Refused(f"{where} is {state['state']} and cannot be approved: {reasons}")
        left = [f for f in failing if f not in waivers]
        if left:
            raise Refused(
                f"approve {where} refused: {len(left)} failing check(s) not waived: "
                f"{', '.join(left)} (add --waive CHECK for each, or --waive all)"
            )
    row = _row(
        DECISION_OF[decision],
        by.strip(),
        reason.strip(),
        digest,
        via,
        waived_checks=json.dumps(waivers),
        failing_checks=json.dumps(failing),
        state=state["state"],
    )
    store.append(KEY, [row], utility, month)
    return row


def approval(store: Warehouse, utility: str, month: str) -> tuple[dict | None, str]:
    """The approval in force for the partition (its sign-off, the content it was given for
    still the content now), or None and, in one line, why not and who must act."""
    state = _state(stored_snapshot(store, utility, month), utility, month)
    so = state["signoff"] if state else None
    status = so["status"] if so else None
    ask = (
        f"a data steward must approve it first: gridflow signoff approve {utility} {month} "
        "--by NAME --reason TEXT"
    )
    if status != APPROVED:
        what = status or (state["state"] if state else "not in the warehouse")
        return None, f"{utility} {month} is not approved ({what}): {ask}"
    if content_digest(store, utility, month)[0] != so["decided_digest"]:
        return None, f"{utility} {month} changed since its approval: {ask}"
    return so, ""


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def void_changed(store: Warehouse, cards: list[dict], run_id: str | None = None) -> list[dict]:
    """Add a ``void`` row for every approved or sent-back partition whose content digest is
    no longer the one decided on; returns the rows added."""
    frame = store.read_table(KEY)
    if frame is None:
        return []
    decisions = latest_decisions(frame.to_dicts())
    added = []
    for card in cards:
        d = decisions.get((card["utility"], card["month"]))
        if d is None or d["decision"] == VOID or d["content_digest"] == card["content_digest"]:
            continue
        reason = (
            f"the partition changed since the decision ({d['decision']} by {d['steward']}): "
            f"content digest {d['content_digest']} → {card['content_digest']}"
            + (f", run {run_id}" if run_id else "")
        )
        row = _row(
            VOID, "gridflow", reason, card["content_digest"], "gridflow", voids=d["decision_id"]
        )
        store.append(KEY, [row], card["utility"], card["month"])
        added.append(row)
    return added
