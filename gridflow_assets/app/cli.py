"""The ``gridflow`` command: generate sample drops, run them through Dagster, print the DQ
snapshot (now or as of an instant) and the data dictionary; list a table's versions, vacuum
the warehouse, migrate one of the old pointer layout to Delta Lake. Its help texts are
plain text (``DESCRIPTION``, ``RUN_EPILOG``); exit codes 0 / 1 / 2 as they say."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from gridflow_assets.app.terminal import Bars, quiet_library_warnings
from gridflow_assets.domain.names import is_valid_month, is_valid_utility_id
from gridflow_assets.store.settings import HOME_ENV, BindingError, default_path

DESCRIPTION = """\
gridflow turns monthly smart-meter drops into a governed warehouse of Delta Lake tables through Dagster.
`gridflow COMMAND -h` explains a command.

Folders (relative to the working directory unless set): landing data/landing
($GRIDFLOW_LANDING), warehouse data/warehouse ($GRIDFLOW_WAREHOUSE), reports data/reports
($GRIDFLOW_REPORTS), Dagster instance .dagster_home ($DAGSTER_HOME; see `gridflow run -h`).
Exit codes: 0 success (warnings allowed), 1 a drop was rejected or a blocking check failed,
2 bad arguments."""

RUN_DESCRIPTION = """\
Materialize every complete drop of the landing folder through Dagster. A drop is a folder
<landing>/<UTILITY>/<YYYY-MM>/ holding the utility's CSV files (docs/formats/), optionally
manifest.json, and _SUCCESS written last. Each drop is one Dagster run of its month x utility
partition, on the instance bound to the warehouse. Then the DQ tables and the dashboard are
refreshed and a summary of the partitions (ok / with warnings / blocked / failed) printed."""

RUN_EPILOG = """\
environment:
  GRIDFLOW_LANDING    default of --landing (else data/landing)
  GRIDFLOW_WAREHOUSE  default of --warehouse (else data/warehouse)
  GRIDFLOW_REPORTS    where the dashboard dq_dashboard.html is written (else data/reports)
  DAGSTER_HOME        the Dagster instance: runs, check history, run logs. Unset, it is
                      .dagster_home for data/warehouse and <warehouse>/.dagster_home for any
                      other warehouse. An instance records its warehouse on first use and
                      refuses another (exit 2), so the UI, `gridflow dq` and the dashboard
                      always describe the same data.

output:
  On a terminal, a progress bar per partition (steps, readings landed, readings/s); piped
  or in CI, plain lines only. A line per partition as it ends; for a partition that failed,
  a short block: drop, file, column and row, the reason, what to do, its run in the UI.
  Then a table of the partitions and where to look next. Dagster's own log (every event,
  stack traces) goes to <DAGSTER_HOME>/gridflow-logs/run-<UTC time>.log, whose path is
  printed, or to the terminal with --verbose.

exit codes:
  0 every partition ran (warnings allowed); 1 a drop was rejected or a blocking check
  failed; 2 bad arguments, an unknown utility, or a DAGSTER_HOME bound to another
  warehouse."""

SIGNOFF_DESCRIPTION = """\
Record a steward's decision on one month x utility partition in dq/signoffs (append-only),
with your name, the operating-system user, the host, the time, the reason and the
partition's content digest. approve: every failing check must be waived by name (--waive
CHECK, repeatable) or all at once (--waive all); a blocked partition cannot be approved and
a blocking check cannot be waived. send-back: return the month to the utility. A rerun that
changes the partition's content voids the decision (`gridflow dq` shows it). Needs no
Dagster.

exit codes:
  0 recorded; 1 refused (the line says why); 2 bad arguments or an unknown utility."""

HISTORY_DESCRIPTION = """\
List the versions of a warehouse table (its Delta commits), newest first: version, time
(UTC), operation, partition, the Dagster run and drop that wrote it, rows added and
removed. --utility and --month: only the commits of that partition."""

VACUUM_DESCRIPTION = """\
Delete, in every table, the files no version inside the retention reads (superseded
partitions, files of writers that died before their commit) and the log entries past it.
The retention is $GRIDFLOW_RETENTION_DAYS days (default 30): `gridflow dq --as-of` and
Delta readers' time travel reach back that far. The Dagster schedule warehouse_vacuum does
the same every day."""

MIGRATE_DESCRIPTION = """\
Convert a warehouse written by gridflow before Delta Lake (each partition a _current.json
pointer naming v=<id>/part-N.parquet) in place: each partition's current files are moved
into the partition folder (not rewritten) and committed as one Delta version; superseded
versions and the pointers are deleted. Commands that read the warehouse refuse one not
converted. Running it again finishes a migration cut short; on a converted warehouse it
has nothing to do.

exit codes:
  0 converted, or nothing to do; 1 a partition could not be converted (the line says
  which; the tables before it are converted, run it again after fixing it); 2 bad
  arguments or an unusable warehouse."""

FAULTS = ("none", "realistic", "heavy")


def _month(value: str) -> str:
    if not is_valid_month(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a month YYYY-MM")
    return value


def _utility(value: str) -> str:
    if not is_valid_utility_id(value):
        hint = f"; did you mean {value.upper()!r}?" if is_valid_utility_id(value.upper()) else ""
        raise argparse.ArgumentTypeError(f"{value!r} is not a utility id (A-Z, 0-9, _){hint}")
    return value


def _unknown_utility(command: str, utility: str | None, known: list[str], what: str) -> bool:
    """Whether ``utility`` is given and not one of ``known``; if so, says so on stderr in
    one line with the known ids (and the closest, when one is close): exit 2 follows."""
    if utility is None or utility in known:
        return False
    close = difflib.get_close_matches(utility, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    print(
        f"gridflow {command}: unknown utility {utility!r}: {what} "
        f"(known: {', '.join(known) or 'none yet'}){hint}",
        file=sys.stderr,
    )
    return True


def _parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(prog="gridflow", description=DESCRIPTION, formatter_class=raw)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("generate", help="write synthetic drops into the landing folder")
    g.add_argument("--utility", required=True, choices=["IESCO", "UTILITY1", "UTILITY2", "all"])
    g.add_argument(
        "--meters", type=int, default=None, help="meters per utility (default: per utility)"
    )
    g.add_argument(
        "--start", type=_month, default="2025-03", help="first month, YYYY-MM (default: 2025-03)"
    )
    g.add_argument("--end", type=_month, default=None, help="last month (default: --start)")
    g.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    g.add_argument(
        "--faults",
        choices=FAULTS,
        default="realistic",
        help="defects injected into the drops (default: realistic)",
    )
    g.add_argument(
        "--format",
        choices=["standard", "legacy"],
        default="standard",
        help="IESCO only: legacy writes the legacy billing export's format variant",
    )
    g.add_argument(
        "--landing",
        default=None,
        help="landing folder (default: $GRIDFLOW_LANDING, else data/landing)",
    )

    r = sub.add_parser(
        "run",
        help="run every complete drop through Dagster, then refresh the DQ tables",
        description=RUN_DESCRIPTION,
        epilog=RUN_EPILOG,
        formatter_class=raw,
    )
    r.add_argument(
        "--landing",
        default=None,
        metavar="DIR",
        help="drops as delivered (default: $GRIDFLOW_LANDING, else data/landing)",
    )
    r.add_argument(
        "--warehouse",
        default=None,
        metavar="DIR",
        help="the warehouse to write (default: $GRIDFLOW_WAREHOUSE, else data/warehouse)",
    )
    r.add_argument(
        "--utility",
        type=_utility,
        default=None,
        metavar="U",
        help="only this utility's drops: a utility id with an adapter (IESCO, UTILITY1, "
        "UTILITY2); another id exits 2 (default: every utility)",
    )
    r.add_argument(
        "--month",
        type=_month,
        default=None,
        metavar="YYYY-MM",
        help="only this month's drops (default: every month)",
    )
    r.add_argument(
        "--workers",
        type=_workers,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes running partitions side by side, 1 to 64 (default: the "
        "machine's cores, capped by the number of partitions)",
    )
    r.add_argument(
        "--verbose",
        action="store_true",
        help="print Dagster's own log (every event, stack traces) on the terminal instead of "
        "the log file",
    )

    d = sub.add_parser("dq", help="print the DQ snapshot")
    d.add_argument(
        "--warehouse",
        default=None,
        help="the warehouse to describe (default: $GRIDFLOW_WAREHOUSE, else data/warehouse)",
    )
    d.add_argument("--utility", type=_utility, default=None, help="only this utility")
    d.add_argument("--month", type=_month, default=None, help="only this month (YYYY-MM)")
    d.add_argument(
        "--format",
        choices=["text", "json", "markdown", "html"],
        default="text",
        help="text for the terminal, markdown for a ticket, json for scripts, html writes "
        "<reports>/dq_dashboard.html (default: text)",
    )

    d.add_argument(
        "--as-of",
        default=None,
        metavar="TIMESTAMP",
        help="the snapshot as it stood then: the warehouse's tables as of that instant and "
        "the check results recorded by then; ISO 8601 (2026-12-07T10:00:00Z, "
        "'2026-12-07 10:00', 2026-12-07), UTC unless it names an offset",
    )
    d.add_argument(
        "--brief",
        action="store_true",
        help="text: only the verdict (at most 25 lines): states, what to act on first, the "
        "sign-off queue and where to look next",
    )

    so = sub.add_parser(
        "signoff",
        help="record a steward's decision on a partition (approve or send back)",
        description=SIGNOFF_DESCRIPTION,
        formatter_class=raw,
    )
    so.add_argument("decision", choices=["approve", "send-back"])
    so.add_argument("utility_id", metavar="UTILITY", type=_utility)
    so.add_argument("month_id", metavar="MONTH", type=_month, help="YYYY-MM")
    so.add_argument("--by", required=True, metavar="NAME", help="the steward deciding")
    so.add_argument("--reason", required=True, metavar="TEXT", help="why, in your words")
    so.add_argument(
        "--waive",
        action="append",
        default=[],
        metavar="CHECK|all",
        help="approve: a failing check waived, as table:check or check (every table it "
        "fails on); repeatable; 'all' waives every failing check (each is listed in the trail)",
    )
    _warehouse_option(so)

    sub.add_parser("dictionary", help="print the data dictionary (Markdown)")

    pb = sub.add_parser(
        "publish",
        help="run what the publishing sensor would: external/ follows the sign-offs",
        description="Publish every approved partition to external/ (views without PII, Green "
        "Button files) and withdraw those sent back or void, through Dagster runs on the "
        "warehouse's instance, each decision once (the sensor's run keys). Exit 1 if a run "
        "failed.",
    )
    _warehouse_option(pb)

    ex = sub.add_parser("export", help="export a signed-off partition for its consumers")
    exs = ex.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    gb = exs.add_parser(
        "green-button",
        help="one ESPI (Green Button) Atom feed per service point of an approved partition",
        description="Write one Green Button (ESPI) Atom feed per service point of an approved "
        "month x utility partition to --out, named by the service point's pseudonymous key. "
        "Exit 1 (one line saying who must sign it off) for a partition not approved.",
    )
    gb.add_argument("--utility", type=_utility, required=True)
    gb.add_argument("--month", type=_month, required=True, metavar="YYYY-MM")
    gb.add_argument(
        "--service-point", default=None, metavar="PSEUDONYM", help="only this service point"
    )
    gb.add_argument("--out", required=True, metavar="DIR")
    _warehouse_option(gb)

    h = sub.add_parser(
        "history",
        help="list a table's versions (Delta commits), newest first",
        description=HISTORY_DESCRIPTION,
        formatter_class=raw,
    )
    h.add_argument("table", metavar="TABLE", help="layer/name, e.g. gold/fact_bills")
    h.add_argument(
        "--utility", type=_utility, default=None, metavar="U", help="only this partition's"
    )
    h.add_argument("--month", type=_month, default=None, metavar="YYYY-MM", help="with --utility")
    _warehouse_option(h)
    h.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text for the terminal, json for scripts (default: text)",
    )

    v = sub.add_parser(
        "vacuum",
        help="delete the files no version inside the retention reads",
        description=VACUUM_DESCRIPTION,
        formatter_class=raw,
    )
    _warehouse_option(v)
    v.add_argument(
        "--retention-days",
        type=_days,
        default=None,
        metavar="N",
        help="keep what versions of the last N days read (default: $GRIDFLOW_RETENTION_DAYS, "
        "else 30); 0 keeps only the current versions (erasing PII from history)",
    )
    v.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted, delete nothing"
    )

    m = sub.add_parser(
        "migrate",
        help="convert a warehouse of the old pointer layout to Delta Lake tables, in place",
        description=MIGRATE_DESCRIPTION,
        formatter_class=raw,
    )
    _warehouse_option(m)
    return p


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not days >= 0:
        raise argparse.ArgumentTypeError(f"invalid number of days {text!r}: a number >= 0")
    return days


def _warehouse_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse",
        default=None,
        metavar="DIR|URL",
        help="the warehouse (default: $GRIDFLOW_WAREHOUSE, else data/warehouse)",
    )


def _generators() -> dict:
    from gridflow_assets.generate import GENERATORS

    return GENERATORS


def _landed_readings(folder: Path, utility: str) -> int:
    """Readings a generated drop holds, from its manifest's row counts."""
    from gridflow_assets.silver.adapters import get_utility
    from gridflow_assets.store.landing import MANIFEST

    readings = get_utility(utility).sources["readings"].filename
    entries = json.loads((folder / MANIFEST).read_text())["files"]
    return next((e.get("rows", 0) for e in entries if e["file"] == readings), 0)


def cmd_generate(args) -> int:
    from gridflow_assets.generate.common import month_range

    landing = Path(args.landing or default_path("landing"))
    end = args.end or args.start
    months = month_range(args.start, end)
    if not months:
        print(f"gridflow generate: --end {end} is before --start {args.start}", file=sys.stderr)
        return 2
    if args.format != "standard" and args.utility != "IESCO":
        print(f"gridflow generate: --format {args.format} is for IESCO only", file=sys.stderr)
        return 2
    gens = _generators()
    utilities = sorted(gens) if args.utility == "all" else [args.utility]
    for utility in utilities:
        if utility not in gens:
            print(f"gridflow generate: no generator for {utility}", file=sys.stderr)
            return 2
    kwargs = {"seed": args.seed, "faults": args.faults}
    if args.format != "standard":
        kwargs["fmt"] = args.format
    if args.meters is not None:
        kwargs["meters"] = args.meters
    with Bars() as bars:
        drops = [(u, m) for u in utilities for m in months]
        for utility, month in drops:
            bars.add(f"{utility}/{month}", 1, start=False)
        # One month at a time: each month depends only on the seed, the meters and the
        # month itself, so the files are the same as from one call over all months.
        for utility, month in drops:
            name, started = f"{utility}/{month}", time.perf_counter()
            bars.begin(name, "writing …")
            (folder,) = gens[utility](landing, [month], **kwargs)
            took = time.perf_counter() - started
            readings = _landed_readings(folder, utility)
            bars.done(name)
            bars.line(
                f"{name}: {readings:,} readings in {took:.1f}s "
                f"({readings / max(took, 1e-9):,.0f} readings/s) → {folder}"
            )
    return 0


def _bind(warehouse: str, record: bool) -> None:
    """Point ``DAGSTER_HOME`` at the instance bound to ``warehouse`` (``record``: bind an
    unbound one), so this process and its workers open the same instance. Raises
    ``BindingError`` when the instance records another warehouse."""
    from gridflow_assets.defs.instance import open_home

    os.environ[HOME_ENV] = str(open_home(warehouse, record=record))


def _instance():
    import dagster as dg

    return dg.DagsterInstance.get()


def _workers(text: str) -> int:
    n = int(text) if text.isdigit() else 0
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(
            f"invalid worker count {text!r}: a whole number from 1 to 64"
        )
    return n


def _run_log(instance) -> Path:
    """A new log file for this run's Dagster log, in the instance folder."""
    folder = Path(instance.root_directory) / "gridflow-logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}.log"


def cmd_run(args) -> int:
    from gridflow_assets.app.report import RunView, summary
    from gridflow_assets.app.runner import quiet_dagster_warnings, run_drops
    from gridflow_assets.silver.adapters import all_utilities

    known = sorted(u.utility_id for u in all_utilities())
    if _unknown_utility("run", args.utility, known, "no adapter is registered for it"):
        return 2
    quiet_dagster_warnings()
    landing = args.landing or default_path("landing")
    warehouse = _warehouse(args, secret=True)
    _bind(warehouse, record=True)
    instance = _instance()
    log = None if args.verbose else _run_log(instance)
    with Bars() as bars:
        outcome = run_drops(
            instance,
            landing,
            warehouse,
            utility=args.utility,
            month=args.month,
            verbose=args.verbose,
            out=bars.line,
            workers=args.workers,
            watcher=RunView(bars),
            log=log,
        )
    for line in summary(outcome, default_path("reports")):
        print(line)
    return 0 if outcome.ok else 1


def _instant(text: str) -> datetime:
    """An ISO 8601 instant from the command line (``2026-12-07T10:00:00Z``,
    ``2026-12-07 10:00``, a date alone for its midnight), UTC unless it names an offset.
    Raises ValueError."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--as-of {text!r} is not an ISO 8601 date or time (e.g. 2026-12-07T10:00:00Z, "
            "'2026-12-07 10:00', 2026-12-07)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _utc_text(when: datetime, timespec: str = "seconds") -> str:
    return when.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def _location(args):
    """The warehouse as a ``storage.Location``, reached once, without importing the
    warehouse module (and with it Dagster): for the light commands."""
    from gridflow_assets.store.storage import StorageError, open_location

    try:
        loc = open_location(args.warehouse or default_path("warehouse"))
        loc.check()
    except StorageError as exc:
        raise BadLocation(str(exc)) from None
    return loc


def _refuse_unconverted(loc, keys: list[str] | None = None) -> None:
    """``BadLocation`` (exit 2, one line naming ``gridflow migrate``) for a warehouse still
    in the old pointer layout."""
    from gridflow_assets.store.migrate import refusal, unconverted

    found = unconverted(loc, keys)
    if found:
        raise BadLocation(f"{loc.url}: {refusal(found)}")


def _warehouse(args, secret: bool = False, converted: bool = True) -> str:
    """The warehouse folder or URL, reached once (bucket, credentials, endpoint): a location
    that cannot be used raises ``BadLocation`` before anything runs. ``secret``: also the
    PII key a run needs (a URL warehouse takes it from the environment only).
    ``converted``: a warehouse still in the old pointer layout is refused too."""
    from gridflow_assets.store.pii import SecretMissing, check_secret
    from gridflow_assets.store.storage import StorageError
    from gridflow_assets.store.warehouse import Warehouse

    try:
        store = Warehouse(args.warehouse or default_path("warehouse")).check()
        if converted:
            _refuse_unconverted(store.loc)
        location = store.location
        if secret:
            check_secret(location)
    except (StorageError, SecretMissing) as exc:
        raise BadLocation(str(exc)) from None
    return location


class BadLocation(ValueError):
    """A --warehouse / GRIDFLOW_WAREHOUSE that cannot be used (exit 2)."""


def _known_utilities() -> list[str]:
    from gridflow_assets.silver.adapters import all_utilities

    return sorted(u.utility_id for u in all_utilities())


def cmd_dq(args) -> int:
    from gridflow_assets.app.steward import print_snapshot

    as_of = None
    if args.as_of is not None:
        try:
            as_of = _instant(args.as_of)
        except ValueError as exc:
            print(f"gridflow dq: {exc}", file=sys.stderr)
            return 2
    known = _known_utilities()
    if _unknown_utility("dq", args.utility, known, "no adapter is registered for it"):
        return 2
    warehouse = _warehouse(args)
    stamp = None if as_of is None else _utc_text(as_of)
    print_snapshot(warehouse, args, as_of, stamp)
    return 0


def cmd_publish(args) -> int:
    from gridflow_assets.app.publish import publish
    from gridflow_assets.app.runner import quiet_dagster_warnings

    quiet_dagster_warnings()
    warehouse = _warehouse(args, secret=True)
    _bind(warehouse, record=True)
    return publish(warehouse, _instance())


def cmd_export(args) -> int:
    from gridflow_assets.app.publish import export_green_button

    if _unknown_utility(
        "export", args.utility, _known_utilities(), "no adapter is registered for it"
    ):
        return 2
    return export_green_button(_warehouse(args), args)


def cmd_signoff(args) -> int:
    from gridflow_assets.app.steward import record_signoff

    if _unknown_utility(
        "signoff", args.utility_id, _known_utilities(), "no adapter is registered for it"
    ):
        return 2
    return record_signoff(_warehouse(args), args)


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
    loc = _location(args)
    _refuse_unconverted(loc, [args.table])
    uri = loc.uri(loc.path(*args.table.split("/")))
    log = DeltaLog(uri, storage_options(loc))
    known = sorted({u for u, _ in log.files() if u is not None})
    if _unknown_utility("history", args.utility, known, f"{args.table} holds no partition of it"):
        return 2
    commits = log.history(args.utility, args.month)
    rows = [{**c, "time": _utc_text(c["time"], "milliseconds")} for c in commits]
    if args.format == "json":
        print(json.dumps({"table": args.table, "uri": uri, "versions": rows}, indent=2))
        return 0
    where = f" {args.utility}/{args.month}" if args.utility else ""
    if not rows:
        print(f"{args.table}{where}: no versions in {loc.url}")
        return 0
    cells = [[h for _, h in HISTORY_COLUMNS]]
    for r in rows:
        r = {**r, "time": _utc_text(datetime.fromisoformat(r["time"]))}
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

    store = Warehouse(_warehouse(args), retention=args.retention_days)
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

    store = Warehouse(_warehouse(args, converted=False))
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet_library_warnings()
    handler = {
        "generate": cmd_generate,
        "run": cmd_run,
        "dq": cmd_dq,
        "signoff": cmd_signoff,
        "publish": cmd_publish,
        "export": cmd_export,
        "dictionary": cmd_dictionary,
        "history": cmd_history,
        "vacuum": cmd_vacuum,
        "migrate": cmd_migrate,
    }[args.command]
    try:
        return handler(args)
    except (BadLocation, BindingError) as exc:
        print(f"gridflow {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader stopped early (`gridflow dq | head`): not an error. Point stdout at
        # /dev/null so the interpreter's last flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
