"""Fixtures of the integration tests: the Dagster definitions over a test's own folders.
Only the integration tests load them; the unit tests never build the definitions
(``test_imports.py`` checks it)."""

from __future__ import annotations

import pytest

from gridflow_assets.defs.definitions import build_defs


@pytest.fixture
def defs(folders):
    landing, warehouse, reports = folders
    return build_defs(str(landing), str(warehouse), str(reports))
