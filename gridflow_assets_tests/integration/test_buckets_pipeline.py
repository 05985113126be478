"""A partition run in meter buckets (``GRIDFLOW_CHUNK_READINGS`` below its readings) gives
what the same partition run whole gives: every table's rows, and every check's verdict,
severity, counts and details. The buckets are what bounds a large partition's memory;
this is the claim that they change nothing else."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gridflow_assets.defs.definitions import PARTITION_JOB, REFERENCE_JOB, build_defs
from gridflow_assets.defs.instance import ensure_instance_yaml
from gridflow_assets.dq.profile import profile_partition
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.registry import TABLES
from gridflow_assets.registry.partitions import partition_key
from gridflow_assets.silver.pipeline import CHUNK_ENV
from gridflow_assets.store.warehouse import Warehouse

MONTH = "2025-03"


def _run(root, landing, per_bucket: int | None, monkeypatch):
    """The partition run into its own warehouse; returns the store and the check results."""
    if per_bucket is not None:
        monkeypatch.setenv(CHUNK_ENV, str(per_bucket))
    warehouse = root / f"warehouse-{per_bucket}"
    defs = build_defs(str(landing), str(warehouse), str(root / "reports"))
    home = root / f"home-{per_bucket}"
    ensure_instance_yaml(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("utility", ["IESCO"])
        assert defs.resolve_job_def(REFERENCE_JOB).execute_in_process(instance=instance).success
        result = defs.resolve_job_def(PARTITION_JOB).execute_in_process(
            instance=instance, partition_key=partition_key("IESCO", MONTH), raise_on_error=False
        )
    monkeypatch.delenv(CHUNK_ENV, raising=False)
    checks = {
        ("/".join(e.asset_key.path), e.check_name): (
            e.passed,
            e.severity.value,
            {k: _plain(v) for k, v in e.metadata.items() if k not in ("sample", "sample_rows")},
        )
        for e in result.get_asset_check_evaluations()
    }
    return Warehouse(warehouse), checks, result.success


def _plain(value):
    return getattr(value, "value", value)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("buckets")
    landing = root / "landing"
    generate_iesco(landing, [MONTH], meters=24, faults="heavy")
    with pytest.MonkeyPatch.context() as mp:
        whole = _run(root, landing, None, mp)
        readings = whole[0].row_count("bronze/readings", "IESCO", MONTH)
        bucketed = _run(root, landing, readings // 4 + 1, mp)
    return whole, bucketed


def test_the_bucketed_run_is_bucketed(runs):
    (whole, _, ok_whole), (bucketed, _, ok_bucketed) = runs
    assert ok_whole and ok_bucketed
    assert whole.bucket_rows("silver/intervals", "IESCO", MONTH) == [
        whole.row_count("silver/intervals", "IESCO", MONTH)
    ]
    assert len(bucketed.bucket_rows("silver/intervals", "IESCO", MONTH)) == 4
    # bronze wrote the readings in the same 4 meter buckets as it read the file
    assert len(bucketed.bucket_rows("bronze/readings", "IESCO", MONTH)) == 4
    assert len(whole.bucket_rows("bronze/readings", "IESCO", MONTH)) == 1


def test_every_table_holds_the_same_rows(runs):
    (whole, _, _), (bucketed, _, _) = runs
    keys = [k for k, spec in TABLES.items() if spec.partitioned and spec.layer != "dq"]
    compared = 0
    for key in keys:
        a = whole.read_pl(key, "IESCO", MONTH)
        b = bucketed.read_pl(key, "IESCO", MONTH)
        assert (a is None) == (b is None), key
        if a is None:
            continue
        assert_frame_equal(_sorted(a), _sorted(b), check_exact=False, rel_tol=1e-12), key
        compared += 1
    assert compared > 15


def test_every_check_gives_the_same_result(runs):
    (_, whole, _), (_, bucketed, _) = runs
    assert whole.keys() == bucketed.keys() and len(whole) > 100
    for key, result in whole.items():
        assert bucketed[key] == result, key
    # the drop has faults for the checks to find
    assert any(not passed for passed, _, _ in whole.values())


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(df.columns, nulls_last=True)


def test_the_dq_profile_is_the_same(runs):
    """The scorecard's facts (accounting, orphans, completeness, coverage, value
    statistics, flags) read a bucketed partition bucket by bucket and find what they find in
    the partition written whole."""
    (whole, _, _), (bucketed, _, _) = runs
    a = profile_partition(whole, "IESCO", MONTH)
    b = profile_partition(bucketed, "IESCO", MONTH)
    assert a["accounting"] and a["completeness"] and a["orphans"]
    assert a == b
