"""The asset graph through Dagster's own execution: checks per partition, blocking, reruns."""

import hashlib
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pandas as pd
import polars as pl
import pytest

from gridflow_assets.defs.definitions import PARTITION_JOB, REFERENCE_JOB, build_defs
from gridflow_assets.registry import TABLES
from gridflow_assets.registry.partitions import month_utility_partitions, partition_key
from gridflow_assets.silver.adapters import register, unregister
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets_tests.crafted import land_utility1, land_utility2, lossy_utility


def _run(defs, instance, utility, month="2025-03"):
    instance.add_dynamic_partitions("utility", [utility])
    return defs.resolve_job_def(PARTITION_JOB).execute_in_process(
        instance=instance, partition_key=partition_key(utility, month), raise_on_error=False
    )


def _checks(result):
    out = {}
    for ev in result.all_events:
        if ev.event_type_value == "ASSET_CHECK_EVALUATION":
            d = ev.event_specific_data
            out[("/".join(d.asset_key.path), d.check_name)] = d
    return out


def _land_and_run(defs, landing, warehouse, instance):
    land_utility1(landing)
    land_utility2(landing)
    assert defs.resolve_job_def(REFERENCE_JOB).execute_in_process(instance=instance).success
    results = {u: _run(defs, instance, u) for u in ("UTILITY1", "UTILITY2")}
    return results, Warehouse(warehouse)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Both crafted New York partitions run once for the tests that only read the result
    (or rerun a partition, which must give the same files)."""
    root = tmp_path_factory.mktemp("pipeline")
    landing, warehouse, reports = (root / n for n in ("landing", "warehouse", "reports"))
    for folder in (landing, warehouse, reports, root / "home"):
        folder.mkdir()
    defs = build_defs(str(landing), str(warehouse), str(reports))
    with dg.instance_for_test(temp_dir=str(root / "home")) as instance:
        results, store = _land_and_run(defs, landing, warehouse, instance)
        yield SimpleNamespace(
            results=results,
            store=store,
            defs=defs,
            instance=instance,
            folders=(landing, warehouse),
        )


@pytest.fixture
def ran(world):
    return world.results, world.store


@pytest.fixture
def ran_alone(world, folders):
    """A copy of the world's landed files and warehouse, for a test that changes the landed
    files (and runs on its own instance)."""
    for src, dst in zip(world.folders, folders[:2], strict=True):
        shutil.copytree(src, dst, dirs_exist_ok=True)
    return world.results, Warehouse(folders[1])


def test_every_layer_materialized_per_partition(ran):
    results, store = ran
    assert all(r.success for r in results.values())
    for key in (
        "bronze/readings",
        "silver/intervals",
        "silver/rejects",
        "gold/fact_readings",
        "gold/dim_meter",
        "gold/dim_service_point",
        "experience/daily_summaries",
    ):
        assert store.partitions(key) == [("UTILITY1", "2025-03"), ("UTILITY2", "2025-03")]
    # The NY utilities deliver no bills: no partition of them exists.
    assert store.partitions("bronze/bills") == [] and store.partitions("silver/bills") == []
    [path] = store.files("silver/intervals", "UTILITY1", "2025-03")
    assert re.search(
        r"silver/intervals/utility=UTILITY1/month=2025-03/part-00000-000-[0-9a-f]{16}-[0-9a-f]{16}"
        r"\.parquet$",
        path,
    )


def test_materializations_name_their_delta_table_and_version(ran):
    """Every table a run wrote names its Delta table and the version it committed, which
    reads back those rows; dq and reference tables go through the IO manager alike."""
    results, store = ran
    mats = results["UTILITY1"].get_asset_materialization_events()
    seen = 0
    for ev in mats:
        meta = ev.materialization.metadata
        if "dagster/uri" not in meta:  # a table the utility does not deliver
            assert meta["delivered"].value is False
            continue
        key = "/".join(ev.asset_key.path)
        assert meta["dagster/uri"].value == store.table_uri(key)
        assert meta["dagster/table_name"].value == key.replace("/", ".")
        version = meta["delta_version"].value
        assert 0 < version <= store.version(key)
        at = pl.scan_delta(store.table_uri(key), version=version)
        rows = at.filter(pl.col("utility") == "UTILITY1").select(pl.len()).collect().item()
        assert rows == meta["dagster/row_count"].value
        seen += 1
    assert seen >= 10


def test_check_results_carry_counts_samples_and_severity(ran):
    results, _ = ran
    checks = _checks(results["UTILITY2"])
    orphan = checks[("silver/intervals", "orphans__meter_id")]
    assert not orphan.passed and orphan.severity == dg.AssetCheckSeverity.WARN
    assert orphan.metadata["failed_count"].value == 1
    assert "UTILITY2:555555555" in orphan.metadata["sample"].value
    assert orphan.partition == partition_key("UTILITY2", "2025-03")
    cons = checks[("silver/intervals", "conservation__accounting")]
    assert cons.passed and cons.severity == dg.AssetCheckSeverity.ERROR
    assert cons.metadata["details"].value["duplicates_conflicting"] == 1
    kinds = {name.split("__")[0] for _, name in checks}
    assert kinds == {"schema", "duplicates", "orphans", "range", "conservation", "vee"}


def _current(store: Warehouse) -> dict[tuple, tuple[list[str], list[str]]]:
    """Every published partition: its current files and their content hashes."""
    out = {}
    for key, spec in TABLES.items():
        parts = store.partitions(key) if spec.partitioned else [(None, None)]
        for utility, month in parts:
            files = store.files(key, utility, month)
            hashes = [hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files]
            out[(key, utility, month)] = (files, hashes)
    return out


def test_rerun_is_idempotent_and_byte_identical(world):
    """A rerun of the same drop writes files byte-identical to the ones they would replace:
    nothing is committed, every table keeps its Delta version and its files."""
    store, defs, instance = world.store, world.defs, world.instance
    before = _current(store)
    versions = {key: store.version(key) for key, _, _ in before}
    assert _run(defs, instance, "UTILITY1").success
    after = _current(store)
    assert before == after
    assert {key: Warehouse(store.location).version(key) for key in versions} == versions
    rerun = [k for k in before if k[1] == "UTILITY1"]
    assert rerun
    # the files the rerun wrote were removed again: each partition folder holds its own
    for key, utility, month in rerun:
        folder = Path(store.partition_dir(key, utility, month))
        assert sorted(str(p) for p in folder.glob("*.parquet")) == sorted(
            before[(key, utility, month)][0]
        )
    assert not list(Path(store.location).rglob("*.tmp"))


def test_warehouse_readable_by_duckdb(ran):
    duckdb = pytest.importorskip("duckdb")
    _, store = ran
    files = store.files("silver/intervals")
    rows = duckdb.sql(
        f"select utility, month, count(*) n from read_parquet({files}, "
        "hive_partitioning=true) group by all order by 1"
    ).fetchall()
    dataset = store.dataset("silver/intervals")  # noqa: F841 (DuckDB finds it by name)
    assert (
        rows
        == duckdb.sql(
            "select utility, month, count(*) n from dataset group by all order by 1"
        ).fetchall()
    )
    # UTILITY1: 5 delivered rows + 6 quarter hours of its 1.5-hour gap interpolated (VEE E1)
    assert rows == [("UTILITY1", "2025-03", 11), ("UTILITY2", "2025-03", 5)]


def test_conservation_catches_a_silently_dropped_row_and_blocks(defs, folders, instance):
    register(lossy_utility())
    try:
        land_utility1(folders[0])
        (folders[0] / "UTILITY1").rename(folders[0] / "LOSSY")
        defs.resolve_job_def(REFERENCE_JOB).execute_in_process(instance=instance)
        result = _run(defs, instance, "LOSSY")
    finally:
        unregister("LOSSY")
    assert not result.success
    cons = _checks(result)[("silver/intervals", "conservation__accounting")]
    assert not cons.passed and cons.metadata["details"].value["unaccounted"] == 1
    # Downstream of the blocking ERROR check nothing was materialized.
    store = Warehouse(folders[1])
    assert not store.exists("gold/fact_readings", "LOSSY", "2025-03")
    assert not store.exists("experience/daily_summaries", "LOSSY", "2025-03")


def test_unreadable_drop_fails_run_and_leaves_warehouse_as_it_was(
    ran_alone, defs, folders, instance
):
    _, store = ran_alone
    before = store.read("bronze/service_points", "UTILITY1", "2025-03")
    folder = folders[0] / "UTILITY1" / "2025-03"
    (folder / "utility1_service_points.csv").write_text("SERVICE_POINT_ID\nSP-1")
    (folder / "utility1_meters.csv").write_text("meter_id,bogus\n")
    result = _run(defs, instance, "UTILITY1")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "DropError" in str(failure.event_specific_data.error.to_string())
    pd.testing.assert_frame_equal(
        store.read("bronze/service_points", "UTILITY1", "2025-03"), before
    )


def test_materializations_carry_column_lineage_of_carried_columns(ran):
    results, _ = ran
    lineage = {}
    for event in results["UTILITY1"].get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if "dagster/column_lineage" in mat.metadata:
            lineage["/".join(mat.asset_key.path)] = mat.metadata[
                "dagster/column_lineage"
            ].value.deps_by_column
    fact = lineage["gold/fact_readings"]
    assert [(d.asset_key.path, d.column_name) for d in fact["value"]] == [
        (["silver", "intervals"], "value")
    ]
    assert "date_key" not in fact  # derived here, not carried: no lineage claimed
    summary = lineage["experience/daily_summaries"]
    assert {"/".join(d.asset_key.path) for d in summary["local_date"]} >= {"silver/intervals"}


def test_checks_run_alone_on_a_table_the_utility_does_not_deliver_pass_and_say_so(world):
    """The UI's Materialize (the asset with its checks) for a New York partition of
    silver/payments: no payments are delivered, so each check passes at its own severity
    and says why, rather than being left skipped (which the UI paints red)."""
    # What the UI's Materialize button selects: the asset (its layer step) and its checks.
    recheck = dg.define_asset_job(
        "recheck",
        selection=dg.AssetSelection.assets(
            dg.AssetKey(["silver", "payments"])
        ).required_multi_asset_neighbors(),
        partitions_def=month_utility_partitions,
    )
    defs = dg.Definitions.merge(world.defs, dg.Definitions(jobs=[recheck]))
    result = defs.resolve_job_def("recheck").execute_in_process(
        instance=world.instance, partition_key=partition_key("UTILITY1", "2025-03")
    )
    evaluations = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey(["silver", "payments"])
    ]
    assert {e.check_name for e in evaluations} == {
        "schema__structure",
        "duplicates__primary_key",
        "orphans__bill_id",
        "range__values",
        "conservation__accounting",
        "reconcile__payments",
    }
    assert all(e.passed and e.metadata["delivered"].value is False for e in evaluations)
    assert {e.check_name: e.severity.value for e in evaluations}["reconcile__payments"] == "WARN"
