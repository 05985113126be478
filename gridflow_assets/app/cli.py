"""The ``gridflow`` command: its argument parser (help texts in ``help_texts``) and the
dispatch of each subcommand to its body (``commands_run``: generate, run;
``commands_steward``: dq, signoff, publish, export; ``commands_warehouse``: history,
vacuum, migrate, dictionary). Exit codes 0 / 1 / 2 as ``DESCRIPTION`` says: an unusable
warehouse or a Dagster instance bound to another one is 2, in one line. Nothing here
imports Dagster; ``_instance`` opens it for the commands that run it."""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial

from gridflow_assets.app.commands_run import cmd_generate, cmd_run
from gridflow_assets.app.commands_steward import cmd_dq, cmd_export, cmd_publish, cmd_signoff
from gridflow_assets.app.commands_warehouse import (
    cmd_dictionary,
    cmd_history,
    cmd_migrate,
    cmd_vacuum,
    dictionary_text,  # noqa: F401  re-exported: tests import it from here
)
from gridflow_assets.app.help_texts import (
    DESCRIPTION,
    HISTORY_DESCRIPTION,
    MIGRATE_DESCRIPTION,
    RUN_DESCRIPTION,
    RUN_EPILOG,
    SIGNOFF_DESCRIPTION,
    VACUUM_DESCRIPTION,
)
from gridflow_assets.app.resolve import BadLocation
from gridflow_assets.app.resolve import instant as _instant  # noqa: F401  re-exported
from gridflow_assets.app.terminal import quiet_library_warnings
from gridflow_assets.domain.names import is_valid_month, is_valid_utility_id
from gridflow_assets.store.settings import BindingError

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


def _workers(text: str) -> int:
    n = int(text) if text.isdigit() else 0
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(
            f"invalid worker count {text!r}: a whole number from 1 to 64"
        )
    return n


def _instance():
    """The Dagster instance of ``DAGSTER_HOME``, for ``run`` and ``publish`` once they have
    bound it; looked up here at each call, so a test can hand the command another."""
    import dagster as dg

    return dg.DagsterInstance.get()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet_library_warnings()
    handler = {
        "generate": cmd_generate,
        "run": partial(cmd_run, open_instance=_instance),
        "dq": cmd_dq,
        "signoff": cmd_signoff,
        "publish": partial(cmd_publish, open_instance=_instance),
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
