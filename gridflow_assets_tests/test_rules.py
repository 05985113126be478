"""Every check kind fails on a crafted bad frame and passes on a good one."""

import pandas as pd

from gridflow_assets.checks import rules
from gridflow_assets.registry import table
from gridflow_assets.registry.derive import conform
from gridflow_assets.registry.model import ForeignKey


def _time_frame(**overrides):
    df = pd.DataFrame({"time_key": [0, 15], "hour": [0, 0], "minute": [0, 15],
                       "label": ["00:00", "00:15"], "day_part": ["night", "night"]})
    return conform(df.assign(**overrides), table("gold/dim_time"))


def test_structure_passes_and_fails():
    spec = table("gold/dim_time")
    assert rules.validate_structure(_time_frame(), spec).passed
    bad = _time_frame().drop(columns="label")
    res = rules.validate_structure(bad, spec)
    assert not res.passed and res.failed_count == 1
    assert "column_in_dataframe" in " ".join(res.details)
    nulls = _time_frame()
    nulls.loc[0, "label"] = None
    assert rules.validate_structure(nulls, spec).failed_count == 1


def test_ranges_count_failing_rows_with_samples():
    spec = table("gold/dim_time")
    assert rules.validate_ranges(_time_frame(), spec).passed
    bad = _time_frame(hour=[25, 3], day_part=["night", "dawn"])
    res = rules.validate_ranges(bad, spec)
    assert not res.passed
    assert res.failed_count == 2  # two rows, one failing check each
    assert set(res.sample._failed_column) == {"hour", "day_part"}


def test_duplicates_counts_repeats_not_first_occurrences():
    df = pd.DataFrame({"k": [1, 1, 1, 2, 3, 3], "v": range(6)})
    res = rules.find_duplicates(df, ["k"])
    assert not res.passed and res.failed_count == 3
    assert res.details["duplicated_keys"] == 2
    assert res.sample.iloc[0].to_dict() == {"k": 1, "rows": 3}
    assert rules.find_duplicates(df.drop_duplicates("k"), ["k"]).passed


def test_orphans_ignore_nulls_and_name_missing_keys():
    fk = ForeignKey(("sp",), "silver/service_points", ("service_point_id",))
    child = pd.DataFrame({"sp": ["A", "B", "B", None, "Z"]})
    parent = pd.DataFrame({"service_point_id": ["A", "Z"]})
    res = rules.find_orphans(child, parent, fk)
    assert not res.passed and res.failed_count == 2
    assert res.sample.to_dict("records") == [{"sp": "B", "rows": 2}]
    assert rules.find_orphans(child[child.sp != "B"], parent, fk).passed
    missing_parent = rules.find_orphans(child, None, fk)
    assert missing_parent.failed_count == 4 and missing_parent.details["parent_missing"]


def test_conservation_reconciles_and_catches_a_lost_row():
    rejects = pd.DataFrame({"target_table": ["intervals"] * 3 + ["meters"],
                            "category": ["duplicate_exact", "duplicate_conflicting",
                                         "rejected", "rejected"]})
    acc = rules.accounting(landed=10, kept=7, rejects=rejects, target="intervals")
    assert acc == {"landed": 10, "kept": 7, "duplicates_exact": 1,
                   "duplicates_conflicting": 1, "rejected": 1}
    assert rules.check_conservation(acc).passed
    lost = rules.check_conservation(rules.accounting(10, 6, rejects, "intervals"))
    assert not lost.passed and lost.failed_count == 1 and lost.details["unaccounted"] == 1
