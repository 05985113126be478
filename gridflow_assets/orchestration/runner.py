"""Materialize complete drops through Dagster's own execution on a persistent instance.

Used by ``gridflow run``: discovers complete drops (``drops.scan_landing``, as the drop
sensor does), registers new utilities as dynamic partitions, materializes the reference
dimensions, then one ``partition_job`` run per month × utility partition, as a backfill
launched from the UI does, reporting progress and the reason of any failure (naming drop,
file, column and row for unreadable drops). Runs carry the drop sensor's tags, so the sensor
does not materialize the same files again.

One run per partition rather than one run over many (``BackfillPolicy.single_run``) keeps
failures apart: a rejected drop or a blocking check stops its own partition only.

``workers > 1`` fans the partitions out to that many worker processes, each running its
partitions as independent runs on the same persistent instance (``DAGSTER_HOME``): the
pattern a Celery or Kubernetes run launcher applies across machines.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import dagster as dg

from gridflow_assets.assets.layer import OWN_SECONDS
from gridflow_assets.definitions import PARTITION_JOB, REFERENCE_JOB, build_defs
from gridflow_assets.landing import fingerprint
from gridflow_assets.orchestration.downstream import REFRESH_JOB
from gridflow_assets.orchestration.drops import drop_tags, new_utilities, only, scan_landing
from gridflow_assets.partitions import UTILITY_DIMENSION, partition_key
from gridflow_assets.silver.vee import delivered_count
from gridflow_assets.warehouse import Warehouse

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass
class PartitionOutcome:
    utility: str
    month: str
    ok: bool
    seconds: float
    message: str = ""
    run_id: str | None = None
    own_seconds: float | None = None  # inside gridflow's step code (the rest is Dagster's)


@dataclass
class RunOutcome:
    partitions: list[PartitionOutcome] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.partitions)


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The most useful line of a failed run: the user error, not Dagster's wrapper."""
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        err = event.event_specific_data.error
        chain = []
        while err is not None:
            chain.append(err)
            err = err.cause
        user = next((e for e in chain if e.cls_name == "DropError"), chain[-1])
        return f"[{event.step_key}] {user.cls_name}: {user.message.strip()}"
    return "run failed"


class _UndeliveredTableFilter(logging.Filter):
    """A utility that does not deliver a table (NY: no bills) leaves that table's blocking
    checks without a result, and Dagster logs a warning for each. Expected, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "emitted no result" not in record.getMessage()


logging.getLogger("dagster._core.execution.plan.active").addFilter(_UndeliveredTableFilter())


# success, run id, seconds, failure message, seconds inside gridflow's own step code
_Result = tuple[bool, str, float, str, float | None]


def _execute(
    job: dg.JobDefinition, instance: dg.DagsterInstance, drop, run_config: dict
) -> _Result:
    started = time.perf_counter()
    res = job.execute_in_process(
        instance=instance,
        run_config=run_config,
        partition_key=partition_key(drop.utility, drop.month),
        tags=drop_tags(drop, fingerprint(drop)),
        raise_on_error=False,
    )
    took = time.perf_counter() - started
    return (
        res.success,
        res.run_id,
        took,
        "" if res.success else failure_message(res),
        OWN_SECONDS.pop(res.run_id, None),
    )


_WORKER: dict = {}


def _worker_init(home: str, landing: str, warehouse: str, run_config: dict) -> None:
    """Each worker process opens the instance and builds the definitions once."""
    _WORKER["instance"] = dg.DagsterInstance.from_config(home)
    _WORKER["job"] = build_defs(landing=landing, warehouse=warehouse).resolve_job_def(PARTITION_JOB)
    _WORKER["run_config"] = run_config


def _worker_run(drop) -> _Result:
    return _execute(_WORKER["job"], _WORKER["instance"], drop, _WORKER["run_config"])


def _summary(store: Warehouse, drop, took: float) -> str:
    """One line per partition: row counts from the Parquet metadata, and the one column
    (``source_row``) that tells delivered intervals from VEE's estimates."""
    readings = store.row_count("bronze/readings", drop.utility, drop.month)
    total = store.row_count("silver/intervals", drop.utility, drop.month)
    rows = store.read_pl("silver/intervals", drop.utility, drop.month, columns=["source_row"])
    kept = delivered_count(rows) if rows is not None else 0
    rejects = store.row_count("silver/rejects", drop.utility, drop.month)
    return (
        f"{readings:,} readings landed → {kept:,} intervals kept (+{total - kept:,} "
        f"estimated by VEE), {rejects:,} rows in rejects ({readings / took:,.0f} "
        "readings/s)"
    )


def _run_partitions(
    runnable: list,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    landing: str,
    warehouse: str,
    run_config: dict,
    workers: int,
    out: Callable[[str], None],
    done: Callable,
) -> None:
    """Run every runnable drop's partition; ``done(drop, result, prefix)`` as each ends."""
    n = len(runnable)
    if workers == 1:
        job = defs.resolve_job_def(PARTITION_JOB)
        for i, drop in enumerate(runnable, start=1):
            out(f"[{i}/{n}] {drop.name} …")
            done(drop, _execute(job, instance, drop, run_config), "    ")
        return
    out(f"{n} partitions on {workers} worker processes …")
    ctx = multiprocessing.get_context("spawn")  # no forked Dagster or SQLite state
    with ProcessPoolExecutor(
        workers,
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(instance.root_directory, landing, warehouse, run_config),
    ) as pool:
        futures = {
            pool.submit(_worker_run, drop): (i, drop) for i, drop in enumerate(runnable, start=1)
        }
        for fut in as_completed(futures):
            i, drop = futures[fut]
            done(drop, fut.result(), f"[{i}/{n}] {drop.name} ")


def run_drops(
    instance: dg.DagsterInstance,
    landing: str,
    warehouse: str,
    utility: str | None = None,
    month: str | None = None,
    verbose: bool = False,
    out: Callable[[str], None] = print,
    workers: int = 1,
    refresh: bool = True,
) -> RunOutcome:
    """``refresh=False`` leaves the DQ tables as they were (for a caller that reads only
    the partitions and the instance's check results)."""
    outcome = RunOutcome()
    scan = only(scan_landing(landing), utility, month)
    outcome.skipped = scan.skipped
    for name, reason in scan.skipped:
        out(f"skipped {name}: {reason}")
    if not scan.runnable and not scan.unrunnable:
        out(
            f"no complete drop in {landing}"
            + (f" for {utility or ''} {month or ''}" if utility or month else "")
        )
        return outcome
    for drop, reason in scan.unrunnable:
        outcome.partitions.append(
            PartitionOutcome(
                drop.utility, drop.month, False, 0.0, f"drop {drop.name} rejected: {reason}"
            )
        )
        out(f"✗ {drop.name}: rejected: {reason}")
    runnable = scan.runnable
    new = new_utilities(instance, runnable)
    if new:
        instance.add_dynamic_partitions(UTILITY_DIMENSION, new)
        out(f"new utility partition(s): {', '.join(new)}")
    defs = build_defs(landing=landing, warehouse=warehouse)
    run_config = {} if verbose else QUIET
    store = Warehouse(warehouse)
    if not store.exists("gold/dim_date"):
        res = defs.resolve_job_def(REFERENCE_JOB).execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False
        )
        out(f"reference dimensions: {'ok' if res.success else failure_message(res)}")
    workers = max(1, min(workers, len(runnable)))
    if workers > 1 and instance.is_ephemeral:
        raise ValueError(
            "workers > 1 needs a persistent instance (DAGSTER_HOME) that "
            "every worker process can open"
        )

    def done(drop, result: _Result, prefix: str) -> None:
        success, run_id, took, failure, own = result
        msg = _summary(store, drop, took) if success else failure
        out(f"{prefix}{'✓' if success else '✗'} {took:.1f}s: {msg}")
        outcome.partitions.append(
            PartitionOutcome(drop.utility, drop.month, success, took, msg, run_id, own)
        )

    _run_partitions(runnable, defs, instance, landing, warehouse, run_config, workers, out, done)
    # The DQ tables (check history, scorecard, dashboard) describe what just ran, as the
    # refresh sensor would make them after a batch of sensor-launched runs.
    if refresh:
        res = defs.resolve_job_def(REFRESH_JOB).execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False
        )
        out(f"DQ tables: {'refreshed' if res.success else failure_message(res)}")
    order = {(d.utility, d.month): i for i, d in enumerate(runnable)}
    outcome.partitions.sort(key=lambda p: order.get((p.utility, p.month), -1))
    return outcome
