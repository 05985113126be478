"""Every private Dagster name gridflow uses, in one place (pinned to the Dagster release in
pyproject.toml; ``gridflow_assets_tests/unit/test_dagster_api.py`` checks each still exists
and behaves as used, and that no other module imports ``dagster._…``).

Everything else comes from ``import dagster as dg``. A name is here only when the installed
Dagster has no public form of it; each says why, and what gridflow relies on.
"""

from __future__ import annotations

from typing import NamedTuple

from dagster._core.definitions.asset_checks import asset_check_evaluation as _evaluation
from dagster._core.storage import sqlite_storage as _stock
from dagster._core.storage.event_log.sqlite import sqlite_event_log as _event_log
from dagster._core.storage.runs.sqlite import sqlite_run_storage as _runs
from dagster._core.storage.schedules.sqlite import sqlite_schedule_storage as _schedules
from dagster._serdes import config_class as _config_class

__all__ = [
    "INDEX_SHARD_NAME",
    "PLAN_LOGGER",
    "AssetCheckEvaluationTargetMaterializationData",
    "ConfigurableClassData",
    "DagsterSqliteStorage",
    "SqliteEventLogStorage",
    "SqliteLayout",
    "SqliteRunStorage",
    "SqliteScheduleStorage",
    "sqlite_layout",
]

# --- asset checks (checks/factory.py) ---------------------------------------------------

AssetCheckEvaluationTargetMaterializationData = (
    _evaluation.AssetCheckEvaluationTargetMaterializationData
)
"""What ``dg.AssetCheckEvaluation(target_materialization_data=…)`` takes: the run id,
storage id and timestamp of the materialization an evaluation judged. ``dg`` exports the
evaluation, not this type of its argument. A layer step reports its checks after its
materializations are stored and points each evaluation at one, so the UI shows the result
against that materialization."""

# --- the embedded instance's storage (instance.py) ----------------------------------------

DagsterSqliteStorage = _stock.DagsterSqliteStorage
"""Dagster's default SQLite storage (no public form: it is configured by ``dagster.yaml``).
``instance.PooledSqliteStorage`` subclasses it to keep its file layout, config schema and
``register_instance`` while putting pooled storages in its three slots."""

SqliteEventLogStorage = _event_log.SqliteEventLogStorage
"""The stock per-run SQLite event log. Subclassed for pooled connections: we override its
``_connect(shard)`` and ``has_table(name)`` hooks and use its ``conn_string_for_shard``,
``_db_lock``, ``_initialized_dbs`` and ``_initdb``."""

INDEX_SHARD_NAME = _event_log.INDEX_SHARD_NAME
"""The event log's index shard (``history/runs/index.db``), asked for its tables."""

SqliteRunStorage = _runs.SqliteRunStorage
"""The stock SQLite run storage; subclassed to override ``connect()`` (its
``_conn_string`` names the file)."""

SqliteScheduleStorage = _schedules.SqliteScheduleStorage
"""The stock SQLite schedule storage; subclassed like the run storage."""

ConfigurableClassData = _config_class.ConfigurableClassData
"""The ``inst_data`` Dagster hands a storage configured in ``dagster.yaml``
(``custom: {module, class, config}``); the storage keeps it and returns it as ``inst_data``."""


class SqliteLayout(NamedTuple):
    """The folders of the stock SQLite storage under its ``base_dir``."""

    runs: str  # history/ (runs.db)
    event_logs: str  # history/runs/ (one <run id>.db per run, index.db)
    schedules: str  # schedules/ (schedules.db)


def sqlite_layout(base_dir: str) -> SqliteLayout:
    """Where ``DagsterSqliteStorage`` keeps its files, from its own (private) helpers: the
    pooled storage writes the very files the stock one reads, so ``dagster dev`` and the
    stock storage read an instance gridflow wrote."""
    return SqliteLayout(
        _stock._runs_directory(base_dir),
        _stock._event_logs_directory(base_dir),
        _stock._schedule_directory(base_dir),
    )


# --- logging (app/runner.py) ---------------------------------------------------

PLAN_LOGGER = "dagster._core.execution.plan.active"
"""The Python logger (the module's ``__name__``) of Dagster's execution plan, which warns
"Blocking asset check … emitted no result" for each blocking check a step left without a
result; the runner filters those (a utility that does not deliver a table)."""
