"""Shared fixtures: temporary landing/warehouse folders and a Dagster instance that knows
the utility partitions."""

from __future__ import annotations

import dagster as dg
import pytest

from gridflow_assets.definitions import build_defs
from gridflow_assets_tests.s3server import S3Server


@pytest.fixture
def folders(tmp_path):
    landing, warehouse, reports = (tmp_path / n for n in ("landing", "warehouse", "reports"))
    for p in (landing, warehouse, reports):
        p.mkdir()
    return landing, warehouse, reports


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


@pytest.fixture
def defs(folders):
    landing, warehouse, reports = folders
    return build_defs(str(landing), str(warehouse), str(reports))


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
