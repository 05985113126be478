"""``gridflow``: generate sample drops, run the pipeline through Dagster, print the DQ
snapshot. Exit codes: 0 success (warnings allowed), 1 a blocking check failed or a drop was
rejected, 2 bad arguments."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from gridflow_assets.domain.names import is_valid_month, is_valid_utility_id
from gridflow_assets.settings import default_path

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
    p = argparse.ArgumentParser(prog="gridflow", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write synthetic drops into the landing folder")
    g.add_argument("--utility", required=True, choices=["IESCO", "UTILITY1", "UTILITY2", "all"])
    g.add_argument("--meters", type=int, default=None, help="meters per utility")
    g.add_argument("--start", type=_month, default="2025-03")
    g.add_argument("--end", type=_month, default=None, help="last month (default: --start)")
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--faults", choices=FAULTS, default="realistic")
    g.add_argument(
        "--format",
        choices=["standard", "legacy"],
        default="standard",
        help="IESCO only: legacy writes the legacy billing export's format variant",
    )
    g.add_argument("--landing", default=None)

    r = sub.add_parser("run", help="materialize every complete drop through Dagster")
    r.add_argument("--landing", default=None)
    r.add_argument("--warehouse", default=None)
    r.add_argument("--utility", type=_utility, default=None)
    r.add_argument("--month", type=_month, default=None)
    r.add_argument("--verbose", action="store_true", help="show Dagster's own log")
    r.add_argument(
        "--workers",
        type=_workers,
        default=os.cpu_count() or 1,
        help="worker processes running partitions side by side (default: the "
        "machine's cores, capped by the number of partitions)",
    )

    d = sub.add_parser("dq", help="print the DQ snapshot")
    d.add_argument("--warehouse", default=None)
    d.add_argument("--utility", type=_utility, default=None)
    d.add_argument("--month", type=_month, default=None)
    d.add_argument("--format", choices=["text", "json", "markdown", "html"], default="text")

    sub.add_parser("dictionary", help="print the data dictionary (Markdown)")
    return p


def _generators() -> dict:
    from gridflow_assets.generate import GENERATORS

    return GENERATORS


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
        started = time.perf_counter()
        kwargs = {"seed": args.seed, "faults": args.faults}
        if args.format != "standard":
            kwargs["fmt"] = args.format
        if args.meters is not None:
            kwargs["meters"] = args.meters
        folders = gens[utility](landing, months, **kwargs)
        print(
            f"{utility}: {len(folders)} drop(s) in {time.perf_counter() - started:.1f}s "
            f"→ {landing / utility}"
        )
    return 0


def _instance():
    import dagster as dg

    from gridflow_assets.instance import ensure_instance_yaml

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve())))
    ensure_instance_yaml(home)
    return dg.DagsterInstance.get()


def _workers(text: str) -> int:
    n = int(text) if text.isdigit() else 0
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(
            f"invalid worker count {text!r}: a whole number from 1 to 64"
        )
    return n


def cmd_run(args) -> int:
    from gridflow_assets.orchestration.runner import run_drops
    from gridflow_assets.utilities import all_utilities

    known = sorted(u.utility_id for u in all_utilities())
    if args.utility and args.utility not in known:
        print(
            f"gridflow run: unknown utility {args.utility!r}: no adapter is registered for "
            f"it (known: {', '.join(known)})",
            file=sys.stderr,
        )
        return 2
    landing = args.landing or default_path("landing")
    warehouse = _warehouse(args, secret=True)
    instance = _instance()
    outcome = run_drops(
        instance,
        landing,
        warehouse,
        utility=args.utility,
        month=args.month,
        verbose=args.verbose,
        out=print,
        workers=args.workers,
    )
    print()
    _print_snapshot(instance, warehouse, "text", args.utility, args.month)
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
    handler = {
        "generate": cmd_generate,
        "run": cmd_run,
        "dq": cmd_dq,
        "dictionary": cmd_dictionary,
    }[args.command]
    try:
        return handler(args)
    except BadLocation as exc:
        print(f"gridflow {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader stopped early (`gridflow dq | head`): not an error. Point stdout at
        # /dev/null so the interpreter's last flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
