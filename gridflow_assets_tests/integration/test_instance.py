"""The embedded instance gridflow writes: pooled SQLite storage in the stock file layout."""

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import (
    SqliteScheduleStorage,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

from gridflow_assets.defs.instance import (
    LEGACY_YAML,
    PooledSqliteEventLogStorage,
    ensure_instance_yaml,
)

PARTS = dg.StaticPartitionsDefinition(["a", "b"])
KEY = dg.AssetKey(["t", "x"])


@dg.asset(
    key=KEY,
    partitions_def=PARTS,
    check_specs=[dg.AssetCheckSpec("positive", asset=KEY, partitions_def=PARTS)],
)
def _x(context):
    yield dg.MaterializeResult(metadata={"rows": 1})
    yield dg.AssetCheckResult(check_name="positive", passed=context.partition_key == "a")


def test_private_hooks_the_pooled_storage_overrides_still_exist():
    # Pinned dagster: if an upgrade renames these, this fails before the storage misbehaves.
    assert callable(SqliteEventLogStorage._connect)
    assert callable(SqliteEventLogStorage.has_table)
    assert callable(SqliteRunStorage.connect) and callable(SqliteScheduleStorage.connect)


def test_instance_yaml_is_written_once_and_a_users_own_is_kept(tmp_path):
    path = ensure_instance_yaml(tmp_path)
    assert "PooledSqliteStorage" in path.read_text()
    path.write_text("telemetry:\n  enabled: true\n")
    ensure_instance_yaml(tmp_path)
    assert path.read_text() == "telemetry:\n  enabled: true\n"
    path.write_text(LEGACY_YAML)  # what earlier versions wrote is upgraded
    assert "PooledSqliteStorage" in ensure_instance_yaml(tmp_path).read_text()
    # written before the package layout: the storage's module was gridflow_assets.instance
    before = path.read_text().replace("gridflow_assets.defs.instance", "gridflow_assets.instance")
    path.write_text(
        before.replace("gridflow_assets/defs/instance.py", "gridflow_assets/instance.py")
    )
    assert "module: gridflow_assets.defs.instance" in ensure_instance_yaml(tmp_path).read_text()
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)


def test_runs_stored_through_the_pool_read_back_with_the_stock_storage(tmp_path):
    ensure_instance_yaml(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        for key in ("a", "b"):
            dg.materialize([_x], instance=instance, partition_key=key, raise_on_error=False)
    stock = DagsterSqliteStorage.from_local(str(tmp_path))
    runs = stock.run_storage.get_runs()
    assert len(runs) == 2
    events = stock.event_log_storage.get_logs_for_run(runs[0].run_id)
    assert any(e.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION for e in events)
    check = dg.AssetCheckKey(KEY, "positive")
    history = stock.event_log_storage.get_asset_check_execution_history(check, limit=10)
    assert sorted((r.partition, r.status.value) for r in history) == [
        ("a", "SUCCEEDED"),
        ("b", "FAILED"),
    ]
