"""The run shape of a partition: one step per layer, every check reported per partition from
inside its layer's step, and the whole run within the event budget."""

import collections

import dagster as dg
import pytest

from gridflow_assets.checks.factory import plans_for
from gridflow_assets.defs.definitions import PARTITION_JOB, REFERENCE_JOB
from gridflow_assets.defs.instance import ensure_instance_yaml
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.registry import TABLES, table
from gridflow_assets.registry.partitions import partition_key
from gridflow_assets.silver.adapters import delivers
from gridflow_assets.store.warehouse import Warehouse

EVENT_BUDGET = 250  # per partition run, on the embedded instance


@pytest.fixture(scope="module")
def iesco_run(tmp_path_factory):
    """One IESCO partition (every table, every check kind) run on a fresh instance."""
    from gridflow_assets.defs.definitions import build_defs

    root = tmp_path_factory.mktemp("run_shape")
    landing, warehouse = root / "landing", root / "warehouse"
    generate_iesco(landing, ["2025-03"], meters=8, faults="realistic")
    defs = build_defs(str(landing), str(warehouse), str(root / "reports"))
    ensure_instance_yaml(root / "home")  # the embedded instance `gridflow run` uses
    with dg.DagsterInstance.from_config(str(root / "home")) as instance:
        instance.add_dynamic_partitions("utility", ["IESCO"])
        assert defs.resolve_job_def(REFERENCE_JOB).execute_in_process(instance=instance).success
        result = defs.resolve_job_def(PARTITION_JOB).execute_in_process(
            instance=instance, partition_key=partition_key("IESCO", "2025-03")
        )
        records = instance.get_records_for_run(result.run_id, limit=100_000).records
        yield result, records, Warehouse(warehouse)


def test_partition_run_stays_within_the_event_budget(iesco_run):
    result, records, _ = iesco_run
    assert result.success
    kinds = collections.Counter(
        r.event_log_entry.dagster_event_type for r in records if r.event_log_entry.dagster_event
    )
    assert len(records) <= EVENT_BUDGET, (len(records), kinds.most_common())
    # No per-check planned events or outputs: each check costs one evaluation event.
    assert kinds[dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED] == 0


def test_one_step_per_layer(iesco_run):
    result, _, _ = iesco_run
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert steps == {"bronze_tables", "silver_tables", "gold_tables", "experience_tables"}


def test_every_check_of_every_delivered_table_reported_once_for_the_partition(iesco_run):
    result, _, _ = iesco_run
    seen = collections.Counter(
        ("/".join(e.asset_key.path), e.check_name, e.partition)
        for e in result.get_asset_check_evaluations()
    )
    expected = {
        (key, plan.name, partition_key("IESCO", "2025-03"))
        for key, spec in TABLES.items()
        if spec.partitioned
        and spec.layer not in ("dq", "external")  # refreshed, published: other jobs
        and delivers("IESCO", spec.requires)
        for plan in plans_for(table(key))
    }
    assert set(seen) == expected
    assert max(seen.values()) == 1
    assert len(expected) > 100  # every kind of check of an IESCO partition


def test_check_results_point_at_the_materialization_they_judged(iesco_run):
    result, _, _ = iesco_run
    mats = {("/".join(e.asset_key.path)): e for e in result.get_asset_materialization_events()}
    for ev in result.get_asset_check_evaluations():
        target = ev.target_materialization_data
        assert target is not None and target.run_id == result.run_id
        assert "/".join(ev.asset_key.path) in mats
