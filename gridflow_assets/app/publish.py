"""``gridflow publish`` (what the publishing sensor would run, through Dagster, without the
daemon) and ``gridflow export green-button`` (one approved partition's ESPI feeds to a
folder)."""

from __future__ import annotations

import sys
from pathlib import Path

from gridflow_assets.store.warehouse import Warehouse


def publish(warehouse: str, instance) -> int:
    from gridflow_assets.defs.definitions import build_defs
    from gridflow_assets.defs.publishing import run_requests

    defs = build_defs(warehouse=warehouse)
    ok, failed, done = run_requests(defs, instance, Warehouse(warehouse))
    print(
        f"{ok} run(s) done, {failed} failed, {done} decision(s) published before"
        + ("" if failed else ": external/ follows every decision")
    )
    return 1 if failed else 0


def export_green_button(warehouse: str, args) -> int:
    from gridflow_assets.dq.signoff import approval
    from gridflow_assets.publish.green_button import write_feeds

    store = Warehouse(warehouse)
    decision, why = approval(store, args.utility, args.month)
    if decision is None:
        print(f"gridflow export: {why}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        written = write_feeds(store, args.utility, args.month, out, args.service_point)
    except ValueError as exc:
        print(f"gridflow export: {exc}", file=sys.stderr)
        return 2
    print(
        f"{len(written)} Green Button file(s) of {args.utility} {args.month} (approved by "
        f"{decision['steward']}) → {out}"
    )
    return 0
