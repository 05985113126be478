"""The steward's commands behind ``gridflow dq`` and ``gridflow signoff``: they read and
write the DQ tables only (no Dagster), on a local folder and on ``s3://`` alike."""

from __future__ import annotations

import sys
from datetime import datetime

from gridflow_assets.dq.calendar import now as clock
from gridflow_assets.dq.signoff import Refused, decide
from gridflow_assets.dq.snapshot import render, stored_snapshot, write_dashboard
from gridflow_assets.dq.verdict import verdict
from gridflow_assets.store.settings import default_path
from gridflow_assets.store.warehouse import Warehouse


def print_snapshot(warehouse: str, args, as_of: datetime | None, stamp: str | None) -> None:
    """``gridflow dq``: the snapshot the last DQ refresh stored (as of ``as_of``: as it
    stood then), with every expected partition's state and sign-off."""
    store = Warehouse(warehouse, as_of=as_of)
    snap = stored_snapshot(store, args.utility, args.month, now=as_of or clock())
    if stamp is not None:
        snap = {"as_of": stamp, **snap}
    if args.format == "html":
        path = write_dashboard(snap, default_path("reports"))
        print(f"wrote {path}" + (f" (as of {stamp})" if stamp else ""))
        return
    if stamp is not None and args.format != "json":
        print(f"As of {stamp}: the warehouse as it stood then, the checks evaluated by then.\n")
    if args.brief and args.format == "text":
        print(verdict(snap, default_path("reports")))
        return
    print(render(snap, args.format))


def record_signoff(warehouse: str, args) -> int:
    """``gridflow signoff``: record the decision, then re-render the dashboard."""
    store = Warehouse(warehouse)
    try:
        row = decide(
            store,
            args.utility_id,
            args.month_id,
            args.decision,
            args.by,
            args.reason,
            args.waive,
        )
    except Refused as exc:
        print(f"gridflow signoff: {exc}", file=sys.stderr)
        return 1
    waived = row["waived_checks"]
    print(
        f"{args.utility_id} {args.month_id} {row['decision']} by {row['steward']} "
        f"({row['os_user']}@{row['host']}) at {row['decided_at_utc']:%Y-%m-%d %H:%M:%S} UTC"
        + (f"; waived {waived}" if waived != "[]" else "")
        + f"; content digest {row['content_digest']}"
    )
    page = write_dashboard(stored_snapshot(store), default_path("reports"))
    print(f"dashboard {page}")
    return 0
