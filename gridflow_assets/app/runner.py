"""Materialize complete drops through Dagster's own execution on a persistent instance.

Used by ``gridflow run``: discovers complete drops (``drops.scan_landing``, as the drop
sensor does), registers new utilities as dynamic partitions, materializes the reference
dimensions, then one ``partition_job`` run per month × utility partition, as a backfill
launched from the UI does. It reports each partition's progress (steps done, readings
landed) to a ``Watcher`` and returns what happened: rows, checks failing by severity, and
for a failed run a ``failures.Failure`` naming drop, file, column, row and what to do.
Dagster's own log (every event, stack traces) goes to ``log`` when one is given, else to
the terminal. Runs carry the drop sensor's tags, so the sensor
does not materialize the same files again.

One run per partition rather than one run over many (``BackfillPolicy.single_run``) keeps
failures apart: a rejected drop or a blocking check stops its own partition only.

``workers > 1`` fans the partitions out to that many worker processes, each running its
partitions as independent runs on the same persistent instance (``DAGSTER_HOME``): the
pattern a Celery or Kubernetes run launcher applies across machines.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from gridflow_assets.app.outcome import (
    NoWatcher,
    PartitionOutcome,
    RunOutcome,
    Watcher,
    summary_line,
)
from gridflow_assets.assets.layer import OWN_SECONDS
from gridflow_assets.dagster_api import PLAN_LOGGER
from gridflow_assets.defs.definitions import PARTITION_JOB, REFERENCE_JOB, build_defs
from gridflow_assets.defs.downstream import REFRESH_JOB
from gridflow_assets.defs.drops import drop_tags, new_utilities, only, scan_landing
from gridflow_assets.defs.failures import (
    REJECTED,
    Failure,
    drop_advice,
    failure_of,
)
from gridflow_assets.domain.accounting import ACCOUNTING_KEYS
from gridflow_assets.dq.profile import accounting
from gridflow_assets.registry.partitions import UTILITY_DIMENSION, partition_key
from gridflow_assets.store.landing import Drop, fingerprint
from gridflow_assets.store.warehouse import Warehouse

# Every event of Dagster's console logger: into the run's log file, or onto the terminal
# with --verbose. (The instance's dagster.yaml sets INFO for daemon-launched runs.)
FULL_LOG = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
FIRST_STEP = "bronze_tables"  # after it, the partition's landed readings are known


def _errors(result: dg.ExecuteInProcessResult) -> list[tuple[str | None, list[tuple[str, str]]]]:
    """Each failed step's error chain, outermost first, as (class name, message)."""
    failed = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        err, chain = event.event_specific_data.error, []
        while err is not None:
            chain.append((err.cls_name, err.message))
            err = err.cause
        failed.append((event.step_key, chain))
    return failed


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The most useful line of a failed run: the user error, not Dagster's wrapper."""
    for step, chain in _errors(result):
        cls_name, message = next((c for c in chain if c[0] == "DropError"), chain[-1])
        return f"[{step}] {cls_name}: {message.strip()}"
    return "run failed"


def quiet_dagster_warnings() -> None:
    """Dagster's notices about its own API stages (beta, preview, superseded) say nothing a
    gridflow user can act on: off the console, by category (other warnings still show)."""
    for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
        warnings.filterwarnings("ignore", category=category)


class _UndeliveredTableFilter(logging.Filter):
    """A utility that does not deliver a table (NY: no bills) leaves that table's blocking
    checks without a result, and Dagster logs a warning for each. Expected, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "emitted no result" not in record.getMessage()


logging.getLogger(PLAN_LOGGER).addFilter(_UndeliveredTableFilter())


@dataclass
class _Result:
    """What a partition run sends back (from a worker process too)."""

    success: bool
    run_id: str
    seconds: float
    failure: Failure | None
    own_seconds: float | None
    warn_failed: int
    error_failed: int
    message: str


def _check_counts(result: dg.ExecuteInProcessResult) -> tuple[int, int]:
    """Failing WARN and failing ERROR checks of the run."""
    warn = error = 0
    for ev in result.get_asset_check_evaluations():
        if not ev.passed:
            if ev.severity == dg.AssetCheckSeverity.ERROR:
                error += 1
            else:
                warn += 1
    return warn, error


def _execute(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    drop: Drop,
    run_config: dict,
    on_step: Callable[[str, str, str], None],
) -> _Result:
    """Run one partition; ``on_step(drop name, event type, step key)`` as its first step
    starts and as each step succeeds."""
    started = time.perf_counter()
    run_id = str(uuid.uuid4())

    def listen(entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type_value
        if kind == "STEP_SUCCESS" or (kind == "STEP_START" and event.step_key == FIRST_STEP):
            on_step(drop.name, kind, event.step_key)

    instance.add_event_listener(run_id, listen)
    res = job.execute_in_process(
        instance=instance,
        run_config=run_config,
        partition_key=partition_key(drop.utility, drop.month),
        tags=drop_tags(drop, fingerprint(drop)),
        raise_on_error=False,
        run_id=run_id,
    )
    took = time.perf_counter() - started
    warn, error = _check_counts(res)
    return _Result(
        res.success,
        res.run_id,
        took,
        None if res.success else failure_of(_errors(res), drop.utility, drop.month),
        OWN_SECONDS.pop(res.run_id, None),
        warn,
        error,
        "" if res.success else failure_message(res),
    )


_WORKER: dict = {}


def _worker_init(
    home: str, landing: str, warehouse: str, run_config: dict, log: str | None, steps
) -> None:
    """Each worker process opens the instance and builds the definitions once; its
    Dagster log goes to the run's log file."""
    if log:
        sys.stderr = open(log, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (process-long)
    _WORKER["instance"] = dg.DagsterInstance.from_config(home)
    _WORKER["job"] = build_defs(landing=landing, warehouse=warehouse).resolve_job_def(PARTITION_JOB)
    _WORKER["run_config"] = run_config
    _WORKER["steps"] = steps


def _worker_run(drop: Drop) -> _Result:
    steps = _WORKER["steps"]
    return _execute(
        _WORKER["job"],
        _WORKER["instance"],
        drop,
        _WORKER["run_config"],
        lambda *event: steps.put(event),
    )


@contextlib.contextmanager
def _stderr_to(log: Path | None) -> Iterator[None]:
    """Dagster's console logger writes to ``sys.stderr`` at each record: point it at the log."""
    if log is None:
        yield
        return
    with open(log, "a", encoding="utf-8", buffering=1) as f, contextlib.redirect_stderr(f):
        yield


READINGS = "silver/intervals"  # the readings' silver table (from bronze/readings)
# what ``dq.profile.accounting`` reads of silver/rejects: three short columns of one partition
ACCOUNTING_COLUMNS = ["target_table", "category", "reason_code"]


def _rows(store: Warehouse, out: PartitionOutcome) -> None:
    """The partition's row accounting as ``gridflow dq`` computes it
    (``dq.profile.accounting``: bronze row counts from the Delta log, the one column
    ``source_row`` of each silver table that tells delivered rows from VEE's estimates, and
    silver/rejects' target table and category); the readings' figures on ``out``, every
    other table's apart. Estimated = silver/intervals rows − kept (Delta log)."""
    rejects = store.read_pl("silver/rejects", out.utility, out.month, columns=ACCOUNTING_COLUMNS)
    # without a silver/intervals partition, the landed readings are accounted for by nothing
    out.landed = store.row_count("bronze/readings", out.utility, out.month)
    for acc in accounting(store, out.utility, out.month, rejects):
        if acc["table"] != READINGS:
            out.other_tables.append(acc)
            continue
        for key in ACCOUNTING_KEYS:
            setattr(out, key, acc[key])
        out.estimated = store.row_count(READINGS, out.utility, out.month) - out.kept


def _run_partitions(
    runnable: list[Drop],
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    paths: tuple[str, str, Path | None],
    run_config: dict,
    workers: int,
    on_step: Callable[[str, str, str], None],
    done: Callable[[Drop, _Result], None],
    out: Callable[[str], None],
) -> None:
    """Run every runnable drop's partition; ``done(drop, result)`` as each ends."""
    landing, warehouse, log = paths
    if workers == 1:
        job = defs.resolve_job_def(PARTITION_JOB)
        for drop in runnable:
            with _stderr_to(log):
                result = _execute(job, instance, drop, run_config, on_step)
            done(drop, result)
        return
    out(f"{len(runnable)} partitions on {workers} worker processes")
    ctx = multiprocessing.get_context("spawn")  # no forked Dagster or SQLite state
    steps = ctx.Queue()
    with ProcessPoolExecutor(
        workers,
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(
            instance.root_directory,
            landing,
            warehouse,
            run_config,
            str(log) if log else None,
            steps,
        ),
    ) as pool:
        pending = {pool.submit(_worker_run, drop): drop for drop in runnable}
        while pending:
            finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            with contextlib.suppress(queue.Empty):
                while True:
                    on_step(*steps.get_nowait())
            for fut in finished:
                done(pending.pop(fut), fut.result())


def _workers(asked: int, partitions: int, instance: dg.DagsterInstance) -> int:
    """Worker processes to use: as asked, at most one per partition; more than one needs a
    persistent instance every worker can open."""
    workers = max(1, min(asked, partitions))
    if workers > 1 and instance.is_ephemeral:
        raise ValueError(
            "workers > 1 needs a persistent instance (DAGSTER_HOME) that "
            "every worker process can open"
        )
    return workers


def _rejected(drop: Drop, reason: str) -> PartitionOutcome:
    """The outcome of a drop that cannot be read: no run, the reason and what to do."""
    return PartitionOutcome(
        drop.utility,
        drop.month,
        False,
        0.0,
        f"drop {drop.name} rejected: {reason}",
        failure=Failure(REJECTED, reason, action=drop_advice(reason, None, None)),
    )


def _run_job(
    defs: dg.Definitions,
    name: str,
    instance: dg.DagsterInstance,
    run_config: dict,
    log: Path | None,
    out: Callable[[str], None] | None = None,
    what: str = "",
) -> str:
    """Run the unpartitioned job ``name``; its failure message ("" on success), also
    printed as ``what: message`` when ``out`` is given."""
    with _stderr_to(log):
        res = defs.resolve_job_def(name).execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False
        )
    failure = "" if res.success else failure_message(res)
    if failure and out is not None:
        out(f"{what}: {failure}")
    return failure


def run_drops(
    instance: dg.DagsterInstance,
    landing: str,
    warehouse: str,
    utility: str | None = None,
    month: str | None = None,
    verbose: bool = False,
    out: Callable[[str], None] = print,
    workers: int = 1,
    watcher: Watcher | None = None,
    log: Path | None = None,
    refresh: bool = True,
) -> RunOutcome:
    """Run every complete drop (or the one asked for). ``log``: where Dagster's own log
    goes (every event, stack traces); without it, ``verbose`` prints it on the terminal
    and otherwise only errors are printed there. ``refresh=False`` leaves the DQ tables as
    they were (for a caller that reads only the partitions and the instance's check
    results)."""
    watcher = watcher or NoWatcher()
    outcome = RunOutcome(log=log)
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
        rejected = _rejected(drop, reason)
        outcome.partitions.append(rejected)
        watcher.finished(rejected)
    runnable = scan.runnable
    new = new_utilities(instance, runnable)
    if new:
        instance.add_dynamic_partitions(UTILITY_DIMENSION, new)
    defs = build_defs(landing=landing, warehouse=warehouse)
    run_config = FULL_LOG if verbose or log else QUIET
    store = Warehouse(warehouse)
    if not store.exists("gold/dim_date"):
        _run_job(defs, REFERENCE_JOB, instance, run_config, log, out, "reference dimensions")
    workers = _workers(workers, len(runnable), instance)
    steps = len(defs.resolve_job_def(PARTITION_JOB).nodes)
    by_name = {d.name: d for d in runnable}
    for drop in runnable:
        watcher.queued(drop.name, steps)

    def on_step(name: str, kind: str, step: str) -> None:
        if kind == "STEP_START":
            watcher.started(name)
            return
        drop = by_name[name]
        landed = (
            store.row_count("bronze/readings", drop.utility, drop.month)
            if step == FIRST_STEP
            else None
        )
        watcher.advanced(name, landed)

    def done(drop: Drop, r: _Result) -> None:
        part = PartitionOutcome(
            drop.utility,
            drop.month,
            r.success,
            r.seconds,
            r.message,
            r.run_id,
            r.own_seconds,
            r.failure,
            warn_failed=r.warn_failed,
            error_failed=r.error_failed,
        )
        if r.success:
            _rows(store, part)
            part.message = summary_line(part)
        outcome.partitions.append(part)
        watcher.finished(part)

    paths = (landing, warehouse, log)
    _run_partitions(runnable, defs, instance, paths, run_config, workers, on_step, done, out)
    # The DQ tables (check history, scorecard, dashboard) describe what just ran, as the
    # refresh sensor would make them after a batch of sensor-launched runs.
    outcome.refresh_failure = "not asked for"
    if refresh:
        outcome.refresh_failure = _run_job(defs, REFRESH_JOB, instance, run_config, log)
        outcome.refreshed = not outcome.refresh_failure
    order = {(d.utility, d.month): i for i, d in enumerate(runnable)}
    outcome.partitions.sort(key=lambda p: order.get((p.utility, p.month), -1))
    return outcome
