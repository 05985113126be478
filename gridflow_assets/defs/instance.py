"""The embedded Dagster instance, set up for speed: SQLite files as Dagster lays them out,
written through pooled connections.

Dagster's stock SQLite storage opens an engine, connects, commits and disposes it for every
event it stores (three or four connections for each asset-check event). On this kind of
machine that is ~6 ms per event on a quiet disk and much more on a busy one, and a partition
run stores ~200 events. ``PooledSqliteStorage`` keeps one engine per database file (a
bounded number of them; per-run event files come and go), with WAL (as stock) and
``synchronous=NORMAL``: a commit is durable once the WAL is synced at checkpoint, which is
what a database on local disk of a single-user instance needs (a power cut may lose the
last transactions, never corrupt the files).

The files are the stock layout (``history/runs.db``, ``history/runs/*.db``,
``schedules/schedules.db``), so the stock storage, ``dagster dev`` and older tools read them.

Pinned to the Dagster release in pyproject.toml: the stock storage classes and their layout
come through ``dagster_api`` (none is public), and ``_connect``, ``connect`` and ``has_table``
are their own (private) connection hooks; ``test_dagster_api.py`` checks they still exist,
``test_instance.py`` that every record reads back through the stock classes.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

from gridflow_assets.dagster_api import (
    INDEX_SHARD_NAME,
    ConfigurableClassData,
    DagsterSqliteStorage,
    SqliteEventLogStorage,
    SqliteRunStorage,
    SqliteScheduleStorage,
    sqlite_layout,
)
from gridflow_assets.store.settings import BindingError, check_binding, default_path, instance_home

BUSY_TIMEOUT_S = 30  # as stock: wait for another process's write rather than fail
MAX_ENGINES = 8  # per-run event files: keep the newest few open


def _pooled_engine(conn_string: str) -> Engine:
    engine = create_engine(
        conn_string, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return engine


class _Engines:
    """A small LRU of engines by connection string, reset in a new process (engines and
    their pooled connections must not cross a fork)."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, conn_string: str) -> Engine:
        with self._lock:
            if self._pid != os.getpid():
                self._engines.clear()  # the parent's engines are not ours to close
                self._pid = os.getpid()
            engine = self._engines.get(conn_string)
            if engine is None:
                engine = self._engines[conn_string] = _pooled_engine(conn_string)
                while len(self._engines) > MAX_ENGINES:
                    _, old = self._engines.popitem(last=False)
                    old.dispose()
            self._engines.move_to_end(conn_string)
            return engine

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Stock per-run SQLite event logs, stored through pooled connections."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._pool = _Engines()
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data)

    def has_table(self, table_name: str) -> bool:
        """Asked before every asset-check event; a table, once there, stays (migrations
        only add), so a yes is remembered and a no is asked again."""
        if table_name in self._tables:
            return True
        engine = self._pool.get(self.conn_string_for_shard(INDEX_SHARD_NAME))
        with engine.connect() as conn:
            present = bool(engine.dialect.has_table(conn, table_name))
        if present:
            self._tables.add(table_name)
        return present

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._pool.get(self.conn_string_for_shard(shard))
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        self._pool.dispose()
        super().dispose()


class PooledSqliteRunStorage(SqliteRunStorage):
    """Stock SQLite run storage through one pooled engine."""

    _pool = _Engines()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._pool.get(self._conn_string).connect() as conn, conn.begin():
            yield conn


class PooledSqliteScheduleStorage(SqliteScheduleStorage):
    """Stock SQLite schedule storage through one pooled engine."""

    _pool = _Engines()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._pool.get(self._conn_string).connect() as conn, conn.begin():
            yield conn


class PooledSqliteStorage(DagsterSqliteStorage):
    """The stock SQLite storage layout with pooled connections (``dagster.yaml``:
    ``storage: custom: {module: gridflow_assets.defs.instance, class: PooledSqliteStorage}``)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self.base_dir = base_dir
        layout = sqlite_layout(base_dir)
        self._run_storage = PooledSqliteRunStorage.from_local(layout.runs)
        self._event_log_storage = PooledSqliteEventLogStorage(layout.event_logs)
        self._schedule_storage = PooledSqliteScheduleStorage.from_local(layout.schedules)
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: dict
    ) -> PooledSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)


_STORAGE_YAML = """\
# Written by gridflow (gridflow_assets/defs/instance.py): the embedded instance of `make dev`,
# `gridflow run`, sensors and backfills. Stock SQLite files, written through pooled
# connections; delete this file to fall back to Dagster's stock storage (same files).
storage:
  custom:
    module: gridflow_assets.defs.instance
    class: PooledSqliteStorage
    config:
      base_dir: {base_dir}
"""
_LOG_LEVEL_YAML = """\
# Runs launched by the daemon (sensors, schedules, the UI) print INFO and above on the
# console, not every DEBUG event; the UI and the event log keep every event.
python_logs:
  python_log_level: INFO
"""
LEGACY_YAML = "telemetry:\n  enabled: false\n"  # what the first gridflow versions wrote
INSTANCE_YAML = _STORAGE_YAML + _LOG_LEVEL_YAML + LEGACY_YAML
# Before the package layout (app/, defs/, store/), this module was gridflow_assets.instance.
_ROOT_MODULE_YAML = _STORAGE_YAML.replace(
    "gridflow_assets/defs/instance.py", "gridflow_assets/instance.py"
).replace("gridflow_assets.defs.instance", "gridflow_assets.instance")
# What earlier gridflow versions wrote is replaced; a user's own dagster.yaml is kept.
EARLIER_YAML = (
    LEGACY_YAML,
    _STORAGE_YAML + LEGACY_YAML,
    _ROOT_MODULE_YAML + LEGACY_YAML,
    _ROOT_MODULE_YAML + _LOG_LEVEL_YAML + LEGACY_YAML,
)


def ensure_instance_yaml(home: str | Path) -> Path:
    """Write ``dagster.yaml`` into ``home`` unless one exists (a user's own is kept; the
    one earlier gridflow versions wrote is replaced)."""
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    earlier = {text.format(base_dir=home) for text in EARLIER_YAML}
    if not path.exists() or path.read_text() in earlier:
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(INSTANCE_YAML.format(base_dir=home))
        os.replace(tmp, path)
    return path


def open_home(warehouse: str, record: bool) -> Path:
    """The instance folder bound to ``warehouse`` (see ``settings.instance_home``), with its
    ``dagster.yaml``; ``record`` binds an unbound instance. Raises ``BindingError`` when the
    instance records another warehouse."""
    home, explicit = instance_home(warehouse)
    check_binding(home, warehouse, explicit, record)
    ensure_instance_yaml(home)
    return home


def main() -> int:
    """``python -m gridflow_assets.defs.instance``: print the instance folder bound to the
    warehouse of the environment (``make dev``, ``make demo``), or why there is none."""
    try:
        print(open_home(default_path("warehouse"), record=True))
    except BindingError as exc:
        print(f"gridflow: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
