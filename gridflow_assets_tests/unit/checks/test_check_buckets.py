"""A table's checks evaluated meter bucket by meter bucket (``PartitionChecks``: a tally per
bucket, finished after) give what they give on the whole partition: verdict, severity,
failed count, total rows, failure rate and details, for every check of silver/intervals,
gold/fact_readings and bronze/readings, on a generated IESCO partition with faults added
(each check finds something). One bucket gives the sample rows too."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from gridflow_assets.checks import reconcile
from gridflow_assets.checks import vee as vee_checks
from gridflow_assets.checks.factory import PartitionChecks, _severity, plans_for, result_metadata
from gridflow_assets.checks.plan import CheckInput
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.gold import dims, facts
from gridflow_assets.registry import table
from gridflow_assets.registry.derive import conform_pl
from gridflow_assets.silver.adapters import get_utility, storage_spec
from gridflow_assets.silver.pipeline import Readings, meter_bucket, standardize
from gridflow_assets.store.frames import as_polars
from gridflow_assets.store.landing import find_drop, read_source
from gridflow_assets.store.warehouse import Warehouse

UTILITY, MONTH = "IESCO", "2025-03"
SPLITS = (1, 3)


def _ghost(df: pl.DataFrame, column: str, value, rows: pl.Expr) -> pl.DataFrame:
    return df.with_columns(
        pl.when(rows).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )


def _some_meters(df: pl.DataFrame, column: str, n: int) -> list[str]:
    """``n`` meters spread over the buckets (every third, from the sorted ids)."""
    return sorted(df[column].unique().to_list())[: 3 * n : 3]


def _repeated(df: pl.DataFrame, column: str, meters: list[str], per_meter: int) -> pl.DataFrame:
    """``df`` with the first rows of each of ``meters`` delivered twice."""
    copies = (
        df.filter(pl.col(column).is_in(meters))
        .group_by(column, maintain_order=True)
        .head(per_meter)
    )
    return pl.concat([df, copies.select(df.columns)])


def _buckets(df: pl.DataFrame, column: str, k: int) -> list[pl.DataFrame]:
    """The partition's meter buckets (every row of a meter in one), in stored order."""
    bucket = meter_bucket(column, k)
    return [df.filter(bucket == b) for b in range(k)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A generated IESCO partition: bronze readings, silver tables after VEE, gold
    readings and dims, each with faults added; the warehouse holds bronze and the
    reference dims."""
    root = tmp_path_factory.mktemp("check-buckets")
    generate_iesco(root / "landing", [MONTH], meters=18, faults="heavy")
    utility = get_utility(UTILITY)
    drop = find_drop(root / "landing", UTILITY, MONTH)
    bronze = {name: read_source(drop, src) for name, src in utility.sources.items()}
    readings = conform_pl(as_polars(bronze["readings"]), storage_spec("bronze/readings", UTILITY))
    meter_col = utility.meter_column
    small = {n: as_polars(f) for n, f in bronze.items() if n != "readings"}

    def fetch(where):
        return readings if where is None else readings.filter(where)

    silver = standardize(
        utility, MONTH, small, Readings("readings", readings.height, fetch), per_bucket=10**9
    )
    iv = silver.tables["intervals"]
    fact = facts.fact_readings(iv, utility.timezone)

    # bronze: exact repeats, a missing source file, a row number out of range
    meters = _some_meters(readings, meter_col, 4)
    b = _repeated(readings, meter_col, meters, 2)
    first = pl.col(meter_col).is_in(meters[:3]) & (pl.int_range(pl.len()).over(meter_col) == 5)
    b = _ghost(b, "_source_file", None, first)
    b = _ghost(b, "_source_row", -1, first)

    # silver intervals: repeated keys, nulls in a required column, an extra column (a
    # frame-wide schema failure), values out of range, a service point and meters unknown
    meters = _some_meters(iv, "meter_id", 5)
    s = _repeated(iv, "meter_id", meters, 3)
    nth = pl.int_range(pl.len()).over("meter_id")
    s = _ghost(s, "unit", None, pl.col("meter_id").is_in(meters) & (nth == 7))
    s = _ghost(s, "interval_s", -900, pl.col("meter_id").is_in(meters[1:]) & (nth == 9))
    s = _ghost(s, "service_point_id", "SP-GHOST", pl.col("meter_id").is_in(meters) & (nth < 4))
    s = s.with_columns(extra=pl.lit(1))
    gone = meters[:2]
    published = {
        "silver/rejects": silver.rejects,
        "silver/service_points": silver.tables["service_points"],
        "silver/meters": silver.tables["meters"].filter(~pl.col("meter_id").is_in(gone)),
    }

    # gold readings: repeated keys, a day and meters unknown to the dims
    g = _repeated(fact, "meter_id", meters, 2)
    g = _ghost(g, "date_key", 21000101, pl.col("meter_id").is_in(meters[2:]) & (nth == 3))
    dim_sp = dims.dim_service_point(dims.with_location(silver.tables["service_points"]))
    # gold/dim_meter is built after the buckets: written once they are all tallied
    dim_meter = dims.dim_meter(silver.tables["meters"], fact, UTILITY).filter(
        ~pl.col("meter_id").is_in(gone)
    )
    written = {
        ("bronze/readings", UTILITY, MONTH): readings,
        ("gold/dim_utility", None, None): dims.dim_utility(),
        ("gold/dim_date", None, None): dims.dim_date(),
        ("gold/dim_time", None, None): dims.dim_time(),
    }
    return {
        "root": root,
        "written": written,
        "silver": silver,
        "tables": {
            "bronze/readings": (b, meter_col, {}),
            "silver/intervals": (s, "meter_id", published),
            "gold/fact_readings": (g, "meter_id", {"gold/dim_service_point": dim_sp}),
        },
        "later": {"gold/fact_readings": ("gold/dim_meter", dim_meter)},
    }


def _store(world) -> Warehouse:
    """A warehouse of its own holding the landed readings and the reference dims."""
    root = world["root"]
    store = Warehouse(root / f"warehouse-{len(list(root.iterdir()))}")
    for (key, utility, month), frame in world["written"].items():
        store.frame_writer(key, frame, utility, month, spec=storage_spec(key, utility))
    return store


def _plain(value):
    return getattr(value, "value", value)


def _evaluate(world, key: str, frames: list[pl.DataFrame], bucketed: bool) -> dict:
    """Each check's severity and metadata over ``frames`` (the partition's buckets)."""
    store = _store(world)
    _, _, published = world["tables"][key]
    checks = PartitionChecks(store, key, UTILITY, MONTH, plans_for(table(key)), published, bucketed)
    for frame in frames:
        checks.add(frame)
    later = world["later"].get(key)
    if later is not None:  # a parent built after the buckets, before the report
        assert not store.exists(later[0], UTILITY, MONTH)
        store.frame_writer(later[0], later[1], UTILITY, MONTH)
    out = {}
    for plan, res in checks.results():
        meta = {k: _plain(v) for k, v in result_metadata(plan, res, UTILITY, MONTH).items()}
        out[plan.name] = {"passed": res.passed, "severity": _severity(plan, res).value, **meta}
    return out


def _without_samples(results: dict) -> dict:
    return {
        name: {k: v for k, v in r.items() if k not in ("sample", "sample_rows")}
        for name, r in results.items()
    }


@pytest.mark.parametrize("key", ["bronze/readings", "silver/intervals", "gold/fact_readings"])
@pytest.mark.parametrize("k", SPLITS)
def test_buckets_give_the_whole_partitions_results(world, key, k):
    frame, meter, _ = world["tables"][key]
    buckets = _buckets(frame, meter, k)
    assert len(buckets) == k and all(b.height for b in buckets)
    stored = pl.concat(buckets)  # the partition as stored: its buckets one after another
    whole = _evaluate(world, key, [stored], bucketed=False)
    bucketed = _evaluate(world, key, buckets, bucketed=True)
    assert set(whole) == {p.name for p in plans_for(table(key))}
    if k == 1:
        assert bucketed == whole
    else:
        assert _without_samples(bucketed) == _without_samples(whole)
    # the faults are found: the figures compared are not zeros
    failed = {name for name, r in whole.items() if r["failed_count"]}
    expected = {
        "bronze/readings": {"schema__structure", "duplicates__exact_rows", "range__values"},
        "silver/intervals": {
            "schema__structure",
            "duplicates__primary_key",
            "orphans__service_point_id",
            "orphans__meter_id",
            "range__values",
            "conservation__accounting",
            "vee__validation",
            "vee__coverage",
            "vee__estimation",
        },
        "gold/fact_readings": {
            "duplicates__primary_key",
            "orphans__date_key",
            "orphans__meter_id",
            "range__values",
        },
    }[key]
    assert expected <= failed, expected - failed
    assert all(r["total_rows"] for r in whole.values())


def test_a_frame_wide_schema_failure_counts_once(world):
    """An extra column is one failure of the partition, not one per bucket."""
    frame, meter, _ = world["tables"]["silver/intervals"]
    whole = _evaluate(world, "silver/intervals", [frame], bucketed=False)["schema__structure"]
    bucketed = _evaluate(world, "silver/intervals", _buckets(frame, meter, 3), bucketed=True)
    details = bucketed["schema__structure"]["details"]
    assert details["silver/intervals structure: column_in_schema"] == 1
    assert details == whole["details"] and whole["failed_count"] > 1


def test_a_split_that_separates_a_meters_rows_is_caught(world):
    """Buckets must hold whole meters: cut the rows anywhere else and a meter's repeated
    keys fall into two buckets, which the tallies miss (so the equality above is a claim
    about meter buckets, on figures that differ when that is broken)."""
    frame, _, _ = world["tables"]["silver/intervals"]
    repeats = frame.filter(frame.select("meter_id", "channel", "start_utc").is_duplicated())
    cut = frame.height - repeats.height // 2  # some copies (appended last) on each side
    halves = [frame.slice(0, cut), frame.slice(cut)]
    whole = _evaluate(world, "silver/intervals", [frame], bucketed=False)
    split = _evaluate(world, "silver/intervals", halves, bucketed=True)
    assert whole["duplicates__primary_key"]["failed_count"] > 0
    assert split["duplicates__primary_key"]["failed_count"] == 0


def test_a_second_bucket_is_refused_when_a_check_needs_the_whole_partition(world):
    """silver/bills' reconciliation reads the bills whole: its checks take one bucket."""
    bills = world["silver"].tables["bills"]
    checks = PartitionChecks(
        _store(world), "silver/bills", UTILITY, MONTH, plans_for(table("silver/bills"))
    )
    checks.add(bills.head(3))
    with pytest.raises(ValueError, match="reconcile__bill_arithmetic"):
        checks.add(bills.tail(3))


def test_billed_units_read_the_intervals_bucket_by_bucket(world, tmp_path):
    """The bills' units against the intervals read one meter bucket at a time from a
    bucketed partition: the same result as against the intervals whole."""
    silver = world["silver"]
    iv, bills = silver.tables["intervals"], silver.tables["bills"]
    # bills off their readings by 100 units, spread over the meters (and the buckets)
    off = pl.int_range(pl.len()) % 4 == 0
    bills = bills.with_columns(
        units_consumed=pl.when(off).then(pl.col("units_consumed") + 100).otherwise("units_consumed")
    )
    store = Warehouse(tmp_path / "warehouse")
    store.write_buckets("silver/intervals", _buckets(iv, "meter_id", 3), UTILITY, MONTH)
    assert len(store.bucket_rows("silver/intervals", UTILITY, MONTH)) == 3
    plan = next(p for p in plans_for(table("silver/bills")) if p.name == "reconcile__billed_units")
    spec = storage_spec("silver/bills", UTILITY)
    from_buckets = plan.run(CheckInput(store, spec, bills, UTILITY, MONTH))
    whole = reconcile.billed_units(bills, iv)
    assert from_buckets.failed_count == whole.failed_count > 0
    assert from_buckets.details == whole.details
    assert from_buckets.total == whole.total == bills.height
    assert from_buckets.sample.equals(whole.sample)


def test_a_key_without_the_meter_is_counted_across_buckets():
    """A service point's day (experience/daily_summaries' key) may come from meters in
    several buckets: its repeats are found across them, as in the whole frame."""
    key = "experience/daily_summaries"
    plan = next(p for p in plans_for(table(key)) if p.name == "duplicates__primary_key")
    sp = ["SP1", "SP2", "SP1", "SP3", "SP1", "SP2", "SP4", "SP3", None]
    frame = pl.DataFrame(
        {
            "service_point_id": sp,
            "local_date": [date(2025, 3, 1)] * len(sp),
            "measurement": "kWh",
            "direction": "delivered",
            "interval_s": 3600,
        }
    )

    def inp(df, bucketed):
        return CheckInput(None, table(key), df, UTILITY, MONTH, bucketed=bucketed)

    whole = plan.run(inp(frame, False))
    thirds = [frame.slice(0, 3), frame.slice(3, 3), frame.slice(6)]
    across = plan.finish(inp(None, True), [plan.tally(inp(t, True)) for t in thirds])
    assert (across.failed_count, across.details) == (whole.failed_count, whole.details)
    assert whole.failed_count == 4 and whole.details == {"duplicated_keys": 3}
    assert across.sample.equals(whole.sample)
    # buckets that do not say they are buckets keep only the keys each repeats: a miss
    alone = plan.finish(inp(None, False), [plan.tally(inp(t, False)) for t in thirds])
    assert alone.failed_count < whole.failed_count


def _texts_held(frame: pl.DataFrame, column: str, width: int) -> int:
    """How many texts of ``width`` characters the memory behind ``column`` of ``frame``
    holds: a text column keeps the buffers its rows' text sits in, which for rows taken
    from a larger frame are the larger frame's."""
    arrow = frame[column].to_arrow(compat_level=pl.CompatLevel.newest())
    return sum(b.size for b in arrow.buffers()[2:] if b is not None) // width


def test_a_vee_sample_keeps_only_its_own_rows():
    """A bucket's VEE tally is kept until the last bucket is checked: its sample must hold
    its ten rows, not the text of the bucket's rows behind them (which made the silver
    step's memory grow with the partition's buckets)."""
    n = 50_000
    meters = [f"IESCO-METER-{i // 100:09d}" for i in range(n)]  # longer than inline text
    bucket = pl.DataFrame(
        {
            "meter_id": meters,
            "value": pl.Series(range(n), dtype=pl.Float64),
            "quality_code": [8] * n,
            "rule_ids": ["E1"] * n,
            "estimation_method": ["linear"] * n,
            "is_estimated": [True] * n,
            "source_row": pl.Series(range(n), dtype=pl.Int64),
        }
    )
    sample = vee_checks.estimation_tally(bucket)["sample"]
    rows = vee_checks.SAMPLE_ROWS
    assert sample["meter_id"].to_list() == meters[:rows]
    assert sample["value"].to_list() == [float(i) for i in range(rows)]
    assert _texts_held(sample, "meter_id", len(meters[0])) == rows
