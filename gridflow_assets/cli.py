"""The ``gridflow`` command: generate sample drops, run them through Dagster, print the DQ
snapshot and the data dictionary. Its help texts are plain text (``DESCRIPTION``,
``RUN_EPILOG``); exit codes 0 / 1 / 2 as they say."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from gridflow_assets.domain.names import is_valid_month, is_valid_utility_id
from gridflow_assets.settings import HOME_ENV, BindingError, default_path
from gridflow_assets.terminal import Bars, quiet_library_warnings

DESCRIPTION = """\
gridflow turns monthly smart-meter drops into a governed Parquet warehouse through Dagster.
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

FAULTS = ("none", "realistic", "heavy")


def _month(value: str) -> str:
    if not is_valid_month(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a month YYYY-MM")
    return value


def _utility(value: str) -> str:
    if not is_valid_utility_id(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a utility id (A-Z, 0-9, _)")
    return value


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
        help="the Parquet warehouse to write (default: $GRIDFLOW_WAREHOUSE, else data/warehouse)",
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

    sub.add_parser("dictionary", help="print the data dictionary (Markdown)")
    return p


def _generators() -> dict:
    from gridflow_assets.generate import GENERATORS

    return GENERATORS


def _landed_readings(folder: Path, utility: str) -> int:
    """Readings a generated drop holds, from its manifest's row counts."""
    from gridflow_assets.landing import MANIFEST
    from gridflow_assets.utilities import get_utility

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
    from gridflow_assets.instance import open_home

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
    from gridflow_assets.orchestration.report import RunView, summary
    from gridflow_assets.orchestration.runner import quiet_dagster_warnings, run_drops
    from gridflow_assets.utilities import all_utilities

    known = sorted(u.utility_id for u in all_utilities())
    if args.utility and args.utility not in known:
        print(
            f"gridflow run: unknown utility {args.utility!r}: no adapter is registered for "
            f"it (known: {', '.join(known)})",
            file=sys.stderr,
        )
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


def _print_snapshot(instance, warehouse: str, fmt: str, utility=None, month=None) -> None:
    from gridflow_assets.dq.snapshot import build_snapshot, check_history, render
    from gridflow_assets.warehouse import Warehouse

    snap = build_snapshot(Warehouse(warehouse), check_history(instance), utility, month)
    text = render(snap, fmt)
    if fmt == "html":
        reports = Path(default_path("reports"))
        reports.mkdir(parents=True, exist_ok=True)
        path = reports / "dq_dashboard.html"
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
        return
    print(text)


def _warehouse(args, secret: bool = False) -> str:
    """The warehouse folder or URL, reached once (bucket, credentials, endpoint): a location
    that cannot be used raises ``BadLocation`` before anything runs. ``secret``: also the
    PII key a run needs (a URL warehouse takes it from the environment only)."""
    from gridflow_assets.pii import SecretMissing, check_secret
    from gridflow_assets.storage import StorageError
    from gridflow_assets.warehouse import Warehouse

    try:
        location = Warehouse(args.warehouse or default_path("warehouse")).check().location
        if secret:
            check_secret(location)
    except (StorageError, SecretMissing) as exc:
        raise BadLocation(str(exc)) from None
    return location


class BadLocation(ValueError):
    """A --warehouse / GRIDFLOW_WAREHOUSE that cannot be used (exit 2)."""


def cmd_dq(args) -> int:
    warehouse = _warehouse(args)
    _bind(warehouse, record=False)
    _print_snapshot(_instance(), warehouse, args.format, args.utility, args.month)
    return 0


def cmd_dictionary(args) -> int:
    print(dictionary_text())
    return 0


def dictionary_text() -> str:
    """The data dictionary: every table, every utility's source files, every reason code."""
    from gridflow_assets.codes import REASON_CODES
    from gridflow_assets.registry import TABLES
    from gridflow_assets.registry.derive import data_dictionary_markdown
    from gridflow_assets.utilities import all_utilities

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
        "dictionary": cmd_dictionary,
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
