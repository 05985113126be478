"""A failing check says what was violated, with the count, in one sentence a data steward
reads (the ``violation`` metadata entry); a passing one says nothing. Each check runs its
plan on a small crafted frame, bad and good, as the factory would."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

from gridflow_assets.checks import violation as words
from gridflow_assets.checks.factory import plans_for
from gridflow_assets.checks.metadata import result_metadata
from gridflow_assets.checks.plan import CheckInput, CheckPlan
from gridflow_assets.checks.rules import RuleResult
from gridflow_assets.registry import TABLES, table
from gridflow_assets.silver.adapters import storage_spec
from gridflow_assets_tests.polars_frames import time_frame
from gridflow_assets_tests.unit.silver.test_vee import NY, daily, ramp, series, vee

UTILITY, MONTH = "UTILITY1", "2025-03"
TIME = table("gold/dim_time")


def _plan(key: str, name: str) -> CheckPlan:
    return next(p for p in plans_for(table(key)) if p.name == name)


def _said(
    key: str, name: str, df: pl.DataFrame, published=None, store=None, utility=UTILITY
) -> tuple[RuleResult, str | None]:
    """The check ``name`` of ``key`` run on ``df`` (its whole partition), and the violation
    its metadata carries (None: no entry)."""
    plan = _plan(key, name)
    spec = storage_spec(key, utility)  # as the factory checks it: a bronze table's columns
    inp = CheckInput(store, spec, df, utility, MONTH, published=published or {})
    res = plan.run(inp)
    meta = result_metadata(plan, res, utility, MONTH)
    said = meta.get("violation")
    assert (said is None) == res.passed, said
    assert said is None or (isinstance(said, str) and len(said) <= words.MAX_CHARS), said
    return res, said


def test_schema_names_the_table_and_what_broke_it_counted():
    bad = time_frame(label=[None, "00:15", None, "00:45"], day_part=["night", None, "night", "x"])
    res, said = _said("gold/dim_time", "schema__structure", bad.drop("minute"))
    assert res.failed_count == 4
    assert said == (
        "4 schema failures in gold/dim_time: label null (2), day_part null (1), missing columns (1)"
    )
    assert _said("gold/dim_time", "schema__structure", time_frame())[1] is None


def test_schema_names_a_wrong_dtype():
    bad = time_frame().with_columns(hour=pl.col("hour").cast(pl.Float64))
    _, said = _said("gold/dim_time", "schema__structure", bad)
    assert said == "1 schema failure in gold/dim_time: hour not Int64 (1)"


def test_range_names_the_bound_each_column_crossed():
    bad = time_frame(hour=[0, 24, 0, 30], minute=[-1, 15, 30, 45], day_part=["night", "noon"] * 2)
    res, said = _said("gold/dim_time", "range__values", bad)
    assert res.failed_count == 3  # rows: the first, second and fourth
    assert said == (
        "3 rows hold values outside the declared ranges: day_part not an allowed value (2), "
        "hour > 23 (2), minute < 0 (1)"
    )
    assert _said("gold/dim_time", "range__values", time_frame())[1] is None


def _intervals(meters: list[str], service_points: list[str], starts: list[int]) -> pl.DataFrame:
    """The silver/intervals columns the key checks read, hourly starts in March."""
    start = pd.Timestamp("2025-03-01", tz="UTC")
    return pl.DataFrame(
        {
            "meter_id": meters,
            "channel": "1",
            "start_utc": [start + pd.Timedelta(hours=h) for h in starts],
            "service_point_id": service_points,
            "source_row": range(1, len(meters) + 1),
        }
    )


def test_duplicates_name_the_key_and_count_keys_and_extra_rows():
    df = _intervals(["M1", "M1", "M1", "M2", "M2", "M3"], ["S"] * 6, [0, 0, 0, 5, 5, 5])
    res, said = _said("silver/intervals", "duplicates__primary_key", df)
    assert res.failed_count == 3 and res.details == {"duplicated_keys": 2}
    assert said == ("2 keys of (meter_id, channel, start_utc) occur more than once (3 extra rows)")
    good = _intervals(["M1", "M1", "M2"], ["S"] * 3, [0, 1, 0])
    assert _said("silver/intervals", "duplicates__primary_key", good)[1] is None


def test_exact_repeats_of_a_delivered_row_are_named_as_such():
    spec = storage_spec("bronze/readings", UTILITY)
    row = {c: "x" for c in spec.column_names if not c.startswith("_")}
    df = pl.DataFrame([row, row, {**row, "meter_id": "y"}])
    res, said = _said("bronze/readings", "duplicates__exact_rows", df)
    assert res.failed_count == 1 and res.total == 3
    assert said == ("1 row was delivered more than once, identical in every column (1 extra copy)")


def test_orphans_name_the_foreign_key_the_parent_and_the_rows():
    df = _intervals(["M1"] * 5, ["S1", "S9", "S9", "S8", None], [0, 1, 2, 3, 4])
    parent = {"silver/service_points": pl.DataFrame({"service_point_id": ["S1", "S2"]})}
    res, said = _said("silver/intervals", "orphans__service_point_id", df, parent)
    assert res.failed_count == 3
    assert said == (
        "3 rows reference a service_point_id not in silver/service_points (2 distinct keys)"
    )
    every = {"silver/service_points": pl.DataFrame({"service_point_id": ["S1", "S8", "S9"]})}
    assert _said("silver/intervals", "orphans__service_point_id", df, every)[1] is None


class _Landed:
    """A warehouse that only knows how many rows landed in the bronze source table."""

    def __init__(self, rows: int):
        self.rows = rows

    def row_count(self, key: str, utility: str, month: str) -> int:
        assert key == "bronze/readings" and (utility, month) == (UTILITY, MONTH)
        return self.rows


def test_conservation_shows_the_accounting_that_does_not_add_up():
    kept = _intervals(["M1"] * 4, ["S"] * 4, [0, 1, 2, 3])
    rejects = pl.DataFrame(
        {
            "target_table": ["intervals", "intervals", "intervals", "meters"],
            "category": ["duplicate_exact", "duplicate_conflicting", "rejected", "rejected"],
            "reason_code": ["DUP_EXACT", "DUP_CONFLICT", "BAD_VALUE", "BAD_VALUE"],
        }
    )
    published = {"silver/rejects": rejects}

    def check(landed):
        return _said(
            "silver/intervals", "conservation__accounting", kept, published, _Landed(landed)
        )

    res, said = check(1_010)
    assert res.failed_count == 1_003
    assert said == "landed 1,010 ≠ kept 4 + duplicates 2 + rejected 1: 1,003 rows unaccounted"
    assert check(5)[1] == "landed 5 ≠ kept 4 + duplicates 2 + rejected 1: 2 rows more than landed"
    assert check(7)[1] is None


def test_vee_register_consistency_names_v7_and_the_readings():
    """UTILITY2 daily reads with a register: usage on 12 March disagrees with it."""
    usage = [10.0, 12.0, 11.0, 9.0, 14.0]
    register = [999_000 + sum(usage[: i + 1]) for i in range(len(usage))]

    def partition(delivered: list[float]) -> pl.DataFrame:
        df = pd.concat(
            [
                daily("2025-03-10", delivered, channel="1"),
                daily("2025-03-10", register, channel="9", kind="register"),
            ],
            ignore_index=True,
        )
        return vee(df, "UTILITY2")

    off = [10.0, 12.0, 16.0, 9.0, 14.0]

    def check(df):
        return _said("silver/intervals", "vee__register_consistency", df, utility="UTILITY2")

    res, said = check(partition(off))
    assert res.failed_count == 1
    assert said == "1 interval reading differs from the register difference across them (V7)"
    assert check(partition(usage))[1] is None


NO_REJECTS = {"silver/rejects": pl.DataFrame({"target_table": [], "category": []})}


def test_vee_validation_and_coverage_name_the_rules_that_found_something():
    values = ramp(96)
    values[50] = 30.0  # a spike (V5)
    gaps = vee(series("2025-03-12 00:00", 96, 900, NY, values, drop=range(10, 14)))
    res, said = _said("silver/intervals", "vee__validation", gaps, NO_REJECTS)
    assert res.failed_count == 1
    assert said == (
        "1 delivered reading failed validation or was delivered as failed: "
        "1 above the spike threshold (V5)"
    )
    res, said = _said("silver/intervals", "vee__coverage", gaps)
    assert res.failed_count == 4
    assert said == "4 of 96 expected intervals missing (V1), coverage 95.8% < 98.0%"
    whole = vee(series("2025-03-12 00:00", 96, 900, NY, ramp(96)))
    assert _said("silver/intervals", "vee__validation", whole, NO_REJECTS)[1] is None
    assert _said("silver/intervals", "vee__coverage", whole)[1] is None


def test_vee_estimation_names_the_share_against_its_limit():
    """One hour of 96 quarter hours missing and interpolated (E1): 4.2 % estimates, within
    the 5 % allowed; four such hours: 16.7 %."""

    def day(drop):
        return vee(series("2025-03-12 00:00", 96, 900, NY, ramp(96), drop=drop))

    assert _said("silver/intervals", "vee__estimation", day(range(10, 14)))[1] is None
    gaps = [*range(10, 14), *range(30, 34), *range(50, 54), *range(70, 74)]
    res, said = _said("silver/intervals", "vee__estimation", day(gaps))
    assert res.failed_count == 16
    assert said == "estimated share 16.7% > 5.0%: 16 readings estimated by VEE (E1 16)"


def test_reconcile_names_each_rule_that_did_not_hold():
    plan = _plan("silver/payments", "reconcile__payments")
    res = RuleResult(False, 3, 10, details={"bill_missing": 1, "overpaid": 2, "status": 0})
    assert words.violation(plan, res) == (
        "3 payments do not agree with their bill: overpaid (2), bill missing (1)"
    )
    assert words.violation(plan, RuleResult(True, 0, 10)) is None


def test_a_long_list_is_cut_to_what_fits_and_counted():
    plan = _plan("gold/dim_time", "schema__structure")
    details = {f"column_with_a_long_name_{i}: not_nullable": 100 - i for i in range(20)}
    said = words.violation(plan, RuleResult(False, 1_000, 10, details=details))
    assert len(said) <= words.MAX_CHARS and said.endswith(" more")
    assert said.startswith("1,000 schema failures in gold/dim_time: column_with_a_long_name_0 null")


def test_every_check_of_every_table_has_words_of_its_own():
    plans = [p for spec in TABLES.values() for p in plans_for(spec)]
    assert [p.name for p in plans if not words.worded(p)] == []
    assert all(p.subject for p in plans if p.kind in ("schema", "orphans"))


@pytest.mark.parametrize("kind", sorted(words.BY_KIND))
def test_a_passing_result_of_any_kind_has_no_violation(kind):
    plan = next(p for spec in TABLES.values() for p in plans_for(spec) if p.kind == kind)
    meta = result_metadata(plan, RuleResult(True, 0, 5), UTILITY, MONTH)
    assert "violation" not in meta
