"""Benchmark the standard workloads: generate, then every layer through Dagster.

Prints, per workload, throughput (readings per second), time and peak memory per stage —
generate, then one Dagster step per layer: bronze, silver (with VEE), gold, experience, each
with its tables' checks — the time outside the steps (drop scan, run set-up, the DQ
refresh), the Dagster events and the Dagster time of each partition run (its run time
outside gridflow's own step code: event storage, run and step bookkeeping), gridflow's own
compute in µs per reading, and peak memory. Stage times come from Dagster's step statistics
of the real runs, not from a separate code path; a stage's peak memory is the highest
resident size sampled (every 20 ms) while one of its steps ran (one worker). After the
pipeline, every partition the bench built is exported as Green Button feeds
(``write_feeds``, as ``gridflow export green-button`` does) in a process of its own: its
wall time, files, bytes and peak are printed beside the pipeline's, which they do not change.

    python -m benchmarks.bench                       # the reference workload
    python -m benchmarks.bench --workload all        # every workload (takes a while)
    python -m benchmarks.bench --warehouse s3://bucket/bench   # the warehouse in object storage
    python -m benchmarks.bench --landing-cache ~/.cache/gridflow-bench   # keep generated drops
    python -m benchmarks.bench --workload demo       # `make demo` after install, timed

After that split, the commands a user waits for are timed as processes of their own
(:mod:`benchmarks.commands`): ``gridflow generate``, ``gridflow run``, ``gridflow dq`` and a
one-partition rerun, each beside a bare reference script of the same steps in plain Polars
(:mod:`benchmarks.bare`) run in the same hour; then the fixed-costs issue's targets are
printed as a table, each with its ratio to the bare script, and the gap between a command's
wall time and the stage split is explained (:mod:`benchmarks.targets`).

Generation, the pipeline and the export each run in a process of their own (spawned, so none
inherits another's memory): the pipeline's peak is the pipeline's, and generation's and the
export's own peaks are printed on their rows. ``--landing-cache`` keeps each workload's drops
in a folder named by workload, seed and a digest of the generator's code and data, and reuses
them on later runs.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import commands, targets
from benchmarks.processes import RssSampler, in_child, peak_rss_mib

WORKLOADS = {
    "reference": ("IESCO", 100, "2024-01", "2024-12"),
    "iesco-1000x12": ("IESCO", 1000, "2024-01", "2024-12"),
    "iesco-10000x1": ("IESCO", 10000, "2024-06", "2024-06"),
    "iesco-100000x1": ("IESCO", 100000, "2024-06", "2024-06"),
    "ny-10x": ("NY", 400, "2025-03", "2025-03"),
}
SEED = 1
EXPORT_TARGET_S = 60.0  # the Green Button export of a 10,000-meter month (iesco-10000x1)


@dataclass
class StageTimes:
    seconds: dict[str, float]
    total: float


def stage_of(step_key: str) -> str:
    if step_key.startswith("bronze"):
        return "bronze"
    if step_key.startswith("silver"):
        return "silver"
    if step_key.startswith("experience"):
        return "experience"
    if step_key.startswith("dq"):
        return "dq"
    return "gold"


def generate(name: str, landing: Path) -> dict:
    """Write workload ``name``'s drops to ``landing``: seconds and this process's peak RSS
    (run it in a process of its own, :func:`in_child`)."""
    from gridflow_assets.generate import GENERATORS
    from gridflow_assets.generate.common import month_range

    utility, meters, start, end = WORKLOADS[name]
    utilities = ["UTILITY1", "UTILITY2"] if utility == "NY" else [utility]
    started = time.perf_counter()
    for u in utilities:
        GENERATORS[u](landing, month_range(start, end), meters=meters, seed=SEED)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def generator_digest() -> str:
    """A digest of the generators' code and the domain tables they draw from: a cached
    landing is reused only while both are unchanged. Read as files (the package is not
    imported here: this process stays small)."""
    root = Path(importlib.util.find_spec("gridflow_assets").origin).parent
    digest = hashlib.sha256()
    for folder in ("generate", "domain"):
        for path in sorted((root / folder).iterdir()):
            if path.is_file() and path.suffix in {".py", ".csv", ".json", ".yaml"}:
                digest.update(f"{folder}/{path.name}".encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def landing_for(name: str, workdir: Path, cache: Path | None) -> tuple[Path, dict | None]:
    """The workload's landing folder and its generation figures (``None``: reused from
    ``cache``). A cached landing is generated under a temporary name and renamed when
    complete, so an interrupted run never leaves a partial one to reuse."""
    if cache is None:
        landing = workdir / "landing"
        return landing, in_child(generate, name, landing)
    landing = Path(cache).expanduser() / f"{name}-seed{SEED}-{generator_digest()}"
    if landing.is_dir():
        return landing, None
    partial = landing.with_name(landing.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    figures = in_child(generate, name, partial)
    partial.rename(landing)
    return landing, figures


def run_workload(
    name: str,
    workdir: Path,
    workers: int = 1,
    warehouse: str | None = None,
    cache: Path | None = None,
    repeat: tuple[int, int] | None = (3, 1),
    run_workers: int = 1,
) -> dict:
    """Generate (or reuse from ``cache``) the workload's drops in one process, then run the
    pipeline in another. ``warehouse``: a folder or URL to write to (default: a folder in
    ``workdir``). Then, unless ``repeat`` is None, the commands on the same drops
    (``repeat``: runs of dq and the rerun, runs of ``gridflow run``, which gets
    ``--workers run_workers``)."""
    landing, generated = landing_for(name, workdir, cache)
    utility, _meters, start, end = WORKLOADS[name]
    rerun = (utility, end) if start != end else None  # the last month, run again
    if generated:  # printed now too: a long pipeline run may not finish
        print(
            f"{name}: generated in {generated['seconds']:.1f} s, peak RSS "
            f"{generated['peak_mib']:,.0f} MiB; running the pipeline",
            flush=True,
        )
    result = in_child(run_pipeline, name, landing, workdir, workers, warehouse, rerun)
    try:  # a failed export leaves the pipeline's figures to print
        result["export"] = in_child(
            export_green_button, warehouse or str(workdir / "warehouse"), workdir
        )
    except SystemExit as failed:
        result["export"] = {"error": str(failed), "partitions": []}
    result["generate_s"] = generated["seconds"] if generated else None
    result["peaks"]["generate"] = generated["peak_mib"] if generated else None
    result["landing"] = str(landing) if generated is None else None
    if repeat:
        print(f"{name}: timing the commands as processes", flush=True)
        result["commands"] = commands.measure_workload(
            WORKLOADS[name], SEED, landing, workdir, run_workers, *repeat, rerun
        )
    return result


def run_pipeline(
    name: str,
    landing: Path,
    workdir: Path,
    workers: int = 1,
    warehouse: str | None = None,
    rerun: tuple[str, str] | None = None,
) -> dict:
    """Every partition of ``landing`` through Dagster as ``gridflow run`` does, with per-stage
    seconds and peak RSS (of this process: run it in a process of its own); then ``rerun``
    (utility, month) run again as ``gridflow run --utility U --month M`` does: its seconds,
    the partition run's and gridflow's own inside it."""
    import dagster as dg

    from gridflow_assets.app.runner import quiet_dagster_warnings, run_drops
    from gridflow_assets.defs.instance import ensure_instance_yaml
    from gridflow_assets.store.delta import COMMIT_STATS
    from gridflow_assets.store.warehouse import Warehouse

    quiet_dagster_warnings()  # as `gridflow run` does
    warehouse = warehouse or str(workdir / "warehouse")
    sampler = RssSampler().start()
    peaks: dict[str, float] = {}
    os.environ["DAGSTER_HOME"] = str(workdir / "dagster_home")
    ensure_instance_yaml(workdir / "dagster_home")  # the instance `gridflow run` uses
    instance = dg.DagsterInstance.get()
    started = time.perf_counter()
    outcome = run_drops(instance, str(landing), warehouse, out=lambda _msg: None, workers=workers)
    pipeline_s = time.perf_counter() - started
    if not outcome.ok:
        raise RuntimeError(f"{name}: pipeline failed: {[p.message for p in outcome.partitions]}")
    sampler.stop()
    stages: dict[str, float] = {}
    for part in outcome.partitions:
        for step in instance.get_run_step_stats(part.run_id):
            if step.end_time and step.start_time:
                key = stage_of(step.step_key)
                stages[key] = stages.get(key, 0.0) + step.end_time - step.start_time
                peaks[key] = max(peaks.get(key, 0.0), sampler.peak(step.start_time, step.end_time))
    runs = [
        {
            "events": len(instance.get_records_for_run(p.run_id, limit=100_000).records),
            "seconds": p.seconds,
            "own_s": p.own_seconds,
        }
        for p in outcome.partitions
    ]
    store = Warehouse(warehouse)
    readings = sum(
        store.row_count("bronze/readings", u, m) for u, m in store.partitions("bronze/readings")
    )
    run_ids = {p.run_id for p in outcome.partitions}
    commits = sum(1 for key in store.tables() for c in store.history(key) if c["run_id"] in run_ids)
    # seconds inside Delta commits, measured in this process (one worker)
    commit_s, peak = (COMMIT_STATS["seconds"] if workers == 1 else None), peak_rss_mib()
    again = None
    if rerun:  # after every figure above is taken
        started = time.perf_counter()
        redo = run_drops(instance, str(landing), warehouse, *rerun, out=lambda _msg: None)
        if redo.ok and redo.partitions:
            part = redo.partitions[0]
            again = {
                "seconds": time.perf_counter() - started,
                "partition_s": part.seconds,
                "own_s": part.own_seconds,
            }
    return {
        "workload": name,
        "partitions": len(outcome.partitions),
        "commits": commits,
        "commit_s": commit_s,
        "readings": readings,
        "pipeline_s": pipeline_s,
        "stages": stages,
        "peaks": peaks,
        "peak_rss_mib": peak,
        "workers": workers,
        "per_partition_s": [p.seconds for p in outcome.partitions],
        "runs": runs,
        "rerun": again,
    }


def export_green_button(warehouse: str, workdir: Path) -> dict:
    """Every partition of ``warehouse`` exported as Green Button feeds (``write_feeds``) into
    ``workdir/green_button``, one partition after another: wall seconds per partition,
    files, bytes, and this process's peak RSS (run it in a process of its own)."""
    from gridflow_assets.publish.green_button import write_feeds
    from gridflow_assets.store.warehouse import Warehouse

    store = Warehouse(warehouse)
    partitions = []
    for utility, month in sorted(store.partitions("gold/dim_service_point")):
        out = workdir / "green_button" / f"utility={utility}" / f"month={month}"
        started = time.perf_counter()
        paths = write_feeds(store, utility, month, out)
        seconds = time.perf_counter() - started
        partitions.append(
            {
                "partition": f"{utility} {month}",
                "seconds": seconds,
                "files": len(paths),
                "bytes": sum(p.stat().st_size for p in paths),
            }
        )
        shutil.rmtree(out)  # a large month's feeds are gigabytes: not kept on disk
    return {
        "partitions": partitions,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def stage_rows(r: dict) -> list[str]:
    """The table of stages: seconds, readings per second and peak RSS of each."""
    n = r["readings"]
    generated = r["generate_s"] is not None
    rows = [("generate", r["generate_s"])] if generated else []
    rows += [(k, r["stages"].get(k, 0.0)) for k in ("bronze", "silver", "gold", "experience")]
    steps = sum(r["stages"].values())
    if r["workers"] == 1:  # with workers, stage times add up the workers' busy time
        rows += [("outside steps", r["pipeline_s"] - steps)]
    rows += [("pipeline end to end", r["pipeline_s"])]
    if generated:
        rows += [("generate + pipeline", r["generate_s"] + r["pipeline_s"])]
    export = r.get("export")
    if export and export["partitions"]:
        rows += [("green button export", sum(p["seconds"] for p in export["partitions"]))]
    lines = [f"{'stage':<22}{'seconds':>10}{'readings/s':>14}{'peak RSS MiB':>14}"]
    for label, secs in rows:
        rate = f"{n / secs:,.0f}" if secs > 0 else "—"
        peak = r["peaks"].get(label) if r["workers"] == 1 or label == "generate" else None
        if label == "green button export":  # its own process, whatever the workers
            peak = export["peak_mib"]
        peak_text = f"{peak:,.0f}" if peak else ""
        lines.append(f"{label:<22}{secs:>10.2f}{rate:>14}{peak_text:>14}")
    return lines


def export_lines(export: dict | None) -> list[str]:
    """The Green Button export's figures (or its failure)."""
    lines = []
    if export and export.get("error"):
        lines.append(f"Green Button export failed: {export['error']}")
    if export and export["partitions"]:
        parts = export["partitions"]
        slowest = max(parts, key=lambda p: p["seconds"])
        files = sum(p["files"] for p in parts)
        mb = sum(p["bytes"] for p in parts) / 1e6
        lines.append(
            f"Green Button export (write_feeds, its own process): {len(parts)} partition(s), "
            f"{files:,} files, {mb:,.1f} MB,"
        )
        lines.append(
            f"  slowest partition {slowest['partition']} {slowest['seconds']:.2f} s (target "
            f"≤ {EXPORT_TARGET_S:.0f} s for a 10,000-meter month), peak RSS "
            f"{export['peak_mib']:,.0f} MiB"
        )
    return lines


def report(r: dict) -> str:
    n = r["readings"]
    lines = [
        f"\n== {r['workload']}: {r['partitions']} partition(s), {n:,} readings, "
        f"{r['workers']} worker process(es)"
    ]
    if r["generate_s"] is None:
        lines.append(f"drops reused from {r['landing']} (generation not measured)")
    if r["workers"] > 1:
        lines.append(
            "(stage seconds are summed over the workers; peak memory per stage is "
            "measured with one worker)"
        )
    lines += stage_rows(r)
    per = r["per_partition_s"]
    if len(per) > 1:
        lines.append(
            f"seconds per partition run: first {per[0]:.1f}, median "
            f"{sorted(per)[len(per) // 2]:.1f}, last {per[-1]:.1f}"
        )
    events = sorted(run["events"] for run in r["runs"])
    lines.append(
        f"Dagster events per partition run: max {events[-1]}, median {events[len(events) // 2]}"
    )
    parts = r["partitions"]
    commit_text = f"Delta commits: {r['commits']} ({r['commits'] / parts:.1f} per partition run"
    if r["commit_s"] is not None and r["commits"]:
        commit_text += (
            f", {r['commit_s'] / r['commits'] * 1000:.1f} ms each, "
            f"{r['commit_s'] / parts:.2f} s per partition run"
        )
    lines.append(commit_text + ")")
    own = [run for run in r["runs"] if run["own_s"] is not None]
    if own:  # measured in this process (one worker): run time outside gridflow's own code
        dagster = sorted(run["seconds"] - run["own_s"] for run in own)
        lines.append(
            f"Dagster time per partition run (outside gridflow code): max "
            f"{dagster[-1]:.2f} s, median {dagster[len(dagster) // 2]:.2f} s"
        )
        compute = sum(run["own_s"] for run in own)
        lines.append(f"gridflow compute: {compute:.2f} s = {compute / n * 1e6:.2f} µs per reading")
    lines.append(
        f"peak memory (RSS) of the pipeline: {r['peak_rss_mib']:,.0f} MiB"
        + (" (the largest process: the pipeline's or a worker)" if r["workers"] > 1 else "")
    )
    if r["generate_s"] is not None:
        lines.append(f"peak memory (RSS) of generation: {r['peaks']['generate']:,.0f} MiB")
    lines += export_lines(r.get("export"))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workload",
        default="reference",
        choices=[*WORKLOADS, "demo", "all"],
        help="demo: `make demo` after install, timed (no stage split)",
    )
    parser.add_argument("--demo", action="store_true", help="time `make demo` too, at the end")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of `gridflow dq` and of the rerun (3)"
    )
    parser.add_argument(
        "--repeat-run", type=int, default=1, help="runs of `gridflow run` and `make demo` (1)"
    )
    parser.add_argument(
        "--no-commands",
        action="store_true",
        help="the in-process stage split only: no command timings, bare scripts or targets",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes for the in-process partition runs (the stage split)",
    )
    parser.add_argument(
        "--run-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="--workers of the timed `gridflow run` command (default: the machine's cores, "
        "what gridflow run does without the flag)",
    )
    parser.add_argument(
        "--landing-cache",
        type=Path,
        default=None,
        help="keep each workload's generated drops in this folder (named by workload, seed "
        "and generator digest) and reuse them on later runs",
    )
    parser.add_argument(
        "--warehouse",
        default=None,
        help="write the warehouse to this URL (e.g. s3://bucket/bench; AWS_* and "
        "GRIDFLOW_PII_SECRET from the environment) instead of a temporary folder",
    )
    args = parser.parse_args()
    # terminated like interrupted: unwinds, so a running child process is ended too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.warehouse:
        from gridflow_assets.store.pii import check_secret
        from gridflow_assets.store.warehouse import Warehouse

        check_secret(Warehouse(args.warehouse).check().location)
    # 72 M readings in one partition do not fit this 24 GiB machine until a partition is
    # processed in meter chunks end to end: run it by name only, never as part of "all".
    unbounded = {"iesco-100000x1"}
    names = (
        [*(n for n in WORKLOADS if n not in unbounded), "demo"]
        if args.workload == "all"
        else [args.workload]
    )
    if args.demo and "demo" not in names:
        names.append("demo")
    repeat = None if args.no_commands else (args.repeat, args.repeat_run)
    if args.workload == "all":
        print(
            f"skipped (by name only, needs more memory than bounded today): {', '.join(unbounded)}"
        )
    print("\n".join(commands.machine_header()), flush=True)
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"gridflow-bench-{name}-") as tmp:
            if name == "demo":
                found = commands.measure_demo(Path(tmp), args.repeat, args.repeat_run)
                print("\n".join(targets.demo_section(found)), flush=True)
                continue
            # A URL warehouse gets a fresh prefix per workload (left in place: the bucket's).
            target = f"{args.warehouse}/{name}-{int(time.time())}" if args.warehouse else None
            result = run_workload(
                name, Path(tmp), args.workers, target, args.landing_cache, repeat, args.run_workers
            )
            print(report(result), flush=True)
            if repeat:
                meters = WORKLOADS[name][1]
                section = targets.workload_section(name, meters, result, result["commands"])
                print("\n".join(section), flush=True)
    print(f"\nload average (1, 5, 15 min) at end: {commands.load_average()}")


if __name__ == "__main__":
    main()
