"""The warehouse's own commands, none running Dagster: ``gridflow history`` (a table's
Delta commits, from the Delta log alone), ``gridflow vacuum`` (files and log entries past
the retention), ``gridflow migrate`` (the old pointer layout to Delta Lake, in place) and
``gridflow dictionary`` (the data dictionary, Markdown)."""

from __future__ import annotations

import json
import sys
from datetime import datetime

from gridflow_assets.app.resolve import (
    location_of,
    refuse_unconverted,
    unknown_utility,
    utc_text,
    warehouse_of,
)

HISTORY_COLUMNS = (
    ("version", "version"),
    ("time", "time (UTC)"),
    ("operation", "operation"),
    ("partition", "partition"),
    ("run_id", "run id"),
    ("drop_fingerprint", "drop"),
    ("rows_added", "rows added"),
    ("rows_removed", "rows removed"),
)


def cmd_history(args) -> int:
    """A table's Delta commits. Reads the Delta log alone (``delta.DeltaLog``): neither the
    warehouse module nor Dagster is imported."""
    from gridflow_assets.registry import TABLES
    from gridflow_assets.store.delta import DeltaLog, storage_options

    spec = TABLES.get(args.table)
    if spec is None:
        print(
            f"gridflow history: unknown table {args.table!r} (known: {', '.join(TABLES)})",
            file=sys.stderr,
        )
        return 2
    if (args.utility is None) != (args.month is None):
        print("gridflow history: --utility and --month go together", file=sys.stderr)
        return 2
    if args.utility is not None and not spec.partitioned:
        print(
            f"gridflow history: {args.table} is not partitioned by utility and month",
            file=sys.stderr,
        )
        return 2
    loc = location_of(args)
    refuse_unconverted(loc, [args.table])
    uri = loc.uri(loc.path(*args.table.split("/")))
    log = DeltaLog(uri, storage_options(loc))
    known = sorted({u for u, _ in log.files() if u is not None})
    if unknown_utility("history", args.utility, known, f"{args.table} holds no partition of it"):
        return 2
    commits = log.history(args.utility, args.month)
    rows = [{**c, "time": utc_text(c["time"], "milliseconds")} for c in commits]
    if args.format == "json":
        print(json.dumps({"table": args.table, "uri": uri, "versions": rows}, indent=2))
        return 0
    where = f" {args.utility}/{args.month}" if args.utility else ""
    if not rows:
        print(f"{args.table}{where}: no versions in {loc.url}")
        return 0
    cells = [[h for _, h in HISTORY_COLUMNS]]
    for r in rows:
        r = {**r, "time": utc_text(datetime.fromisoformat(r["time"]))}
        cells.append(["-" if r[k] in (None, "") else str(r[k]) for k, _ in HISTORY_COLUMNS])
    numeric = {0, 6, 7}
    widths = [max(len(row[i]) for row in cells) for i in range(len(HISTORY_COLUMNS))]
    print(f"{args.table}{where}: {len(rows)} version(s), newest first ({uri})")
    for row in cells:
        print(
            "  ".join(
                c.rjust(w) if i in numeric else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    return 0


def cmd_vacuum(args) -> int:
    from gridflow_assets.store.delta import RETENTION_ENV
    from gridflow_assets.store.warehouse import Warehouse

    store = Warehouse(warehouse_of(args), retention=args.retention_days)
    deleted = store.vacuum(dry_run=args.dry_run)
    source = "--retention-days" if args.retention_days is not None else f"${RETENTION_ENV}"
    days = f"{store.retention_days:g}"
    if args.dry_run:
        for path in deleted:
            print(path)
        print(
            f"would delete {len(deleted)} file(s) from {store.location} "
            f"(retention {days} days, {source}); nothing deleted (--dry-run)"
        )
    else:
        print(
            f"deleted {len(deleted)} file(s) from {store.location} "
            f"(retention {days} days, {source})"
        )
    return 0


def cmd_migrate(args) -> int:
    from gridflow_assets.silver.adapters import storage_spec
    from gridflow_assets.store.migrate import migrate
    from gridflow_assets.store.storage import StorageError
    from gridflow_assets.store.warehouse import Warehouse

    store = Warehouse(warehouse_of(args, converted=False))
    try:
        done = migrate(store, out=print, spec_of=storage_spec)
    except (StorageError, OSError) as exc:
        print(
            f"gridflow migrate: {exc}; the tables listed above are converted, run "
            "`gridflow migrate` again once this is fixed",
            file=sys.stderr,
        )
        return 1
    if not done:
        print(f"nothing to do: {store.location} has no table in the old pointer layout")
        return 0
    parts = sum(d.partitions for d in done)
    print(
        f"converted {len(done)} table(s), {parts} partition(s), of {store.location} "
        "to Delta Lake tables"
    )
    return 0


def cmd_dictionary(args) -> int:
    print(dictionary_text())
    return 0


def dictionary_text() -> str:
    """The data dictionary: every table, every utility's source files, every reason code."""
    from gridflow_assets.domain.codes import REASON_CODES
    from gridflow_assets.registry import TABLES
    from gridflow_assets.registry.derive import data_dictionary_markdown
    from gridflow_assets.silver.adapters import all_utilities

    sources = {u.utility_id: u.sources for u in all_utilities()}
    codes = [
        "# Reason codes and rule ids",
        "",
        "Every row of `silver/rejects` names a reject code; every flagged silver row "
        "lists the rule ids that touched it in `rule_ids`.",
        "",
        "| code | kind | accounting category | meaning |",
        "|---|---|---|---|",
    ]
    codes += [
        f"| {r.code} | {r.kind} | {r.category or '—'} | {r.description} |"
        for r in REASON_CODES.itertuples()
    ]
    return data_dictionary_markdown(list(TABLES.values()), sources) + "\n" + "\n".join(codes)
