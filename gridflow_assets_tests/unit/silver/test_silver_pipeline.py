"""A partition run in meter buckets gives the same silver rows, rejects and VEE counts as
the whole partition at once (``silver.pipeline``), for every utility, on drops with
heavy faults: duplicates of the same meter and time land in the same bucket whatever the
spelling of the meter id."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.generate.ny import generate_utility1, generate_utility2
from gridflow_assets.silver.adapters import get_utility, skeleton
from gridflow_assets.silver.pipeline import (
    CHUNK_ENV,
    Readings,
    chunk_readings,
    meter_bucket,
    readings_source,
    standardize,
)
from gridflow_assets.store.landing import find_drop, read_source

CASES = {
    "UTILITY1": (generate_utility1, "2025-03", 15),
    "UTILITY2": (generate_utility2, "2025-03", 15),
    "IESCO": (generate_iesco, "2025-06", 25),
}


def _partition(tmp_path, utility: str):
    gen, month, meters = CASES[utility]
    gen(tmp_path, [month], meters=meters, faults="heavy")
    u = get_utility(utility)
    drop = find_drop(tmp_path, utility, month)
    bronze = {name: read_source(drop, src) for name, src in u.sources.items()}
    source = readings_source(u)
    frame = bronze.pop(source)
    readings = Readings(
        source, len(frame), lambda where: frame if where is None else frame.filter(where)
    )
    return u, month, bronze, readings


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(df.columns, nulls_last=True)


@pytest.mark.parametrize("utility", sorted(CASES))
def test_buckets_give_the_whole_partitions_result(tmp_path, utility):
    u, month, small, readings = _partition(tmp_path, utility)
    whole = standardize(u, month, small, readings, per_bucket=readings.rows)
    bucketed = standardize(u, month, small, readings, per_bucket=readings.rows // 4 + 1)
    assert (whole.buckets, bucketed.buckets) == (1, 4)
    assert set(whole.tables) == set(bucketed.tables)
    for name, df in whole.tables.items():
        assert_frame_equal(_sorted(df), _sorted(bucketed.tables[name]))
    assert_frame_equal(_sorted(whole.rejects), _sorted(bucketed.rejects))
    assert whole.vee_counts == bucketed.vee_counts
    assert whole.delivered_rows == bucketed.delivered_rows
    # the drop has what makes bucketing hard: duplicates and rejects of readings
    reasons = set(whole.rejects.filter(pl.col("target_table") == "intervals")["reason_code"])
    assert "DUP_EXACT" in reasons


def test_buckets_stored_by_bronze_are_read_as_they_are(tmp_path):
    """When bronze was written in buckets, silver takes them one by one (no filter scan)."""
    u, month, small, readings = _partition(tmp_path, "UTILITY2")
    whole = standardize(u, month, small, readings, per_bucket=readings.rows)
    frame = readings.fetch(None)
    stored = frame.with_columns(_b=meter_bucket(u.meter_column, 3)).partition_by(
        "_b", include_key=False, maintain_order=True
    )
    taken = []

    def fetch(where):
        raise AssertionError("a stored bucket is read, not filtered from the scan")

    def buckets():
        for part in stored:
            taken.append(len(part))
            yield part

    bucketed = standardize(
        u, month, small, Readings(readings.source, len(frame), fetch, buckets, len(stored))
    )
    assert bucketed.buckets == 3 and taken == [len(p) for p in stored]
    assert_frame_equal(_sorted(whole.tables["intervals"]), _sorted(bucketed.tables["intervals"]))
    assert_frame_equal(_sorted(whole.rejects), _sorted(bucketed.rejects))
    assert whole.vee_counts == bucketed.vee_counts


def test_spellings_of_one_meter_share_a_bucket():
    for spellings in (
        ["MTR-00001234", " mtr-00001234", "\ufeffMTR-00001234 ", "MTR 00001234"],
        ["0123456789", "123456789", " 00123456789"],
    ):
        ids = pl.DataFrame({"m": spellings})
        assert ids.select(meter_bucket("m", 7))["m"].n_unique() == 1, spellings
    spread = pl.DataFrame({"m": [f"MTR-{i:08d}" for i in range(1000)]})
    counts = spread.select(meter_bucket("m", 4))["m"].value_counts()["count"]
    assert counts.min() > 150  # the hash spreads meters over the buckets


def test_chunk_size_from_the_environment(monkeypatch):
    monkeypatch.setenv(CHUNK_ENV, "250000")
    assert chunk_readings() == 250_000
    monkeypatch.setenv(CHUNK_ENV, "lots")
    with pytest.raises(ValueError, match=CHUNK_ENV):
        chunk_readings()


@pytest.mark.parametrize("utility", sorted(CASES))
def test_service_points_and_meters_are_built_once(tmp_path, monkeypatch, utility):
    """Later buckets take the first bucket's service points and meters (building them
    from the whole meters file per bucket made silver quadratic in the meters)."""
    u, month, small, readings = _partition(tmp_path, utility)
    calls = []
    monkeypatch.setattr(skeleton, "build_table", _counted(skeleton.build_table, calls))
    out = standardize(u, month, small, readings, per_bucket=readings.rows // 4 + 1)
    built = [name for name in calls if name in ("service_points", "meters")]
    assert out.buckets == 4 and sorted(built) == ["meters", "service_points"]


def _counted(build, calls: list):
    def wrapper(table, *args, **kwargs):
        calls.append(table.target)
        return build(table, *args, **kwargs)

    return wrapper
