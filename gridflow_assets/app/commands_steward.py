"""The steward's commands: ``gridflow dq`` (the DQ snapshot, now or as of an instant) and
``gridflow signoff`` (a decision on a partition), both without Dagster, then ``gridflow
publish`` (through Dagster: external/ follows the sign-offs) and ``gridflow export
green-button``. The work is ``steward`` and ``publish``'s; these check the arguments."""

from __future__ import annotations

import sys
from collections.abc import Callable

from gridflow_assets.app.resolve import bind, instant, unregistered, utc_text, warehouse_of


def cmd_dq(args) -> int:
    from gridflow_assets.app.steward import print_snapshot

    as_of = None
    if args.as_of is not None:
        try:
            as_of = instant(args.as_of)
        except ValueError as exc:
            print(f"gridflow dq: {exc}", file=sys.stderr)
            return 2
    if unregistered("dq", args.utility):
        return 2
    warehouse = warehouse_of(args)
    stamp = None if as_of is None else utc_text(as_of)
    print_snapshot(warehouse, args, as_of, stamp)
    return 0


def cmd_signoff(args) -> int:
    from gridflow_assets.app.steward import record_signoff

    if unregistered("signoff", args.utility_id):
        return 2
    return record_signoff(warehouse_of(args), args)


def cmd_publish(args, open_instance: Callable) -> int:
    """``open_instance``: the Dagster instance, opened once ``DAGSTER_HOME`` is bound."""
    from gridflow_assets.app.publish import publish
    from gridflow_assets.app.runner import quiet_dagster_warnings

    quiet_dagster_warnings()
    warehouse = warehouse_of(args, secret=True)
    bind(warehouse, record=True)
    return publish(warehouse, open_instance())


def cmd_export(args) -> int:
    from gridflow_assets.app.publish import export_green_button

    if unregistered("export", args.utility):
        return 2
    return export_green_button(warehouse_of(args), args)
