"""Publishing follows the sign-offs: ``publish_sensor`` watches ``dq/signoffs`` and keeps
``external/`` in step with the decisions, and ``gridflow publish`` does the same without the
daemon.

For each partition's latest decision (``dq/signoffs``):

* **approved** → a ``publish_job`` run of the partition (the external tables and its Green
  Button files), run key ``publish:<U>/<M>@<decision id>``;
* **sent back** or **void**, with the partition published → a ``withdraw_job`` run, run
  key ``withdraw:<U>/<M>@<decision id>``: the partition leaves every external table, one
  commit per table, and its Green Button files are deleted.

One run key per decision means one run, whoever asks first (the sensor, `gridflow publish`,
or both). The sensor's cursor is the Delta version of ``dq/signoffs``: a tick with no new
decision reads nothing more.
"""

import dagster as dg

from gridflow_assets.assets.external import (
    EXTERNAL_ASSETS,
    GREEN_BUTTON,
    SPECS,
    remove_green_button,
)
from gridflow_assets.dq.signoff import KEY as SIGNOFFS
from gridflow_assets.dq.states import APPROVED, SENT_BACK, VOID, latest_decisions
from gridflow_assets.registry import table
from gridflow_assets.registry.partitions import month_utility_partitions, partition_key
from gridflow_assets.store.resources import GridflowPaths
from gridflow_assets.store.warehouse import Warehouse

PUBLISH_JOB, WITHDRAW_JOB, PUBLISH_SENSOR = "publish_job", "withdraw_job", "publish_sensor"
RUN_KEY_TAG = "dagster/run_key"

publish_job = dg.define_asset_job(
    PUBLISH_JOB,
    selection=dg.AssetSelection.assets(*EXTERNAL_ASSETS).without_checks(),
    partitions_def=month_utility_partitions,
    description="The external views and Green Button files of one approved partition.",
    executor_def=dg.in_process_executor,
)


class WithdrawConfig(dg.Config):
    utility: str
    month: str
    reason: str = ""


@dg.op(name="withdraw_partition")
def withdraw_partition(
    context: dg.OpExecutionContext, config: WithdrawConfig, paths: GridflowPaths
):
    """Remove the partition from every external table (one commit each) and delete its
    Green Button files."""
    store = paths.store()
    u, m = config.utility, config.month
    for key in SPECS:
        if not store.exists(key, u, m):
            continue
        version = store.commit(key, u, m, [], table(key))
        context.log_event(
            dg.AssetMaterialization(
                asset_key=key.split("/"),
                partition=partition_key(u, m),
                metadata={"withdrawn": True, "reason": config.reason, "delta_version": version},
            )
        )
    files = remove_green_button(store, u, m)
    context.log_event(
        dg.AssetMaterialization(
            asset_key=GREEN_BUTTON.split("/"),
            partition=partition_key(u, m),
            metadata={"withdrawn": True, "reason": config.reason, "files_deleted": files},
        )
    )
    context.log.info(
        f"{u} {m} withdrawn from external/ ({files} Green Button file(s)): {config.reason}"
    )


@dg.job(
    name=WITHDRAW_JOB,
    executor_def=dg.in_process_executor,
    description="Removes one partition from external/ (a sign-off sent back or void).",
)
def withdraw_job() -> None:
    withdraw_partition()


def published(store: Warehouse) -> set[tuple[str, str]]:
    """Partitions that some external table holds."""
    return {p for key in SPECS for p in store.partitions(key)}


def requests(store: Warehouse) -> list[dg.RunRequest]:
    """What the decisions ask of external/: a publish or withdraw run per partition whose
    latest decision calls for one, each keyed by that decision."""
    frame = store.read_table(SIGNOFFS)
    if frame is None:
        return []
    out, shown = [], published(store)
    for (u, m), d in sorted(latest_decisions(frame.to_dicts()).items()):
        if d["decision"] == APPROVED:
            out.append(
                dg.RunRequest(
                    run_key=f"publish:{u}/{m}@{d['decision_id']}",
                    job_name=PUBLISH_JOB,
                    partition_key=partition_key(u, m),
                    tags={"gridflow/decision": d["decision_id"]},
                )
            )
        elif d["decision"] in (SENT_BACK, VOID) and (u, m) in shown:
            config = {"utility": u, "month": m, "reason": f"{d['decision']}: {d['reason']}"}
            out.append(
                dg.RunRequest(
                    run_key=f"withdraw:{u}/{m}@{d['decision_id']}",
                    job_name=WITHDRAW_JOB,
                    run_config={"ops": {"withdraw_partition": {"config": config}}},
                    tags={"gridflow/decision": d["decision_id"], "gridflow/partition": f"{u}/{m}"},
                )
            )
    return out


@dg.sensor(
    name=PUBLISH_SENSOR,
    jobs=[publish_job, withdraw_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Publishes approved partitions to external/ and withdraws those sent back or "
    "void, as dq/signoffs records the decisions.",
)
def publish_sensor(context: dg.SensorEvaluationContext, paths: GridflowPaths):
    store = paths.store()
    version = store.version(SIGNOFFS)
    if version is None:
        return dg.SkipReason("no sign-off recorded yet")
    if context.cursor == str(version):
        return dg.SkipReason(f"no new decision (dq/signoffs version {version})")
    return dg.SensorResult(run_requests=requests(store), cursor=str(version))


def already_ran(instance: dg.DagsterInstance, run_key: str) -> bool:
    """Whether a run with this key exists that did not fail (queued, running or done)."""
    runs = instance.get_run_records(dg.RunsFilter(tags={RUN_KEY_TAG: run_key}))
    return any(r.dagster_run.status != dg.DagsterRunStatus.FAILURE for r in runs)


QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def run_requests(
    defs: dg.Definitions, instance: dg.DagsterInstance, store: Warehouse, out=print
) -> tuple[int, int, int]:
    """``gridflow publish``: run what the sensor would request, in this process, each once
    (a run key already run by the sensor or an earlier call is skipped). Returns (runs
    succeeded, runs failed, requests already done)."""
    ok = failed = done = 0
    for req in requests(store):
        if already_ran(instance, req.run_key):
            done += 1
            continue
        job = defs.resolve_job_def(req.job_name)
        res = job.execute_in_process(
            instance=instance,
            partition_key=req.partition_key,
            run_config={**QUIET, **(req.run_config or {})},
            tags={**req.tags, RUN_KEY_TAG: req.run_key},
            raise_on_error=False,
        )
        ok += res.success
        failed += not res.success
        out(f"{req.run_key}: {'done' if res.success else 'FAILED'} (run {res.run_id})")
    return ok, failed, done
