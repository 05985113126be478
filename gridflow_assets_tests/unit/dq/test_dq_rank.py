"""Ranking partitions by how much needs acting on, trends that compare like with like, and
ticket lines that name the VEE rules: on crafted totals, checks and cards (no run)."""

import dataclasses

import pytest

from gridflow_assets.dq import assess, rank
from gridflow_assets.dq.scorecard import expected_day_coverage
from gridflow_assets.silver import adapters as utilities


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


def _card(
    utility: str,
    month: str,
    totals: dict,
    checks=(),
    status=assess.WARNINGS,
    in_full: bool = False,
) -> dict:
    """A card of ``utility``, graded against its registry baseline, or ``in_full`` (no
    utility to look a baseline up for: every row counts)."""
    return {
        "utility": utility,
        "month": month,
        "action": rank.action(totals, list(checks), status, None if in_full else utility),
    }


# The demo's three kinds of partition, as the issue describes them, graded in full: what
# they hold, whatever is normal for their format.
IESCO = _card("IESCO", "2025-06", _totals(72_414, exact=36), in_full=True)
UTILITY2 = _card(
    "UTILITY2",
    "2025-03",
    _totals(35_620, exact=1_136, conflicting=29_413, orphans=1_160),
    in_full=True,
)
UTILITY1 = _card(
    "UTILITY1",
    "2025-03",
    _totals(36_953, exact=365, conflicting=358, rejected=16),
    in_full=True,
)


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
    exact = rank.action(_totals(1_000, exact=50), [], assess.WARNINGS, None)
    for heavy in ("conflicting", "rejected", "orphans"):
        other = rank.action(_totals(1_000, **{heavy: 50}), [], assess.WARNINGS, None)
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
    a = rank.action(_totals(10_000, orphans=500), checks, assess.WARNINGS, None)
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


# Baselines: a utility graded against what is normal for its format. The figures are the
# demo drops' (`gridflow generate`, realistic faults, then `gridflow run` and `gridflow dq`).
def _u2_checks(orphans_sp: int, orphans_meter: int, exact: int, v7: int, vee: int) -> list:
    """UTILITY2's failing checks in a normal demo month (orphans and exact duplicates are
    already in the totals; V7 and vee__validation are its WARN value rows)."""
    return [
        _check("duplicates__exact_rows", "duplicates", exact),
        _check("orphans__service_point_id", "orphans", orphans_sp),
        _check("orphans__meter_id", "orphans", orphans_meter),
        _check("vee__validation", "vee", vee),
        _check("vee__register_consistency", "vee", v7),
    ]


# UTILITY2/2025-03 (40 meters): 82.6 % conflicting duplicates, 3.3 % orphans, 4.5 % WARN
# value rows (V7 1,513 + vee__validation 77), 3.2 % exact duplicates.
U2_MARCH = (
    _totals(35_620, exact=1_136, conflicting=29_413, orphans=1_160),
    _u2_checks(837, 310, 1_136, 1_513, 77),
)
U2_USUAL = {
    "2025-02": (
        _totals(32_186, exact=1_141, conflicting=26_452, orphans=1_049),
        _u2_checks(756, 280, 1_141, 1_361, 73),
    ),
    "2025-03": U2_MARCH,
    # 100 meters, another seed: the highest orphan and WARN value shares measured
    "2025-05": (
        _totals(82_046, exact=2_794, conflicting=67_551, orphans=2_878),
        _u2_checks(2_000, 878, 2_794, 4_000, 176),
    ),
}


@pytest.mark.parametrize("month", sorted(U2_USUAL))
def test_utility2_at_its_usual_shares_grades_b_or_better(month):
    totals, checks = U2_USUAL[month]
    in_full = rank.action(totals, checks, assess.WARNINGS, None)
    a = rank.action(totals, checks, assess.WARNINGS, "UTILITY2")
    assert in_full["grade"] == "E"  # as every month before the baseline
    assert a["grade"] in ("A", "B"), a
    # every class sits within UTILITY2's normal, and the reasons say so
    assert all(a["rows"][k] <= n for k, n in a["expected_rows"].items())


def test_utility2_reasons_say_a_class_is_within_its_normal():
    card = _card("UTILITY2", "2025-03", *U2_MARCH)
    assert rank.main_reasons(card) == (
        "conflicting duplicates 29,413 (within UTILITY2's normal 88%), "
        "orphan references 1,160 (within UTILITY2's normal 5%)"
    )


def test_the_same_month_with_ten_times_the_orphans_grades_d_or_worse():
    totals, checks = U2_MARCH
    tenfold = {**totals, "orphans": 10 * totals["orphans"]}  # flags on kept rows: same landed
    card = _card("UTILITY2", "2025-03", tenfold, checks)
    a = card["action"]
    assert a["grade"] in ("D", "E"), a
    # only the orphans above the normal 5 % of 35,620 landed (1,781) count
    assert a["expected_rows"]["orphans"] == 1_781
    assert a["weighted_rows"] == 11_600 - 1_781
    assert rank.main_reasons(card).startswith(
        "orphan references 11,600 (9,819 above UTILITY2's normal 5%), conflicting duplicates"
    )
    normal = _card("UTILITY2", "2025-03", *U2_MARCH)
    assert [c["month"] for c in rank.rank_cards([normal, {**card, "month": "2025-04"}])] == [
        "2025-04",
        "2025-03",
    ]


def test_the_full_counts_stay_in_rows_and_the_baseline_is_shown():
    totals, checks = U2_MARCH
    a = rank.action(totals, checks, assess.WARNINGS, "UTILITY2")
    assert a["rows"] == rank.action(totals, checks, assess.WARNINGS, None)["rows"]
    assert a["rows"] == {
        "duplicates_conflicting": 29_413,
        "rejected": 0,
        "orphans": 1_160,
        "failed_error": 0,
        "failed_warn_values": 1_590,
        "duplicates_exact": 1_136,
    }
    declared = utilities.get_utility("UTILITY2").settings["dq"]["baseline"]
    assert a["baseline"] == declared
    assert a["expected_rows"] == {k: round(s * 35_620) for k, s in declared.items()}
    assert a["landed"] == 35_620


def test_a_utility_without_a_baseline_grades_exactly_as_before():
    """IESCO declares no baseline, an id outside the registry has none: every class counts
    in full, Σ weight × rows / landed, as before baselines."""
    totals = _totals(72_414, exact=36, conflicting=50, rejected=30, orphans=20)
    checks = [_check("range__values", "range", 15), _check("vee__validation", "vee", 25)]
    before = (50 + 30 + 20 + 0.5 * 40 + 0.1 * 36) / 72_414
    for utility in ("IESCO", "NOT_REGISTERED", None):
        a = rank.action(totals, checks, assess.WARNINGS, utility)
        assert a["baseline"] == {} and a["expected_rows"] == {}, utility
        assert a["score"] == pytest.approx(before, abs=1e-6) and a["grade"] == "B", utility
        assert a["weighted_rows"] == 123.6
    # UTILITY2's March in full is the score the DQ snapshot showed before baselines
    assert rank.action(*U2_MARCH, assess.WARNINGS, None)["score"] == 0.883818
    card = _card("IESCO", "2025-06", totals, checks)
    assert rank.main_reasons(card) == "conflicting duplicates 50, rejected 30"


def test_utility1_at_its_usual_shares_grades_b_or_better():
    """UTILITY1/2025-06 (100 meters): 0.97 % conflicting and 0.99 % exact duplicates, its
    format's corrected and identical re-sends; the rejects, orphans and VEE rows count."""
    totals = _totals(85_110, exact=844, conflicting=824, rejected=35, orphans=25)
    checks = [_check("vee__validation", "vee", 121)]
    assert rank.action(totals, checks, assess.WARNINGS, None)["grade"] == "C"
    a = rank.action(totals, checks, assess.WARNINGS, "UTILITY1")
    assert a["grade"] == "B"
    assert a["weighted_rows"] == 35 + 25 + 0.5 * 121
    # three times its duplicates (the generator's heavy faults) still shows
    heavy = _totals(88_444, exact=2_524, conflicting=2_467, rejected=115, orphans=74)
    assert rank.action(heavy, checks, assess.WARNINGS, "UTILITY1")["grade"] == "C"


def test_every_registered_baseline_is_a_known_class_with_a_one_line_reason():
    for u in utilities.all_utilities():
        dq = u.settings.get("dq", {})
        baseline = rank.baseline_of(u.utility_id)
        assert baseline == dq.get("baseline", {}), u.utility_id
        reasons = dq.get("baseline_reason", {})
        assert set(reasons) == set(baseline), u.utility_id
        for k, share in baseline.items():
            assert 0 < share < 1, (u.utility_id, k)
            assert reasons[k].strip() and "\n" not in reasons[k], (u.utility_id, k)


@pytest.mark.parametrize(
    "baseline",
    [{"duplicate_conflicting": 0.5}, {"orphans": 1.5}, {"orphans": "5%"}],
)
def test_a_mistaken_baseline_is_refused(baseline):
    fake = dataclasses.replace(
        utilities.get_utility("IESCO"),
        utility_id="FAKE_RANK",
        settings={"dq": {"baseline": baseline}},
    )
    utilities.register(fake)
    try:
        with pytest.raises(ValueError, match="FAKE_RANK"):
            rank.action(_totals(100, orphans=1), [], assess.WARNINGS, "FAKE_RANK")
    finally:
        utilities.unregister("FAKE_RANK")


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
    # without a violation in words, the count; never the rule's own text (a rule is not a
    # violation)
    assert plain["text"] == "silver/intervals reconcile__payments: 1 row failed."
    worded = _check("reconcile__payments", "reconcile", 1)
    worded["violation"] = "1 payment does not agree with its bill: overpaid (1)"
    (said,) = assess.pipeline_issues({"missing_tables": [], "accounting": []}, [worded], set())
    assert said["text"] == (
        "silver/intervals reconcile__payments: 1 payment does not agree with its bill: "
        "overpaid (1)."
    )
