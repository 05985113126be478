"""The pipeline's commands: ``gridflow generate`` (synthetic drops into the landing folder,
without Dagster) and ``gridflow run`` (every complete drop through Dagster, then the DQ
tables and the dashboard refreshed)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from gridflow_assets.app.resolve import bind, unregistered, warehouse_of
from gridflow_assets.app.terminal import Bars
from gridflow_assets.store.settings import default_path


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


def _run_log(instance) -> Path:
    """A new log file for this run's Dagster log, in the instance folder."""
    folder = Path(instance.root_directory) / "gridflow-logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}.log"


def cmd_run(args, open_instance: Callable) -> int:
    """``open_instance``: the Dagster instance, opened once ``DAGSTER_HOME`` is bound."""
    from gridflow_assets.app.report import RunView, summary
    from gridflow_assets.app.runner import quiet_dagster_warnings, run_drops

    if unregistered("run", args.utility):
        return 2
    quiet_dagster_warnings()
    landing = args.landing or default_path("landing")
    warehouse = warehouse_of(args, secret=True)
    bind(warehouse, record=True)
    instance = open_instance()
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
