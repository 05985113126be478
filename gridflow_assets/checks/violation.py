"""What a failing check violated, in one sentence a data steward reads: the count and the
thing violated ("1,361 interval readings differ from the register difference across them
(V7)"), where the check's description states the rule it holds the data to.

``violation`` is the one entry: a passing result has none; a failing one is worded by its
check's kind (and, for the ``vee__`` and ``reconcile__`` checks, whose details differ from
check to check, by its name), at most ``MAX_CHARS`` characters. The words are made only
from what the result already holds (failed count, details) and what the plan names
(``CheckPlan.subject``), never from the sample: a partition checked bucket by bucket says
the same as checked whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gridflow_assets.checks.plan import CheckPlan
from gridflow_assets.checks.rules import RuleResult

MAX_CHARS = 160


def _n(n: int, noun: str, plural: str | None = None) -> str:
    """'1 row', '1,049 rows'."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def _pct(x: float) -> str:
    """A share with enough digits to tell 0.03% from 0 and 99.97% from 100%."""
    return f"{x:.2%}" if 0 < x < 0.01 or 0.99 < x < 1 else f"{x:.1%}"


def _sentence(head: str, parts: list[str]) -> str:
    """``head: part, part, …`` with as many parts as fit in ``MAX_CHARS`` (the rest
    counted: 'and 3 more')."""
    if not parts:
        return _cut(head)
    for shown in range(len(parts), 0, -1):
        rest = len(parts) - shown
        text = f"{head}: {', '.join(parts[:shown])}" + (f" and {rest} more" if rest else "")
        if len(text) <= MAX_CHARS:
            return text
    return _cut(head)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def _counted(counts: dict, words: Callable[[str], str]) -> list[str]:
    """``words(key) (count)`` for every non-zero count, most first (ties in order)."""
    ranked = sorted((kv for kv in counts.items() if kv[1]), key=lambda kv: -kv[1])
    return [f"{words(str(k))} ({n:,})" for k, n in ranked]


# ------------------------------------------------------------------- registry-implied kinds

# pandera's check names (as ``details`` keys hold them, ``column: check``) in words
_CHECK_WORDS: list[tuple[str, Callable[[str, re.Match], str]]] = [
    (r"not_nullable", lambda c, m: f"{c} null"),
    (r"dtype\('(.+)'\)", lambda c, m: f"{c} not {m[1]}"),
    (r"column_in_dataframe", lambda c, m: "missing columns"),
    (r"column_in_schema", lambda c, m: "columns not in the schema"),
    (r"greater_than_or_equal_to\((.+)\)", lambda c, m: f"{c} < {m[1]}"),
    (r"less_than_or_equal_to\((.+)\)", lambda c, m: f"{c} > {m[1]}"),
    (r"greater_than\((.+)\)", lambda c, m: f"{c} ≤ {m[1]}"),
    (r"less_than\((.+)\)", lambda c, m: f"{c} ≥ {m[1]}"),
    (r"in_range\((.+), (.+)\)", lambda c, m: f"{c} outside [{m[1]}, {m[2]}]"),
    (r"isin\(.*\)", lambda c, m: f"{c} not an allowed value"),
]


def _case_words(key: str) -> str:
    """A ``column: check`` of pandera's failure cases as the steward reads it."""
    column, _, check = key.partition(": ")
    for pattern, words in _CHECK_WORDS:
        m = re.fullmatch(pattern, check)
        if m:
            return words(column, m)
    return key


def _schema(plan: CheckPlan, res: RuleResult) -> str:
    # failed_count counts failure cases: a missing column is one, each null one more
    head = f"{_n(res.failed_count, 'schema failure')} in {plan.subject}"
    return _sentence(head, _counted(res.details, _case_words))


def _range(plan: CheckPlan, res: RuleResult) -> str:
    n = res.failed_count  # rows
    head = (
        f"{_n(n, 'row')} {'holds a value' if n == 1 else 'hold values'} outside the declared ranges"
    )
    return _sentence(head, _counted(res.details, _case_words))


def _duplicates(plan: CheckPlan, res: RuleResult) -> str:
    keys, extra = res.details.get("duplicated_keys", 0), res.failed_count
    if plan.subject:
        head = f"{_n(keys, 'key')} of {plan.subject} {'occurs' if keys == 1 else 'occur'}"
        return _cut(f"{head} more than once ({_n(extra, 'extra row')})")
    copies = _n(extra, "extra copy", "extra copies")
    head = f"{_n(keys, 'row')} {'was' if keys == 1 else 'were'} delivered more than once"
    return _cut(f"{head}, identical in every column ({copies})")


def _orphans(plan: CheckPlan, res: RuleResult) -> str:
    n, d = res.failed_count, res.details
    rows = f"{_n(n, 'row')} {'references' if n == 1 else 'reference'}"
    if d.get("parent_missing"):
        return _cut(f"{rows} {d['parent']}, which holds nothing for this partition")
    keys = _n(d.get("orphan_keys", 0), "distinct key")
    return _cut(f"{rows} a {plan.subject} not in {d['parent']} ({keys})")


def _conservation(plan: CheckPlan, res: RuleResult) -> str:
    d = res.details
    duplicates = d["duplicates_exact"] + d["duplicates_conflicting"]
    gap = d["unaccounted"]
    lost = f"{_n(gap, 'row')} unaccounted" if gap > 0 else f"{_n(-gap, 'row')} more than landed"
    return _cut(
        f"landed {d['landed']:,} ≠ kept {d['kept']:,} + duplicates {duplicates:,} + "
        f"rejected {d['rejected']:,}: {lost}"
    )


# ------------------------------------------------------------------------------ VEE (vee__)

# What a reading that failed each validation rule is (docs/formats/domain-rules.md)
_FAILED_READINGS = {
    "V3": "off the grid or outside the month",
    "V4": "outside the high/low limits",
    "V5": "above the spike threshold",
    "V6": "in frozen runs",
}


def _crossed(d: dict, measure: str) -> str:
    """'97.2% < 98%': a graded measure against the level it crossed (ERROR's, else WARN's)."""
    grade = d["grades"][measure]
    limit = d["thresholds"][measure]["error" if grade == "ERROR" else "warn"]
    side = "<" if measure.endswith("_min") else ">"
    return f"{_pct(d['measures'][measure])} {side} {_pct(limit)}"


def _failed_grade(d: dict, measure: str) -> bool:
    return d.get("grades", {}).get(measure, "PASS") != "PASS"


def _vee_validation(plan: CheckPlan, res: RuleResult) -> str:
    n, d = res.failed_count, res.details
    by_rule = d.get("by_rule", {})
    parts = [
        f"{by_rule[r]:,} {words} ({r})" for r, words in _FAILED_READINGS.items() if by_rule.get(r)
    ]
    if d.get("delivered_failed"):
        parts.append(f"{d['delivered_failed']:,} delivered as failed (QUALITY_FAILED)")
    verb = "was" if n == 1 else "were"
    head = f"{_n(n, 'delivered reading')} failed validation or {verb} delivered as failed"
    return _sentence(head, parts)


def _vee_coverage(plan: CheckPlan, res: RuleResult) -> str:
    d = res.details
    parts = []
    if _failed_grade(d, "interval_coverage_min"):
        parts.append(
            f"{d['missing_intervals']:,} of {_n(d['expected_intervals'], 'expected interval')} "
            f"missing (V1), coverage {_crossed(d, 'interval_coverage_min')}"
        )
    if _failed_grade(d, "day_coverage_min"):
        days = d["expected_days"] - d["covered_days"]
        parts.append(
            f"{days:,} of {_n(d['expected_days'], 'expected day')} not covered (V9), "
            f"{_crossed(d, 'day_coverage_min')}"
        )
    return _cut("; ".join(parts) or f"{_n(res.failed_count, 'expected interval')} missing (V1)")


def _vee_estimation(plan: CheckPlan, res: RuleResult) -> str:
    d = res.details
    # E1-E3 made the estimates; E4 re-validated every one of them
    by_rule = [f"{r} {n:,}" for r, n in d["by_rule"].items() if n and r != "E4"]
    vee = _n(res.failed_count, "reading")
    parts = [f"{vee} estimated by VEE" + (f" ({', '.join(by_rule)})" if by_rule else "")]
    if d.get("estimated_by_utility"):
        parts.append(f"{d['estimated_by_utility']:,} by the utility")
    return _sentence(f"estimated share {_crossed(d, 'estimated_share_max')}", parts)


def _vee_register(plan: CheckPlan, res: RuleResult) -> str:
    n = res.failed_count
    head = (
        f"{_n(n, 'interval reading')} {'differs' if n == 1 else 'differ'} from the register "
        "difference across them (V7)"
    )
    channels = res.details.get("by_channel", {})
    return _sentence(
        head, _counted(channels, lambda c: f"channel {c}") if len(channels) > 1 else []
    )


_VEE = {
    "vee__validation": _vee_validation,
    "vee__coverage": _vee_coverage,
    "vee__estimation": _vee_estimation,
    "vee__register_consistency": _vee_register,
}


# ---------------------------------------------------------------- reconciliation (reconcile__)

# Per check: the rows it judges, what failing ones did not do, and each rule counted in words
_RECONCILE: dict[str, tuple[str, str, dict[str, str]]] = {
    "reconcile__bill_arithmetic": (
        "bill",
        "reconcile with the rates and tariff in force",
        {
            "total": "total ≠ its components",
            "gst": "GST off",
            "electricity_duty": "electricity duty off",
            "tv_fee": "TV fee off",
            "within_due": "within-due amount ≠ total",
            "after_due": "after-due amount off",
            "energy_vs_tariff": "energy charge ≠ tariff",
            "fixed_vs_tariff": "fixed charge ≠ tariff",
        },
    ),
    "reconcile__billed_units": (
        "bill",
        "match their meter's readings",
        {
            "no_readings": "no readings",
            "hourly_sum": "units ≠ hourly sum",
            "register_difference": "units ≠ register difference",
        },
    ),
    "reconcile__not_derived": (
        "bill",
        "have a known consumer type and district (UNKNOWN: not delivered, not derivable)",
        {"consumer_type": "consumer type", "district": "district"},
    ),
    "reconcile__payments": (
        "payment",
        "agree with their bill",
        {
            "bill_missing": "bill missing",
            "overpaid": "overpaid",
            "surcharge": "surcharge not as owed",
            "status": "status disagrees with the payments",
        },
    ),
}


def _reconcile(plan: CheckPlan, res: RuleResult) -> str:
    n = res.failed_count
    noun, failed_to, words = _RECONCILE.get(plan.name, ("row", "reconcile", {}))
    head = f"{_n(n, noun)} {'does' if n == 1 else 'do'} not {failed_to}"
    return _sentence(head, _counted(res.details, lambda k: words.get(k, k)))


def _vee(plan: CheckPlan, res: RuleResult) -> str:
    say = _VEE.get(plan.name)
    return say(plan, res) if say else _fallback(plan, res)


def _fallback(plan: CheckPlan, res: RuleResult) -> str:
    return _cut(f"{_n(res.failed_count, 'row')} failed {plan.name}")


BY_KIND: dict[str, Callable[[CheckPlan, RuleResult], str]] = {
    "schema": _schema,
    "duplicates": _duplicates,
    "orphans": _orphans,
    "range": _range,
    "conservation": _conservation,
    "vee": _vee,
    "reconcile": _reconcile,
}


def worded(plan: CheckPlan) -> bool:
    """Whether ``plan``'s violations have words of their own (not the fallback)."""
    if plan.kind == "vee":
        return plan.name in _VEE
    if plan.kind == "reconcile":
        return plan.name in _RECONCILE
    return plan.kind in BY_KIND


def violation(plan: CheckPlan, res: RuleResult) -> str | None:
    """What ``res`` violated, in one sentence of at most ``MAX_CHARS`` characters naming
    the count; None when it passed."""
    if res.passed:
        return None
    return _cut(BY_KIND.get(plan.kind, _fallback)(plan, res))
