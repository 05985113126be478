"""The private Dagster names gridflow relies on (``gridflow_assets/dagster_api.py``) still
exist and behave as used, and no other module of the package imports ``dagster._…``."""

import importlib
import inspect
import logging
from pathlib import Path

import dagster as dg

import gridflow_assets
from gridflow_assets import dagster_api
from gridflow_assets.defs.instance import PooledSqliteEventLogStorage, PooledSqliteStorage

PACKAGE = Path(gridflow_assets.__file__).parent


def test_only_dagster_api_names_private_dagster():
    private = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "dagster._" in path.read_text(encoding="utf-8") and path.name != "dagster_api.py"
    )
    assert private == []


def test_pooled_storage_keeps_the_stock_layout_and_connects_through_its_hooks(tmp_path):
    # the private hooks the pooled storages override
    assert callable(dagster_api.SqliteEventLogStorage._connect)
    assert callable(dagster_api.SqliteEventLogStorage.has_table)
    assert callable(dagster_api.SqliteRunStorage.connect)
    assert callable(dagster_api.SqliteScheduleStorage.connect)
    storage = PooledSqliteStorage.from_local(str(tmp_path))
    try:
        assert isinstance(storage, dagster_api.DagsterSqliteStorage)
        assert isinstance(storage.event_log_storage, PooledSqliteEventLogStorage)
        assert storage.run_storage.get_runs() == []  # through the pooled connect()
        assert storage.schedule_storage.all_instigator_state() == []
        assert storage.event_log_storage.has_table("asset_check_executions")
        assert storage.event_log_storage.get_logs_for_run("no-such-run") == []  # _connect
    finally:
        storage.dispose()
    layout = dagster_api.sqlite_layout(str(tmp_path))
    assert (Path(layout.runs) / "runs.db").is_file()
    assert (Path(layout.event_logs) / f"{dagster_api.INDEX_SHARD_NAME}.db").is_file()
    assert (Path(layout.schedules) / "schedules.db").is_file()
    assert Path(layout.runs) == tmp_path / "history"


def test_configured_storage_keeps_its_instance_data(tmp_path):
    data = dagster_api.ConfigurableClassData(
        "gridflow_assets.defs.instance", "PooledSqliteStorage", f"base_dir: {tmp_path}\n"
    )
    storage = data.rehydrate(as_type=PooledSqliteStorage)
    try:
        assert storage.inst_data is data
    finally:
        storage.dispose()


def test_check_evaluation_points_at_the_latest_materialization_of_a_partition():
    # what checks.factory._target does: the public record filter, then the private target
    key = dg.AssetKey(["t", "x"])
    with dg.DagsterInstance.ephemeral() as instance:
        for partition in ("a", "b"):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key=key, partition=partition)
            )
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=["a"]), limit=1
        ).records
        assert [r.partition_key for r in records] == ["a"]
        mat = records[0]
        target = dagster_api.AssetCheckEvaluationTargetMaterializationData(
            run_id=mat.run_id, storage_id=mat.storage_id, timestamp=mat.timestamp
        )
        evaluation = dg.AssetCheckEvaluation(
            asset_key=key,
            check_name="c",
            passed=True,
            partition="a",
            target_materialization_data=target,
        )
        assert evaluation.target_materialization_data.storage_id == mat.storage_id


def test_plan_logger_is_where_dagster_warns_of_a_blocking_check_without_result():
    module = importlib.import_module(dagster_api.PLAN_LOGGER)
    assert module.logger is logging.getLogger(dagster_api.PLAN_LOGGER)
    assert "emitted no result" in inspect.getsource(module)
