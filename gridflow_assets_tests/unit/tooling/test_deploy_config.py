"""The deployment's configuration (deploy/): valid for the pinned Dagster, secrets only from
the environment, and its run limits keyed on tags that partition runs really carry.

The queue settings of deploy/helm/values.yaml are translated to instance configuration as the
chart's template does (camelCase keys to snake_case) and checked by Dagster's own
QueuedRunCoordinator; the chart itself is not available here to render them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dagster._config import process_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.storage.config import pg_config
from dagster._core.workspace.config_schema import process_workspace_config
from dagster._serdes import ConfigurableClassData

from gridflow_assets.registry.partitions import month_utility_partitions, partition_key

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
PG_ENV = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME")
# The chart's template (_run-coordinator.tpl): values key -> instance key.
HELM_QUEUE_KEYS = {
    "maxConcurrentRuns": "max_concurrent_runs",
    "tagConcurrencyLimits": "tag_concurrency_limits",
    "dequeueIntervalSeconds": "dequeue_interval_seconds",
}


def _load(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


def _coordinator(config: dict) -> QueuedRunCoordinator:
    """The coordinator Dagster builds from ``config`` (raises on invalid configuration)."""
    data = ConfigurableClassData(
        "dagster.core.run_coordinator", "QueuedRunCoordinator", yaml.safe_dump(config)
    )
    return data.rehydrate(QueuedRunCoordinator)


def _from_helm(values: dict) -> dict:
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    unknown = set(queue) - set(HELM_QUEUE_KEYS)
    if unknown:
        raise ValueError(f"not a key the chart's template reads: {sorted(unknown)}")
    return {HELM_QUEUE_KEYS[k]: v for k, v in queue.items()}


def _run_tags() -> dict[str, str]:
    return month_utility_partitions.get_tags_for_partition_key(partition_key("IESCO", "2025-06"))


def _limits(coordinator: QueuedRunCoordinator) -> dict[str, int]:
    limits = coordinator.get_run_queue_config().tag_concurrency_limits
    assert all(limit["value"] == {"applyLimitPerUniqueValue": True} for limit in limits)
    return {limit["key"]: limit["limit"] for limit in limits}


def test_box_queue_runs_one_run_per_utility(monkeypatch):
    monkeypatch.setenv("GRIDFLOW_MAX_CONCURRENT_RUNS", "3")
    coordinator = _coordinator(_load("dagster.yaml")["run_coordinator"]["config"])
    assert coordinator.get_run_queue_config().max_concurrent_runs == 3  # from the environment
    assert _limits(coordinator) == {"dagster/partition/utility": 1}
    assert set(_limits(coordinator)) <= set(_run_tags())


def test_helm_queue_limits_utilities_and_partitions():
    coordinator = _coordinator(_from_helm(_load("helm/values.yaml")))
    limits = _limits(coordinator)
    assert limits == {"dagster/partition/utility": 8, "dagster/partition": 1}
    assert set(limits) <= set(_run_tags())


def test_a_misspelled_limit_is_rejected():
    """What the two tests above rely on: Dagster refuses a limit it would not apply."""
    bad = {"tag_concurrency_limits": [{"key": "dagster/partition/utility", "limits": 1}]}
    with pytest.raises(DagsterInvalidConfigError):
        _coordinator(bad)
    queue = {"maxConcurentRuns": 4}
    values = {"dagsterDaemon": {"runCoordinator": {"config": {"queuedRunCoordinator": queue}}}}
    with pytest.raises(ValueError, match="maxConcurentRuns"):
        _from_helm(values)


def test_box_storage_takes_every_credential_from_the_environment(monkeypatch):
    pg = _load("dagster.yaml")["storage"]["postgres"]["postgres_db"]
    fields = {k: v for k, v in pg.items() if k != "scheme"}  # the driver, not a credential
    assert all(v == {"env": v.get("env")} for v in fields.values()), fields
    assert {v["env"] for v in fields.values()} == {*PG_ENV, "DAGSTER_PG_PASSWORD"}
    for name in PG_ENV:
        monkeypatch.setenv(name, "5432" if name.endswith("PORT") else "x")
    monkeypatch.delenv("DAGSTER_PG_PASSWORD", raising=False)
    assert not process_config(pg_config(), {"postgres_db": pg}).success  # no password set
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "secret")
    done = process_config(pg_config(), {"postgres_db": pg})
    assert done.success, done.errors
    assert done.value["postgres_db"]["password"] == "secret"


def test_box_workspace_reaches_the_code_server_on_loopback(monkeypatch):
    monkeypatch.setenv("GRIDFLOW_CODE_SERVER_PORT", "4266")
    done = process_workspace_config(_load("workspace.yaml"))
    assert done.success, done.errors
    (server,) = [entry["grpc_server"] for entry in done.value["load_from"]]
    assert (server["host"], server["port"], server["location_name"]) == (
        "127.0.0.1",
        4266,
        "gridflow",
    )
