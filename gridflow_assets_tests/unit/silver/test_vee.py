"""VEE on small series with one defect each: the exact flags, estimates and audit trail.

Every frame here is a silver/intervals partition as an adapter hands it over (built with
pandas for readability, handed over as Polars); the tests call ``apply_vee`` (the step
``silver_tables`` runs after every adapter) and the ``vee__`` check rules directly, no Dagster
run needed, and read the results through ``.to_pandas()``.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import polars as pl
import pytest

from gridflow_assets.checks import vee as vee_checks
from gridflow_assets.checks.factory import plans_for
from gridflow_assets.domain.codes import REASON_CODES, reason_code_table
from gridflow_assets.domain.localday import local_day_seconds, local_day_seconds_expr, month_days
from gridflow_assets.domain.quality import ALL_CODES, ESTIMATES, Quality
from gridflow_assets.experience.daily import daily_summaries
from gridflow_assets.registry import table
from gridflow_assets.registry.derive import conform, conform_pl
from gridflow_assets.silver.vee import (
    ESTIMATION_RULES,
    ROW_RULES,
    VALIDATION_RULES,
    VeeInput,
    apply_vee,
    coverage,
    delivered_count,
)
from gridflow_assets.silver.vee import config as vee_config
from gridflow_assets.silver.vee.coverage import month_coverage
from gridflow_assets.store.frames import as_polars_typed

NY = "America/New_York"
PK = "Asia/Karachi"
KWH15 = "KWH 15 Minute Interval Read Interval"
NET15 = "KWH Net 15 Minute Interval Read Interval"


def series(
    first_local: str,
    n: int,
    step_s: int,
    tz: str,
    values,
    *,
    meter: str = "U:M1",
    channel: str = KWH15,
    direction: str = "delivered",
    kind: str = "interval",
    utility: str = "UTILITY1",
    drop=(),
    quality=0,
    register=None,
    status=None,
) -> pd.DataFrame:
    """``n`` consecutive intervals from a local wall time, stepping in real (UTC) time so
    DST days come out with 23 or 25 hours; ``drop`` removes intervals by position."""
    start = pd.Timestamp(first_local).tz_localize(tz).tz_convert("UTC") + pd.to_timedelta(
        np.arange(n) * step_s, unit="s"
    )
    values = np.broadcast_to(np.asarray(values, dtype="float64"), (n,))
    df = pd.DataFrame(
        {
            "utility_id": utility,
            "meter_id": meter,
            "service_point_id": "U:SP1",
            "service_point_rule": "DELIVERED",
            "channel": channel,
            "measurement": "kWh",
            "direction": direction,
            "reading_kind": kind,
            "interval_s": step_s,
            "unit": "kWh",
            "start_utc": start,
            "end_utc": start + pd.Timedelta(seconds=step_s),
            "local_date": start.tz_convert(tz).tz_localize(None).normalize(),
            "value": values,
            "value_original": [f"{v:g}" for v in values],
            "quality_code": quality,
            "quality_code_original": "VAL",
            "status": status,
            "register_kwh": np.nan if register is None else register,
            "voltage_v": np.nan,
            "current_a": np.nan,
            "power_factor": np.nan,
            "frequency_hz": np.nan,
            "last_update_utc": pd.NaT,
            "rule_ids": None,
            "is_orphan_service_point": False,
            "is_orphan_meter": False,
            "source_file": "f.csv",
            "source_row": np.arange(1, n + 1),
        }
    )
    return df.drop(index=list(drop)).reset_index(drop=True)


def daily(
    first_day: str, values, *, channel: str, kind: str = "interval", meter="U:M2", quality=0
) -> pd.DataFrame:
    """UTILITY2-style daily reads: one local day each, 23/24/25 hours long."""
    days = pd.date_range(first_day, periods=len(values), freq="D")
    start = days.tz_localize(NY).tz_convert("UTC")
    end = (days + pd.Timedelta(days=1)).tz_localize(NY).tz_convert("UTC")
    frame = series(
        first_day,
        len(values),
        86_400,
        NY,
        values,
        meter=meter,
        channel=channel,
        kind=kind,
        utility="UTILITY2",
        quality=quality,
    )
    return frame.assign(
        start_utc=start,
        end_utc=end,
        local_date=days,
        interval_s=((end - start).total_seconds()).astype(int),
    )


def vee(
    df: pd.DataFrame,
    utility: str = "UTILITY1",
    month: str = "2025-03",
    tz: str = NY,
    service_points: pd.DataFrame | None = None,
) -> pl.DataFrame:
    sp = None if service_points is None else pl.from_pandas(service_points)
    out = apply_vee(pl.from_pandas(df), sp, VeeInput(utility, month, tz)).intervals
    # What VEE writes is what silver/intervals declares, types included.
    assert out.schema == conform_pl(out, table("silver/intervals")).schema
    return out


def run(
    df: pd.DataFrame,
    utility: str = "UTILITY1",
    month: str = "2025-03",
    tz: str = NY,
    service_points: pd.DataFrame | None = None,
) -> pd.DataFrame:
    return vee(df, utility, month, tz, service_points).to_pandas()


def added(out: pd.DataFrame) -> pd.DataFrame:
    return out[out.source_row.isna()].sort_values("start_utc").reset_index(drop=True)


def ramp(n: int) -> np.ndarray:
    return 1.0 + 0.01 * np.arange(n)


# ------------------------------------------------------------------------------ estimation


def test_gap_of_one_hour_is_interpolated_and_added_with_its_audit_trail():
    df = series("2025-03-12 00:00", 96, 900, NY, ramp(96), drop=range(40, 44))
    out = run(df)
    new = added(out)
    assert len(out) == 96 and delivered_count(out) == 92
    assert list(new.start_utc) == list(pd.date_range("2025-03-12T14:00Z", periods=4, freq="15min"))
    np.testing.assert_allclose(new.value, ramp(96)[40:44])  # linear data: exact
    assert (new.rule_ids == "V1;E1;E4").all() and (new.quality_code == 9).all()
    assert (new.estimation_method == "interpolated").all() and new.is_estimated.all()
    assert new.value_original.isna().all() and new.quality_code_original.isna().all()
    assert (new.service_point_id == "U:SP1").all() and (new.interval_s == 900).all()
    delivered = out[out.source_row.notna()]
    assert delivered.rule_ids.isna().all() and not delivered.is_estimated.any()


def test_gap_of_six_hours_takes_the_like_day_profile_of_earlier_weeks():
    # Mondays 3, 10 and 17 March: the 17th misses 06:00-12:00 (24 quarter hours).
    frames = [
        series(
            f"2025-03-{d:02d} 00:00",
            96,
            900,
            NY,
            level + ramp(96),
            drop=range(24, 48) if d == 17 else (),
        )
        for d, level in ((3, 0.0), (10, 1.0), (17, 2.0))
    ]
    out = run(pd.concat(frames, ignore_index=True))
    new = added(out)
    assert len(new) == 24
    np.testing.assert_allclose(new.value, 0.5 + ramp(96)[24:48])  # mean of 3 and 10 March
    assert (new.rule_ids == "V1;E2;E4").all() and (new.quality_code == 8).all()
    assert (new.estimation_method == "like_day_profile").all()


def test_like_day_uses_later_weeks_only_when_no_earlier_week_has_data():
    frames = [
        series("2025-03-03 00:00", 96, 900, NY, ramp(96), drop=range(24, 48)),
        series("2025-03-10 00:00", 96, 900, NY, 5 + ramp(96)),
    ]
    new = added(run(pd.concat(frames, ignore_index=True)))
    np.testing.assert_allclose(new.value, 5 + ramp(96)[24:48])


def test_spike_fails_and_is_replaced_in_place_keeping_the_delivered_value():
    values = 0.5 + 0.05 * np.sin(np.arange(96) / 5)
    values[50] = 30.0
    out = run(series("2025-03-12 00:00", 96, 900, NY, values))
    row = out.loc[49:51]
    assert len(out) == 96 and row.loc[50, "rule_ids"] == "V5;E1;E4"
    assert row.loc[50, "value"] == pytest.approx((values[49] + values[51]) / 2)
    assert row.loc[50, "value_original"] == "30" and row.loc[50, "quality_code"] == 9
    assert row.loc[50, "is_estimated"] and row.loc[50, "source_row"] == 51
    assert out.rule_ids.notna().sum() == 1


def test_frozen_run_fails_and_is_interpolated_between_its_neighbours():
    values = ramp(96)
    values[30:38] = 0.7  # eight identical quarter hours (UTILITY1: runs of 6 or more)
    out = run(series("2025-03-12 00:00", 96, 900, NY, values))
    frozen = out.loc[30:37]
    assert (frozen.rule_ids == "V6;E1;E4").all() and (frozen.quality_code == 9).all()
    np.testing.assert_allclose(frozen.value, ramp(96)[30:38])
    assert (frozen.value_original == "0.7").all()


def test_negative_delivered_energy_fails_but_negative_net_flow_does_not():
    values = ramp(96)
    values[10] = -0.4
    delivered = series("2025-03-12 00:00", 96, 900, NY, values)
    net = series("2025-03-12 00:00", 96, 900, NY, values - 2.0, channel=NET15, direction="net")
    out = run(pd.concat([delivered, net], ignore_index=True))
    assert out.loc[10, "rule_ids"] == "V4;E1;E4"
    assert out.loc[10, "value"] == pytest.approx(ramp(96)[10])
    assert out.loc[out.channel == NET15, "rule_ids"].isna().all()


def test_misaligned_and_out_of_month_readings_fail_and_their_slot_is_estimated():
    df = series("2025-03-12 00:00", 96, 900, NY, ramp(96))
    df.loc[40, "start_utc"] += pd.Timedelta(minutes=7)
    df.loc[40, "end_utc"] += pd.Timedelta(minutes=7)
    late = series("2025-02-28 23:45", 1, 900, NY, 1.0, meter="U:M9")
    out = run(pd.concat([df, late], ignore_index=True))
    shifted = out[out.source_row == 41].iloc[0]
    assert shifted.rule_ids == "V3" and shifted.quality_code == 10
    assert not shifted.is_estimated and shifted.value == pytest.approx(ramp(96)[40])
    assert out[out.meter_id == "U:M9"].rule_ids.tolist() == ["V3"]
    new = added(out)
    assert new.start_utc.tolist() == [pd.Timestamp("2025-03-12T14:00Z")]
    assert new.rule_ids.tolist() == ["V1;E1;E4"]


def test_spring_forward_day_has_92_quarter_hours_and_gaps_span_the_missing_hour():
    # 9 March 2025: 01:30 and 01:45 EST missing; 02:00-02:59 does not exist that day.
    df = series("2025-03-09 00:00", 92, 900, NY, ramp(92), drop=(6, 7))
    out_pl = vee(df)
    out = out_pl.to_pandas()
    new = added(out)
    assert new.start_utc.tolist() == [
        pd.Timestamp("2025-03-09T06:30Z"),
        pd.Timestamp("2025-03-09T06:45Z"),
    ]
    np.testing.assert_allclose(new.value, ramp(92)[6:8])
    cov = coverage(out_pl, VeeInput("UTILITY1", "2025-03", NY))
    assert cov["days_by_length"] == {
        "23 h": {"series_days": 1, "expected_intervals": 92, "present_intervals": 90}
    }
    day = daily_summaries(as_polars_typed(out, "silver/intervals"), "UTILITY1", NY).row(
        0, named=True
    )
    assert (day["expected_count"], day["interval_count"], day["estimated_count"]) == (92, 92, 2)


def test_fall_back_day_has_100_quarter_hours_and_the_repeated_hour_is_estimated():
    # 2 November 2025: 01:00-01:59 happens twice; the second one (EST) is missing.
    df = series("2025-11-02 00:00", 100, 900, NY, ramp(100), drop=range(8, 12))
    out_pl = vee(df, month="2025-11")
    new = added(out_pl.to_pandas())
    assert new.start_utc.tolist() == list(
        pd.date_range("2025-11-02T06:00Z", periods=4, freq="15min")
    )
    assert (new.local_date == pd.Timestamp("2025-11-02")).all()
    np.testing.assert_allclose(new.value, ramp(100)[8:12])
    cov = coverage(out_pl, VeeInput("UTILITY1", "2025-11", NY))
    assert cov["days_by_length"]["25 h"]["expected_intervals"] == 100
    assert cov["missing_intervals"] == 4


def test_local_days_last_23_24_or_25_hours_in_new_york_and_24_in_karachi():
    days = pl.Series([date(2025, 3, 9), date(2025, 3, 10), date(2025, 11, 2), None])
    assert local_day_seconds(days, NY).to_list() == [82_800, 86_400, 90_000, None]
    assert local_day_seconds(days, PK).to_list() == [86_400] * 3 + [None]
    frame = pl.DataFrame({"local_date": days}).with_columns(
        day_s=local_day_seconds_expr(pl.col("local_date"), NY)
    )
    assert frame["day_s"].to_list() == [82_800, 86_400, 90_000, None]
    march = month_days("2025-03", NY)
    assert len(march) == 31 and march["day_s"].sum() == 31 * 86_400 - 3600


def test_month_coverage_expects_every_day_of_the_month_vee_coverage_the_delivered_days():
    # Delivered on two days of March only: 9 March (23 h, two quarter hours missing), 12 March.
    df = pd.concat(
        [
            series("2025-03-09 00:00", 92, 900, NY, ramp(92), drop=(6, 7)),
            series("2025-03-12 00:00", 96, 900, NY, ramp(96)),
        ],
        ignore_index=True,
    )
    iv = pl.from_pandas(df)
    assert month_coverage(iv, "2025-03", NY) == {
        "interval_coverage": 186 / 188,
        "day_coverage": 2 / 31,
        "series": 1,
        "channels_with_gaps": 1,
        "days_in_month": 31,
    }
    vee_cov = coverage(iv, VeeInput("UTILITY1", "2025-03", NY))
    assert (vee_cov["interval_coverage"], vee_cov["day_coverage"]) == (186 / 188, 1.0)


def test_a_pandas_partition_gives_the_same_result_as_a_polars_one():
    values = ramp(96)
    values[50] = 30.0
    df = series("2025-03-12 00:00", 96, 900, NY, values, drop=range(10, 14))
    from_pandas = apply_vee(df, None, VeeInput("UTILITY1", "2025-03", NY)).intervals
    assert isinstance(from_pandas, pl.DataFrame) and from_pandas.equals(vee(df))
    assert from_pandas["is_estimated"].sum() == 5


def test_karachi_has_no_dst_days():
    df = series(
        "2025-03-01 00:00", 31 * 24, 3600, PK, 1.0, utility="IESCO", channel="consumption_kwh"
    )
    cov = coverage(pl.from_pandas(df), VeeInput("IESCO", "2025-03", PK))
    assert set(cov["days_by_length"]) == {"24 h"} and cov["interval_coverage"] == 1.0


# ------------------------------------------------------------------------------ registers


def _iesco(drop=(), status=None) -> pd.DataFrame:
    """Three Mondays of hourly IESCO reads with a consistent cumulative register."""
    hours = 15 * 24
    values = np.tile(0.2 + 0.05 * (np.arange(24) % 12), 15)
    register = 1000 + np.cumsum(values)
    return series(
        "2025-06-02 00:00",
        hours,
        3600,
        PK,
        values,
        utility="IESCO",
        channel="consumption_kwh",
        register=register,
        drop=drop,
        status=status,
    )


def test_register_difference_scales_the_estimates_of_a_gap():
    # Monday 16 June 10:00-13:59 local missing; like days 9 and 2 June.
    gap = range(14 * 24 + 10, 14 * 24 + 14)
    df = _iesco(drop=gap)
    truth = _iesco()
    out = run(df, "IESCO", "2025-06", PK)
    new = added(out)
    before = truth.loc[gap.start - 1, "register_kwh"]
    after = truth.loc[gap.stop, "register_kwh"] - truth.loc[gap.stop, "value"]
    assert new.value.sum() == pytest.approx(after - before)
    assert (new.rule_ids == "V1;E2;E3;E4").all()
    assert (new.estimation_method == "scaled_to_register").all()
    np.testing.assert_allclose(new.register_kwh, before + new.value.cumsum())
    assert new.register_kwh.iloc[-1] == pytest.approx(after)


def test_a_reading_inside_an_outage_is_never_an_interpolation_endpoint():
    status = np.array(["normal"] * (15 * 24), dtype=object)
    status[14 * 24 + 9] = "load_shedding"
    df = _iesco(drop=[14 * 24 + 10], status=status)
    new = added(run(df, "IESCO", "2025-06", PK))
    assert new.rule_ids.tolist() == ["V1;E2;E3;E4"]  # not E1: the hour before was shed


def test_iesco_high_limit_follows_the_sanctioned_load():
    df = _iesco()
    df.loc[100, "value"] = 4.5  # 4.5 kWh in an hour on a 1 kW connection (limit 4 x 1 kW)
    sp = pd.DataFrame({"service_point_id": ["U:SP1"], "sanctioned_load_kw": [1.0]})
    out = run(df, "IESCO", "2025-06", PK, service_points=sp)
    assert out.loc[100, "rule_ids"].startswith("V4") and out.loc[100, "is_estimated"]
    assert out.rule_ids.str.contains("V4").sum() == 1


def test_utility2_register_mismatch_is_flagged_and_registers_are_never_estimated():
    usage = np.array([10, 12, 11, 9, 14, 13, 10], dtype=float)
    register = 999_000 + np.cumsum(usage)
    delivered = usage.copy()
    delivered[2] += 5  # 12 March: usage disagrees with the register
    reg_quality = np.zeros(7, dtype=int)
    reg_quality[5] = 10  # 15 March: "no read" register (UTILITY2 51), value 0
    reg_values = register.copy()
    reg_values[5] = 0
    df = pd.concat(
        [
            daily("2025-03-10", delivered, channel="1"),
            daily("2025-03-10", reg_values, channel="9", kind="register", quality=reg_quality),
        ],
        ignore_index=True,
    )
    out = run(df, "UTILITY2")
    use = out[out.channel == "1"].set_index("local_date")
    assert use.loc["2025-03-12", "rule_ids"] == "V7"
    assert use.loc["2025-03-12", "value"] == 16 and use.loc["2025-03-12", "quality_code"] == 0
    assert use.rule_ids.notna().sum() == 1  # 15/16 March: no valid register, no judgement
    reg = out[out.channel == "9"].set_index("local_date")
    assert reg.loc["2025-03-15", "rule_ids"] == "QUALITY_FAILED"
    assert reg.loc["2025-03-15", "quality_code"] == 10 and not reg.is_estimated.any()
    assert len(out) == 14


def test_utility2_missing_days_spread_the_register_difference():
    usage = np.array([10, 12, 11, 9, 14, 13, 10], dtype=float)
    register = 999_000 + np.cumsum(usage)
    df = pd.concat(
        [
            daily("2025-03-10", usage, channel="1").drop(index=[3, 4]),
            daily("2025-03-10", register, channel="9", kind="register"),
        ],
        ignore_index=True,
    )
    new = added(run(df, "UTILITY2"))
    assert new.local_date.tolist() == [pd.Timestamp("2025-03-13"), pd.Timestamp("2025-03-14")]
    np.testing.assert_allclose(new.value, [11.5, 11.5])  # (9 + 14) spread evenly
    assert (new.rule_ids == "V1;E3;E4").all() and (new.interval_s == 86_400).all()


def test_utility2_dst_day_read_lasts_23_hours_and_is_expected():
    df = daily("2025-03-08", [10, 11, 12, 13], channel="1").drop(index=[1])
    cov = coverage(vee(df, "UTILITY2"), VeeInput("UTILITY2", "2025-03", NY))
    assert cov["days_by_length"]["23 h"] == {
        "series_days": 1,
        "expected_intervals": 1,
        "present_intervals": 0,
    }
    assert cov["day_coverage"] == 0.75 and cov["expected_days"] == 4


# ------------------------------------------------------------------------------ checks


def test_vee_checks_count_every_rule_and_grade_by_threshold():
    values = ramp(96)
    values[50] = 30.0
    df = series("2025-03-12 00:00", 96, 900, NY, values, drop=range(10, 14))
    rejects = pd.DataFrame(
        {
            "target_table": ["intervals"] * 3,
            "category": ["duplicate_exact", "duplicate_conflicting", "rejected"],
        }
    )
    out = vee(df)
    inp = VeeInput("UTILITY1", "2025-03", NY)
    val = vee_checks.validation(out, pl.from_pandas(rejects), inp)
    assert val.details["by_rule"] == {
        "V1": 4,
        "V2": 2,
        "V3": 0,
        "V4": 0,
        "V5": 1,
        "V6": 0,
        "V7": 0,
        "V8": 0,
        "V9": 0,
        "E1": 5,
        "E2": 0,
        "E3": 0,
        "E4": 5,
    }
    assert not val.passed and val.severity == "WARN" and val.failed_count == 1
    cov = vee_checks.coverage_check(out, inp)
    assert not cov.passed and cov.severity == "WARN" and cov.failed_count == 4
    assert cov.details["interval_coverage"] == pytest.approx(92 / 96)
    assert cov.details["grades"] == {"interval_coverage_min": "WARN", "day_coverage_min": "PASS"}
    est = vee_checks.estimation(out, inp)
    assert est.details["by_method"] == {
        "interpolated": 5,
        "like_day_profile": 0,
        "scaled_to_register": 0,
    }
    assert est.details["added_rows"] == 4 and est.details["edited_rows"] == 1
    assert vee_checks.register_consistency(out, inp).passed


def test_coverage_grades_warn_by_default_and_error_where_a_utility_sets_a_level():
    ny = series("2025-03-12 00:00", 96, 900, NY, ramp(96), drop=range(60))
    res = vee_checks.coverage_check(vee(ny), VeeInput("UTILITY1", "2025-03", NY))
    assert not res.passed and res.severity == "WARN"  # gaps are the utility's: WARN
    pk = _iesco(drop=range(24, 15 * 24 - 24))  # IESCO bills from the hours: < 50 % is ERROR
    res = vee_checks.coverage_check(
        vee(pk, "IESCO", "2025-06", PK), VeeInput("IESCO", "2025-06", PK)
    )
    assert not res.passed and res.severity == "ERROR"
    assert res.details["thresholds"]["interval_coverage_min"] == {"warn": 0.98, "error": 0.5}
    plans = {p.name: p for p in plans_for(table("silver/intervals"))}
    vee_plans = {n for n in plans if n.startswith("vee__")}
    assert vee_plans == {
        "vee__validation",
        "vee__coverage",
        "vee__estimation",
        "vee__register_consistency",
    }
    assert not any(plans[n].blocking for n in vee_plans)


def test_grading_against_thresholds():
    limits = {"interval_coverage_min": (0.98, 0.5), "estimated_share_max": (0.05, 0.25)}
    assert vee_config.grade("interval_coverage_min", 0.99, limits) == "PASS"
    assert vee_config.grade("interval_coverage_min", 0.9, limits) == "WARN"
    assert vee_config.grade("interval_coverage_min", 0.4, limits) == "ERROR"
    assert vee_config.grade("estimated_share_max", 0.3, limits) == "ERROR"
    assert vee_config.grade("estimated_share_max", None, limits) == "PASS"


# ------------------------------------------------------------------------------ data


def test_parameters_resolve_most_specific_row():
    types = pd.DataFrame(
        {
            "measurement": ["kWh", "kWh", "kWh"],
            "direction": ["delivered", "delivered", "net"],
            "reading_kind": ["interval", "register", "interval"],
            "interval": ["daily", "daily", "sub_daily"],
        }
    )
    u2 = vee_config.params_for("UTILITY2", pl.from_pandas(types)).to_pandas()
    assert u2.frozen_run_min.tolist() == [0.0, 3.0, 0.0]
    assert u2.estimate.tolist() == [1.0, 0.0, 1.0]
    assert u2.spike_iqr_factor.tolist() == [8.0, 8.0, 8.0]
    assert np.isnan(u2.low_limit.iloc[2]) and u2.low_limit.iloc[0] == 0
    assert u2.expected_days.tolist() == ["series_span"] * 3
    iesco = vee_config.params_for("IESCO", pl.from_pandas(types)).to_pandas()
    assert iesco.register_column.tolist() == ["register_kwh", None, "register_kwh"]
    newco = vee_config.params_for("NEWCO", pl.from_pandas(types)).to_pandas()  # the defaults
    assert newco.expected_days.tolist() == ["delivered_days"] * 3
    assert newco.spike_iqr_factor.tolist() == [3.0, 3.0, 8.0]
    assert vee_config.utility_param("IESCO", "outage_statuses") == "outage|load_shedding"


def test_the_registry_allows_exactly_the_common_quality_codes():
    allowed = table("silver/intervals").column("quality_code").isin
    assert set(allowed) == set(ALL_CODES) and Quality.FAILED == 10
    assert set(ESTIMATES) == {8, 9}


def test_every_rule_id_is_a_published_reason_code():
    codes = set(REASON_CODES.code)
    assert set(ROW_RULES) | set(VALIDATION_RULES) | set(ESTIMATION_RULES) <= codes
    published = reason_code_table()
    assert published.loc[published.kind != "reject", "category"].isna().all()
    conform(published, table("silver/reason_codes"))
