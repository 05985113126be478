"""A module's world: its own landing, warehouse, reports and Dagster home, the variables the
``gridflow`` command reads pointing at them, and an in-memory instance the command uses
(``cli._instance``): runs on it take a fraction of a SQLite instance's time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import pytest

from gridflow_assets.app import cli

ENV = {
    "DAGSTER_HOME": "home",
    "GRIDFLOW_LANDING": "landing",
    "GRIDFLOW_WAREHOUSE": "warehouse",
    "GRIDFLOW_REPORTS": "reports",
}


@contextmanager
def world(
    tmp_path_factory, name: str, *extra: str
) -> Iterator[tuple[dict, dg.DagsterInstance, pytest.MonkeyPatch]]:
    """``(dirs, instance, monkeypatch)``: ``dirs`` by name (the four folders and ``extra``)."""
    root = tmp_path_factory.mktemp(name)
    dirs = {n: root / n for n in (*ENV.values(), *extra)}
    for d in dirs.values():
        d.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for env, folder in ENV.items():
            mp.setenv(env, str(dirs[folder]))
        instance = dg.DagsterInstance.ephemeral()
        mp.setattr(cli, "_instance", lambda: instance)
        try:
            yield dirs, instance, mp
        finally:
            instance.dispose()
