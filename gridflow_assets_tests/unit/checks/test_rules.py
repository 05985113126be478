"""Every check kind fails on a crafted bad frame and passes on a good one, on Polars frames;
the figures are those the pandas rules gave for the same data (a pandas frame still gets
them, converted at entry)."""

import datetime as dt
import json
import math

import pandas as pd
import polars as pl
import pytest
from pandera.config import ValidationDepth, config_context

from gridflow_assets.checks import rules
from gridflow_assets.checks.vee import GradedResult
from gridflow_assets.registry import table
from gridflow_assets.registry.derive import conform_pl, from_arrow
from gridflow_assets.registry.model import ForeignKey
from gridflow_assets_tests.polars_frames import time_frame

TIME = table("gold/dim_time")
INTERVALS = table("silver/intervals")
TWO_COLUMN_FK = ForeignKey(("m", "c"), "silver/meters", ("meter_id", "channel"))


def _intervals_frame() -> pl.DataFrame:
    """Five interval rows, empty but for three range columns (NaN and null in them)."""
    df = pl.DataFrame(schema=INTERVALS.column_names).clear(5)
    return conform_pl(
        df.with_columns(
            power_factor=pl.Series([0.9, math.nan, 1.5, None, -0.1]),
            frequency_hz=pl.Series([50.0, 50.0, 60.0, math.nan, 50.0]),
            quality_code=pl.Series([0, 99, None, 9, 0]),
        ),
        INTERVALS,
    )


def _with_nulls() -> pl.DataFrame:
    return time_frame().with_columns(
        label=pl.when(pl.int_range(4).is_in([0, 2])).then(None).otherwise(pl.col("label")),
        day_part=pl.when(pl.int_range(4) == 1).then(None).otherwise(pl.col("day_part")),
    )


def _figures(res: rules.RuleResult) -> tuple:
    return res.passed, res.failed_count, res.total, res.details


def _both_engines(df: pl.DataFrame) -> list:
    """The frame as Polars and as the pandas frame the factory still hands over today
    (``Warehouse.read``'s dtypes)."""
    return [df, from_arrow(df.to_arrow())]


# Expected figures: what the pandas rules (before Polars) returned for the same frames.
STRUCTURE_CASES = {
    "good": (time_frame, (True, 0, 4, {})),
    "missing and extra column": (
        lambda: time_frame().drop("label").with_columns(extra=pl.lit(1)),
        (
            False,
            2,
            4,
            {
                "gold/dim_time structure: column_in_dataframe": 1,
                "gold/dim_time structure: column_in_schema": 1,
            },
        ),
    ),
    "nulls in non-nullable columns": (
        _with_nulls,
        (False, 3, 4, {"day_part: not_nullable": 1, "label: not_nullable": 2}),
    ),
    "wrong dtype and a NaN": (
        lambda: time_frame().with_columns(hour=pl.Series([0.0, 0.0, 0.0, math.nan])),
        (False, 2, 4, {"hour: dtype('Int64')": 1, "hour: not_nullable": 1}),
    ),
}


@pytest.mark.parametrize("case", sorted(STRUCTURE_CASES))
@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_structure_figures_as_before(case, engine):
    make, expected = STRUCTURE_CASES[case]
    df = _both_engines(make())[engine == "pandas"]
    assert _figures(rules.validate_structure(df, TIME)) == expected


def test_structure_sample_is_pandera_failure_cases():
    res = rules.validate_structure(_with_nulls(), TIME)
    assert res.sample.columns == ["column", "check", "failure_case", "index"]
    assert res.sample.select("column", "index").rows() == [
        ("label", 0),
        ("label", 2),
        ("day_part", 1),
    ]


@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_structure_of_every_registry_type(engine):
    typed = conform_pl(pl.DataFrame(schema=INTERVALS.column_names).clear(2), INTERVALS)
    flags = [c.name for c in INTERVALS.columns if c.dtype == "bool"]
    typed = typed.with_columns(pl.lit(False).alias(c) for c in flags)
    res = rules.validate_structure(_both_engines(typed)[engine == "pandas"], INTERVALS)
    assert set(res.details) == {
        f"{c.name}: not_nullable" for c in INTERVALS.columns if not c.nullable and c.dtype != "bool"
    }


def test_structure_checks_timestamp_precision():
    typed = conform_pl(pl.DataFrame(schema=INTERVALS.column_names), INTERVALS)
    assert rules.validate_structure(typed, INTERVALS).passed
    ns = typed.with_columns(pl.col("start_utc").dt.cast_time_unit("ns"))
    assert _figures(rules.validate_structure(ns, INTERVALS)) == (
        False,
        1,
        0,
        {"start_utc: dtype('Datetime(time_unit='us', time_zone='UTC')')": 1},
    )


RANGE_CASES = {
    "good": (time_frame, TIME, (True, 0, 4, {}), []),
    "two rows fail two checks": (
        lambda: time_frame(
            hour=[25, 3, 24, 0],
            minute=[0, 99, -1, 0],
            day_part=["night", "dawn", "night", "dusk"],
            time_key=[0, 15, 30, 9999],
        ),
        TIME,
        (
            False,
            4,
            4,
            {
                "day_part: isin(['night', 'morning', 'afternoon', 'evening'])": 2,
                "hour: less_than_or_equal_to(23)": 2,
                "minute: greater_than_or_equal_to(0)": 1,
                "minute: less_than_or_equal_to(59)": 1,
                "time_key: less_than_or_equal_to(2359)": 1,
            },
        ),
        [
            ("hour", "less_than_or_equal_to(23)"),
            ("minute", "less_than_or_equal_to(59)"),
            ("hour", "less_than_or_equal_to(23)"),
            ("time_key", "less_than_or_equal_to(2359)"),
        ],
    ),
    "a range column missing": (
        lambda: time_frame().drop("day_part"),
        TIME,
        (False, 0, 4, {"gold/dim_time ranges: column_in_dataframe": 1}),
        [],
    ),
    "NaN and null are missing, not out of range": (
        _intervals_frame,
        INTERVALS,
        (
            False,
            3,
            5,
            {
                "frequency_hz: less_than_or_equal_to(55)": 1,
                "power_factor: greater_than_or_equal_to(0)": 1,
                "power_factor: less_than_or_equal_to(1)": 1,
                "quality_code: isin([0, 7, 8, 9, 10, 14, 17, 18, 19])": 1,
            },
        ),
        [
            ("quality_code", "isin([0, 7, 8, 9, 10, 14, 17, 18, 19])"),
            ("power_factor", "less_than_or_equal_to(1)"),
            ("power_factor", "greater_than_or_equal_to(0)"),
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(RANGE_CASES))
@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_range_figures_as_before(case, engine):
    make, spec, expected, first_failures = RANGE_CASES[case]
    res = rules.validate_ranges(_both_engines(make())[engine == "pandas"], spec)
    assert _figures(res) == expected
    if first_failures:
        assert res.sample.select("_failed_column", "_failed_check").rows() == first_failures


def test_ranges_sample_the_failing_rows_themselves():
    res = rules.validate_ranges(RANGE_CASES["two rows fail two checks"][0](), TIME)
    assert res.sample["time_key"].to_list() == [0, 15, 30, 9999]
    assert set(res.sample["_failed_column"]) == {"hour", "minute", "time_key"}


def test_ranges_skip_a_column_of_untyped_nulls():
    untyped = time_frame(hour=[25, 0, 0, 0]).with_columns(minute=pl.lit(None))
    assert _figures(rules.validate_ranges(untyped, TIME)) == (
        False,
        1,
        4,
        {"hour: less_than_or_equal_to(23)": 1},
    )


def test_ranges_find_data_failures_whatever_pandera_depth_is_configured():
    bad = time_frame(hour=[25, 0, 0, 0])
    with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
        assert rules.validate_ranges(bad, TIME).failed_count == 1


DUPLICATES = pl.DataFrame(
    {
        "a": ["x", "x", None, None, "y", "y", "z", "x", "y", None],
        "b": [1, 1, None, None, 2, 2, 3, 1, 2, None],
        "v": range(10),
    }
)


@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_duplicates_count_repeats_not_first_occurrences(engine):
    df = _both_engines(DUPLICATES)[engine == "pandas"]
    res = rules.find_duplicates(df, ["a", "b"])
    assert _figures(res) == (False, 6, 10, {"duplicated_keys": 3})
    # most rows first; ties by key, a null key last
    assert res.sample_records() == [
        {"a": "x", "b": 1, "rows": 3},
        {"a": "y", "b": 2, "rows": 3},
        {"a": None, "b": None, "rows": 3},
    ]
    assert rules.find_duplicates(DUPLICATES[[0, 2, 4, 6]], ["a", "b"]).passed


def test_duplicates_never_count_a_hash_collision(monkeypatch):
    """Every row hashing alike (the worst collision) changes nothing: keys are compared."""
    monkeypatch.setattr(
        pl.DataFrame,
        "hash_rows",
        lambda self, *args, **kwargs: pl.Series([7] * self.height, dtype=pl.UInt64),
    )
    assert _figures(rules.find_duplicates(DUPLICATES, ["a", "b"])) == (
        False,
        6,
        10,
        {"duplicated_keys": 3},
    )
    assert rules.find_duplicates(DUPLICATES[[0, 2, 4, 6]], ["a", "b"]).passed


def test_duplicates_one_column_key():
    res = rules.find_duplicates(pl.DataFrame({"k": [1, 1, 1, 2, 3, 3], "v": range(6)}), ["k"])
    assert _figures(res) == (False, 3, 6, {"duplicated_keys": 2})
    assert res.sample.row(0, named=True) == {"k": 1, "rows": 3}


ORPHAN_CHILD = pl.DataFrame(
    {"m": ["A", "B", "B", None, "C", "C", "A", "D"], "c": ["1", "1", "1", "1", "2", None, "2", "1"]}
)
ORPHAN_PARENT = pl.DataFrame({"meter_id": ["A", "A"], "channel": ["1", "1"]})
ALL_KEYS = [
    {"m": "B", "c": "1", "rows": 2},
    {"m": "A", "c": "1", "rows": 1},
    {"m": "A", "c": "2", "rows": 1},
    {"m": "C", "c": "2", "rows": 1},
    {"m": "D", "c": "1", "rows": 1},
]
ORPHAN_CASES = {
    "missing keys": (
        ORPHAN_PARENT,
        5,
        {"orphan_keys": 4, "parent_missing": False},
        [ALL_KEYS[0], *ALL_KEYS[2:]],
    ),
    "no parent table": (None, 6, {"orphan_keys": 5, "parent_missing": True}, ALL_KEYS),
    "empty parent": (
        ORPHAN_PARENT.clear(),
        6,
        {"orphan_keys": 5, "parent_missing": False},
        ALL_KEYS,
    ),
}


@pytest.mark.parametrize("case", sorted(ORPHAN_CASES))
@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_orphans_ignore_nulls_and_name_missing_keys(case, engine):
    parent, failed, details, sample = ORPHAN_CASES[case]
    child = _both_engines(ORPHAN_CHILD)[engine == "pandas"]
    if parent is not None:
        parent = _both_engines(parent)[engine == "pandas"]
    res = rules.find_orphans(child, parent, TWO_COLUMN_FK)
    assert _figures(res) == (False, failed, 8, {**details, "parent": "silver/meters"})
    assert res.sample_records() == sample


def test_orphans_pass_when_every_key_has_a_parent():
    fk = ForeignKey(("sp",), "silver/service_points", ("service_point_id",))
    child = pl.DataFrame({"sp": ["A", "Z", None, "A"]})
    assert rules.find_orphans(child, pl.DataFrame({"service_point_id": ["A", "Z"]}), fk).passed


REJECTS = pl.DataFrame(
    {
        "target_table": ["intervals"] * 5 + ["meters"] * 2 + ["intervals"],
        "category": [
            "duplicate_exact",
            "duplicate_exact",
            "duplicate_conflicting",
            "rejected",
            "rejected",
            "rejected",
            "duplicate_exact",
            None,
        ],
        "reason_code": [
            "DUP_EXACT",
            "DUP_EXACT",
            "DUP_CONFLICT",
            "INVALID_ID",
            "INVALID_TIMESTAMP",
            "INVALID_ID",
            "DUP_EXACT",
            None,
        ],
    }
)


@pytest.mark.parametrize("engine", ["polars", "pandas"])
def test_conservation_reconciles_and_catches_a_lost_row(engine):
    rejects = _both_engines(REJECTS)[engine == "pandas"]
    acc = rules.accounting(landed=11, kept=6, rejects=rejects, target="intervals")
    assert acc == {
        "landed": 11,
        "kept": 6,
        "duplicates_exact": 2,
        "duplicates_conflicting": 1,
        "rejected": 2,
    }
    assert rules.check_conservation(acc).passed
    lost = rules.check_conservation(rules.accounting(12, 6, rejects, "intervals"))
    assert _figures(lost) == (False, 1, 12, {**acc, "landed": 12, "unaccounted": 1})
    assert lost.sample_records() == [{**acc, "landed": 12}]
    assert rules.rejects_by_reason(rejects, "intervals") == {
        "DUP_EXACT": 2,
        "DUP_CONFLICT": 1,
        "INVALID_ID": 1,
        "INVALID_TIMESTAMP": 1,
    }


def test_accounting_without_rejects():
    assert rules.accounting(3, 3, None, "meters") == {
        "landed": 3,
        "kept": 3,
        "duplicates_exact": 0,
        "duplicates_conflicting": 0,
        "rejected": 0,
    }
    assert rules.rejects_by_reason(REJECTS.clear(), "intervals") == {}
    assert rules.rejects_by_reason(None, "intervals") == {}


def test_sample_records_are_json_safe():
    sample = pl.DataFrame(
        {
            "start_utc": [dt.datetime(2024, 6, 1, 5, 30, tzinfo=dt.UTC)],
            "local_date": [dt.date(2024, 6, 1)],
            "value": [math.nan],
            "peak": [math.inf],
            "n": [3],
            "ok": [True],
            "note": [None],
        }
    )
    records = rules.RuleResult(False, 1, 1, sample).sample_records()
    assert records == [
        {
            "start_utc": "2024-06-01T05:30:00+00:00",
            "local_date": "2024-06-01",
            "value": None,
            "peak": None,
            "n": 3,
            "ok": True,
            "note": None,
        }
    ]
    assert json.loads(json.dumps(records, allow_nan=False)) == records


def test_sample_records_of_a_pandas_sample_and_of_no_sample():
    pandas_sample = pd.DataFrame(
        {"t": pd.to_datetime(["2024-06-01 00:15"], utc=True), "v": [float("nan")]}
    )
    assert rules.RuleResult(False, 1, 1, pandas_sample).sample_records() == [
        {"t": "2024-06-01T00:15:00+00:00", "v": None}
    ]
    assert rules.RuleResult(True, 0, 0).sample_records() == []


def test_samples_hold_at_most_sample_rows():
    many = pl.DataFrame({"k": [i // 2 for i in range(50)]})
    res = rules.find_duplicates(many, ["k"])
    assert res.failed_count == 25 and res.sample.height == rules.SAMPLE_ROWS


def test_severity_is_the_checks_unless_a_rule_grades_it():
    assert rules.RuleResult(True, 0, 0).severity is None
    assert rules.RuleResult(False, 1, 1, severity="ERROR").severity == "ERROR"
    graded = GradedResult(False, 1, 2, pd.DataFrame(), {}, severity="ERROR")
    assert graded.severity == "ERROR" and GradedResult(True, 0, 2).severity == "WARN"
