"""Ranking partitions by how much needs acting on, trends that compare like with like, and
ticket lines that name the VEE rules: on crafted totals, checks and cards (no run)."""

import pytest

from gridflow_assets.dq import assess, rank
from gridflow_assets.dq.scorecard import expected_day_coverage


def _totals(landed: int, exact=0, conflicting=0, rejected=0, orphans=0) -> dict:
    return {
        "landed": landed,
        "kept": landed - exact - conflicting - rejected,
        "duplicates_exact": exact,
        "duplicates_conflicting": conflicting,
        "rejected": rejected,
        "orphans": orphans,
    }


def _check(check: str, kind: str, failed: int, severity: str = "WARN", details=None) -> dict:
    return {
        "asset": "silver/intervals",
        "check": check,
        "kind": kind,
        "passed": failed == 0,
        "severity": severity,
        "failed_count": failed,
        "details": details or {},
        "description": "d",
    }


def _card(utility: str, month: str, totals: dict, checks=(), status=assess.WARNINGS) -> dict:
    return {
        "utility": utility,
        "month": month,
        "action": rank.action(totals, list(checks), status),
    }


# The demo's three kinds of partition, as the issue describes them.
IESCO = _card("IESCO", "2025-06", _totals(72_414, exact=36))
UTILITY2 = _card(
    "UTILITY2", "2025-03", _totals(35_620, exact=1_136, conflicting=29_413, orphans=1_160)
)
UTILITY1 = _card("UTILITY1", "2025-03", _totals(36_953, exact=365, conflicting=358, rejected=16))


def test_materially_different_partitions_get_different_grades_and_ranks():
    ranked = rank.rank_cards([IESCO, UTILITY1, UTILITY2])
    assert [(c["utility"], c["action"]["rank"]) for c in ranked] == [
        ("UTILITY2", 1),
        ("UTILITY1", 2),
        ("IESCO", 3),
    ]
    grades = [c["action"]["grade"] for c in ranked]
    assert grades == ["E", "C", "A"]
    # 0.05 % exact duplicates weigh 0.1 each: 3.6 weighted rows of 72,414
    assert IESCO["action"]["score"] == pytest.approx(3.6 / 72_414, abs=1e-6)
    assert rank.main_reasons(UTILITY2) == ("conflicting duplicates 29,413, orphan references 1,160")


def test_conflicting_duplicates_rejects_and_orphans_weigh_more_than_exact_ones():
    exact = rank.action(_totals(1_000, exact=50), [], assess.WARNINGS)
    for heavy in ("conflicting", "rejected", "orphans"):
        other = rank.action(_totals(1_000, **{heavy: 50}), [], assess.WARNINGS)
        assert other["score"] == pytest.approx(10 * exact["score"]), heavy
    assert exact["grade"] == "B" and other["grade"] == "D"


def test_failed_value_checks_count_and_explained_checks_are_not_counted_twice():
    checks = [
        _check("range__values", "range", 40),
        _check("vee__validation", "vee", 20),
        _check("orphans__meter_id", "orphans", 500),  # already in totals["orphans"]
        _check("duplicates__exact_rows", "duplicates", 300),  # already in the accounting
        _check("vee__coverage", "vee", 900),  # missing intervals, not rows to act on
    ]
    a = rank.action(_totals(10_000, orphans=500), checks, assess.WARNINGS)
    assert a["rows"]["failed_warn_values"] == 60 and a["rows"]["orphans"] == 500
    assert a["weighted_rows"] == 500 + 0.5 * 60


def test_a_blocked_partition_ranks_first_whatever_its_score():
    lossy = _card(
        "LOSSY",
        "2025-03",
        _totals(10),
        [_check("conservation__accounting", "conservation", 1, "ERROR")],
        status=assess.BLOCKED,
    )
    ranked = rank.rank_cards([UTILITY2, lossy])
    assert [c["utility"] for c in ranked] == ["LOSSY", "UTILITY2"]
    assert lossy["action"]["grade"] == "F" and lossy["action"]["rows"]["failed_error"] == 1
    assert rank.utility_order(ranked) == ["LOSSY", "UTILITY2"]


def test_grade_bands():
    assert [rank.grade_of(x, False)[0] for x in (0, 0.0009, 0.005, 0.04, 0.1, 0.9)] == [
        "A",
        "A",
        "B",
        "C",
        "D",
        "E",
    ]
    assert rank.grade_of(None, False)[0] == "A" and rank.grade_of(0, True)[0] == "F"


def _trend_card(calendar_days: float, expected_days: float | None, score=0.01) -> dict:
    return {
        "measures": {
            "day_coverage": calendar_days,
            "expected_day_coverage": expected_days,
            "action_score": score,
        },
        "checks": {"failed_warn": 1, "failed_error": 0},
    }


def test_trend_judges_days_over_the_expected_days_not_the_calendar():
    """UTILITY1 delivers the same three whole days a channel each month: 3/28 in February,
    3/31 in March. Over the days its format expects, both months are fully covered."""
    t = assess.Thresholds()
    feb, mar = _trend_card(3 / 28, 1.0), _trend_card(3 / 31, 1.0)
    assert assess.trend(mar, feb, t) == ("stable", [])
    worse, notes = assess.trend(_trend_card(3 / 31, 0.8), feb, t)
    assert worse == "worse" and notes == ["day coverage of expected days 100.0% → 80.0%"]


def test_trend_follows_the_score_a_share_not_a_count():
    t = assess.Thresholds()
    assert assess.trend(_trend_card(1, 1, 0.30), _trend_card(1, 1, 0.01), t) == (
        "worse",
        ["rows to act on (score) 1.0% → 30.0%"],
    )


def test_expected_day_coverage_comes_from_vee_coverage():
    cov = _check("vee__coverage", "vee", 0, details={"day_coverage": 0.75})
    assert expected_day_coverage([_check("range__values", "range", 0), cov]) == 0.75
    assert expected_day_coverage([]) is None


def _profile(calendar_days: float) -> dict:
    return {
        "month": "2025-03",
        "coverage": {
            "interval_coverage": 1.0,
            "day_coverage": calendar_days,
            "series": 56,
            "channels_with_gaps": 0,
            "days_in_month": 31,
        },
        "time_range": {"rows_outside_month": 0},
    }


def test_days_not_covered_are_judged_over_the_expected_days():
    t = assess.Thresholds()
    sampled = _profile(3 / 31)  # three whole days per channel, as UTILITY1 delivers
    assert assess._coverage_issues(sampled, t, 1.0) == []
    (gap,) = assess._coverage_issues(sampled, t, 0.5)
    assert gap["text"].startswith("Only 50.0% of the days the 56 meter channels are expected")
    (calendar,) = assess._coverage_issues(sampled, t, None)  # no VEE result: the calendar
    assert "× 31 days of 2025-03" in calendar["text"]


def test_a_vee_validation_ticket_names_the_rules_that_fired():
    details = {
        "by_rule": {"V1": 21, "V2": 36, "V3": 0, "V5": 11, "V9": 2, "E2": 46},
        "delivered_failed": 25,
    }
    check = _check("vee__validation", "vee", 36, details=details)
    (issue,) = assess.pipeline_issues({"missing_tables": [], "accounting": []}, [check], set())
    assert issue["audience"] == "utility"
    assert issue["text"] == (
        "silver/intervals vee__validation: 36 rows failed — rules fired: V1 21 missing "
        "intervals, V2 36 duplicates set aside, V5 11 spikes, V9 2 expected days not covered, "
        "25 readings delivered as failed (QUALITY_FAILED)."
    )
    other = _check("reconcile__payments", "reconcile", 1)
    (plain,) = assess.pipeline_issues({"missing_tables": [], "accounting": []}, [other], set())
    assert plain["text"].endswith("1 row failed — d.")
