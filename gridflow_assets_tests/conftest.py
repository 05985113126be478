"""Shared fixtures: temporary landing/warehouse folders and a Dagster instance that knows
the utility partitions.

Temporary folders (pytest's ``tmp_path``, ``tempfile`` here and in the processes the tests
start) go to memory (``/dev/shm``) where the machine has it and ``TMPDIR`` does not say
otherwise: the SQLite instances and the warehouse files the tests write are thrown away, and
on disk every SQLite commit waits for its ``fsync``.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import dagster as dg
import pytest

from gridflow_assets_tests.s3server import S3Server

MEMORY_TMP = "/dev/shm"
# The modules that take longest, run first: ``make test`` hands whole modules to its two
# processes in collection order, so a long module collected last would run alone at the
# end (the longest first keeps both processes busy to the end).
LONGEST_FIRST = (
    "test_scale_out.py",
    "test_faults.py",
    "test_object_store.py",
    "test_ui_checks.py",
    "test_imports.py",
    "test_outside_readers.py",
    "test_steward.py",
    "test_pii_pipeline.py",
    "test_green_button.py",
    "test_dq_pipeline.py",
    "test_cli.py",
)

# "Now" for every state that depends on the calendar (dq/calendar.py): before every month
# the tests deliver, so no test sees months missing unless it sets a later one itself.
os.environ["GRIDFLOW_NOW"] = "2024-01-01T00:00:00Z"

if "TMPDIR" not in os.environ and os.access(MEMORY_TMP, os.W_OK | os.X_OK):
    os.environ["TMPDIR"] = MEMORY_TMP
    tempfile.tempdir = MEMORY_TMP


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order inside a module is kept


@pytest.fixture
def folders(tmp_path):
    landing, warehouse, reports = (tmp_path / n for n in ("landing", "warehouse", "reports"))
    for p in (landing, warehouse, reports):
        p.mkdir()
    return landing, warehouse, reports


@pytest.fixture
def env(folders, tmp_path, monkeypatch):
    """The folders, with the variables the ``gridflow`` command reads pointing at them."""
    landing, warehouse, reports = folders
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("GRIDFLOW_LANDING", str(landing))
    monkeypatch.setenv("GRIDFLOW_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("GRIDFLOW_REPORTS", str(reports))
    monkeypatch.delenv("GRIDFLOW_RETENTION_DAYS", raising=False)
    return folders


@pytest.fixture(scope="session")
def empty_instance_home(tmp_path_factory):
    """The storage of an empty test instance, made once per test process: creating the
    SQLite schemas costs more than most tests that use an instance, copying them little."""
    home = tmp_path_factory.mktemp("empty_instance")
    with dg.instance_for_test(temp_dir=str(home)):
        pass
    return home


@pytest.fixture
def instance(tmp_path, empty_instance_home):
    """A Dagster instance of the test's own (SQLite in its tmp_path), empty."""
    home = tmp_path / "dagster_home"
    shutil.copytree(empty_instance_home, home)
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


# -- Object storage: a real S3 API on 127.0.0.1 (gridflow_assets_tests/s3server.py) -----------


@pytest.fixture(scope="session")
def s3_server():
    server = S3Server.start()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch):
    """The S3 server with the AWS_* variables pointing at it for this test only."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server
