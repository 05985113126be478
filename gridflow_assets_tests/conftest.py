"""Shared fixtures: temporary landing/warehouse folders and a Dagster instance that knows
the utility partitions."""

from __future__ import annotations

import dagster as dg
import pytest

from gridflow_assets.definitions import build_defs


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
