"""DQ building blocks on hand-made frames: no Dagster run needed."""

import pandas as pd
import polars as pl
import pytest

from gridflow_assets.dq import assess, svg
from gridflow_assets.dq.history import sample_keys
from gridflow_assets.dq.html import render_html
from gridflow_assets.dq.profile import value_stats
from gridflow_assets.dq.render import render
from gridflow_assets.dq.snapshot import stored_snapshot
from gridflow_assets.dq.text import text_table
from gridflow_assets.registry.derive import conform
from gridflow_assets.registry.dq import CHECK_RESULTS, DQ, PARTITION_SCORECARD
from gridflow_assets.silver.adapters import get_utility, register, unregister
from gridflow_assets.silver.adapters.base import Utility
from gridflow_assets.silver.vee.coverage import month_coverage
from gridflow_assets.silver.vee.grid import nominal_interval
from gridflow_assets.store.warehouse import Warehouse

NY = "America/New_York"


def _readings(
    day: str,
    n: int,
    interval_s: int = 900,
    channel: str = "KWH 15",
    kind: str = "interval",
    meter: str = "U:M1",
    values=None,
    quality=0,
    measurement="kWh",
    direction="delivered",
) -> pd.DataFrame:
    start = pd.Timestamp(day, tz=NY)
    starts = pd.date_range(start, periods=n, freq=f"{interval_s}s").tz_convert("UTC")
    return pd.DataFrame(
        {
            "meter_id": meter,
            "channel": channel,
            "measurement": measurement,
            "direction": direction,
            "reading_kind": kind,
            "interval_s": interval_s,
            "unit": measurement,
            "value": values if values is not None else [1.0] * n,
            "quality_code": quality,
            "start_utc": starts,
            "end_utc": starts + pd.Timedelta(seconds=interval_s),
            "local_date": pd.Timestamp(day),
            "source_row": pd.array(range(1, n + 1), "Int64"),
        }
    )


def test_sample_rows_stored_as_data_read_back_as_text_cells():
    rows = [{"service_point_id": "U:SP-1", "rows": 3}, {"service_point_id": "a|b", "rows": None}]
    assert sample_keys(rows) == [
        {"service_point_id": "U:SP-1", "rows": "3"},
        {"service_point_id": "a|b", "rows": "None"},
    ]
    assert sample_keys([]) == [] and sample_keys(None) == []


def test_coverage_counts_a_spring_forward_day_as_23_hours():
    # 2025-03-09 in New York has 23 hours: 92 quarter hours, all delivered.
    full = _readings("2025-03-09", 92)
    cov = month_coverage(full, "2025-03", NY)
    assert cov["interval_coverage"] == 1.0 and cov["channels_with_gaps"] == 0
    assert cov["day_coverage"] == pytest.approx(1 / 31)
    gap = month_coverage(full.drop(index=[10, 11]), "2025-03", NY)
    assert gap["interval_coverage"] == pytest.approx(90 / 92)
    assert gap["channels_with_gaps"] == 1


def test_coverage_counts_delivered_readings_not_vee_estimates():
    full = _readings("2025-03-10", 96)
    estimated = full.index.isin([10, 11])  # VEE added these two: no source row
    full["source_row"] = full.source_row.mask(estimated)
    cov = month_coverage(full, "2025-03", NY)
    assert cov["interval_coverage"] == pytest.approx(94 / 96)
    assert cov["channels_with_gaps"] == 1


def test_daily_reads_of_23_and_24_hours_are_one_reading_type():
    dst = _readings("2025-03-09", 1, interval_s=82_800, channel="1")
    normal = _readings("2025-03-10", 1, interval_s=86_400, channel="1")
    both = pd.concat([dst, normal], ignore_index=True)
    nominal = pl.from_pandas(both).select(nominal_interval(pl.col("interval_s"))).to_series()
    assert nominal.to_list() == [86_400, 86_400]
    stats = value_stats(pl.from_pandas(both))
    assert len(stats) == 1 and stats[0]["rows"] == 2 and stats[0]["interval_s"] == 86_400
    assert month_coverage(both, "2025-03", NY)["interval_coverage"] == 1.0


def test_value_stats_never_mix_units_and_never_sum_registers():
    kwh = _readings("2025-03-04", 4, values=[1.0, 2.0, 3.0, 500.0], quality=[0, 0, 0, 10])
    kvarh = _readings("2025-03-04", 2, measurement="kVArh", channel="KVARH", values=[0.1, 0.3])
    register_ = _readings(
        "2025-03-04", 1, interval_s=86_400, kind="register", channel="R", values=[99_000.0]
    )
    stats = {
        (s["measurement"], s["reading_kind"]): s
        for s in value_stats(pl.from_pandas(pd.concat([kwh, kvarh, register_], ignore_index=True)))
    }
    assert set(stats) == {("kWh", "interval"), ("kVArh", "interval"), ("kWh", "register")}
    # The failed validation (quality 10) is counted, not used.
    kwh_stats = stats[("kWh", "interval")]
    assert kwh_stats == {**kwh_stats, "rows": 4, "failed_validation": 1, "max": 3.0, "sum": 6.0}
    assert stats[("kVArh", "interval")]["sum"] == pytest.approx(0.4)
    assert stats[("kWh", "register")]["sum"] is None


def _check(passed: bool, severity: str = "WARN", kind: str = "orphans") -> dict:
    return {
        "asset": "silver/intervals",
        "check": f"{kind}__x",
        "kind": kind,
        "passed": passed,
        "severity": severity,
        "failed_count": 0 if passed else 2,
        "details": {},
        "description": "d",
    }


@pytest.mark.parametrize(
    ("checks", "issues", "expected"),
    [
        ([_check(True)], [], assess.READY),
        ([_check(False)], [], assess.WARNINGS),
        ([_check(True)], [{"severity": "warning"}], assess.WARNINGS),
        ([_check(False, "ERROR", "conservation")], [{"severity": "blocking"}], assess.BLOCKED),
    ],
)
def test_status_follows_severity(checks, issues, expected):
    assert assess.status_of(issues, checks) == expected


def test_a_failed_error_check_blocks_and_is_ours_to_fix():
    profile = {"missing_tables": [], "accounting": []}
    issues = assess.pipeline_issues(
        profile, [_check(False, "ERROR", "conservation")], expected=set()
    )
    assert issues[0]["severity"] == "blocking" and issues[0]["audience"] == "pipeline"
    missing = assess.pipeline_issues(profile, [], expected={("silver/intervals", "range__v")})
    assert missing[0]["severity"] == "warning" and "no result" in missing[0]["text"]


def test_trend_compares_with_the_previous_month():
    t = assess.Thresholds()

    def card(not_kept: float, failing: int) -> dict:
        return {
            "measures": {"not_kept_share": not_kept},
            "checks": {"failed_warn": failing, "failed_error": 0},
        }

    assert assess.trend(card(0.1, 1), None, t) == ("first month", [])
    assert assess.trend(card(0.02, 1), card(0.10, 1), t)[0] == "better"
    assert assess.trend(card(0.10, 1), card(0.102, 1), t) == ("stable", [])
    worse, notes = assess.trend(card(0.02, 3), card(0.02, 1), t)
    assert worse == "worse" and notes == ["failing checks 1 → 3"]


def test_a_utility_can_override_thresholds():
    u1 = get_utility("UTILITY1")
    register(
        Utility(
            "SAMPLED",
            "Sampled days",
            "US",
            NY,
            "USD",
            "sp",
            u1.sources,
            u1.to_silver,
            settings={"dq": {"day_coverage_min": 0.05}},
        )
    )
    try:
        assert assess.Thresholds().for_utility("SAMPLED").day_coverage_min == 0.05
    finally:
        unregister("SAMPLED")
    assert assess.Thresholds().for_utility("NOBODY") == assess.Thresholds()


def test_dq_tables_are_declared_with_keys_and_ranges():
    assert set(DQ) == {
        "check_results",
        "reference_checks",
        "partition_scorecard",
        "deliveries",
        "signoffs",
    }
    assert CHECK_RESULTS.primary_key == ("run_id", "evaluation_id")
    # partitioned by utility × month like the data; the reference tables' checks apart
    assert CHECK_RESULTS.partitioned and PARTITION_SCORECARD.partitioned
    assert not DQ["reference_checks"].partitioned
    assert DQ["deliveries"].append_only and DQ["signoffs"].append_only
    assert PARTITION_SCORECARD.column("status").isin == (
        assess.READY,
        assess.WARNINGS,
        assess.BLOCKED,
    )
    empty = pd.DataFrame({c: [] for c in PARTITION_SCORECARD.column_names})
    assert list(conform(empty, PARTITION_SCORECARD).columns) == PARTITION_SCORECARD.column_names


def test_text_table_right_aligns_numbers():
    out = text_table(["unit", "rows"], [["kWh", "1,234"], ["kVArh", "5"]]).splitlines()
    assert out[2] == "kWh    1,234" and out[3] == "kVArh      5"


def test_svg_escapes_labels_and_keeps_tiny_counts_visible():
    chart = svg.hbars(
        [("<b>x</b>", [("DUP_EXACT", 30_000), ("INVALID_ID", 1)])],
        svg.color_map(["DUP_EXACT", "INVALID_ID"]),
        "t",
    )
    assert "<b>x</b>" not in chart and "&lt;b&gt;x&lt;/b&gt;" in chart
    assert chart.count("<rect") == 2 and "30k" in chart
    assert svg.compact(1_096) == "1.1k" and svg.compact(14) == "14"


def test_empty_warehouse_renders_every_format(tmp_path):
    snap = stored_snapshot(Warehouse(tmp_path))
    assert snap["partitions"] == [] and snap["states"] == [] and snap["queue"] == []
    assert "No partitions" in render(snap, "text")
    assert "No partitions" in render_html(snap)
    assert render(snap, "markdown").startswith("# gridflow DQ snapshot")


def test_stored_history_of_an_earlier_layout_is_read_again_from_the_instance():
    """A DQ table written by an earlier gridflow (a registry column missing) counts as no
    stored history, so the refresh reads the instance whole and rewrites every partition;
    today's layout is read as stored."""
    from gridflow_assets.dq.checklist import CHECK_RESULT_COLUMNS, stored_history
    from gridflow_assets.registry.dq import CHECK_RESULTS

    row = {c: None for c in CHECK_RESULTS.column_names}
    row.update(run_id="r1", evaluation_id=1, asset="silver/meters", check_name="x")
    today = pl.DataFrame([{**row, "utility": "IESCO", "month": "2025-06"}])

    class Store:
        def __init__(self, frame):
            self.frame = frame

        def read_table(self, key):
            return self.frame if key == CHECK_RESULTS.key else None

    stored = stored_history(Store(today))
    assert list(stored.columns) == CHECK_RESULT_COLUMNS
    assert stored[["utility_id", "month", "run_id"]].values.tolist() == [["IESCO", "2025-06", "r1"]]
    assert stored_history(Store(today.drop("violation"))).empty
