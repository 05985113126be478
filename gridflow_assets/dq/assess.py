"""Judging a partition: its status, the issues in words, and the trend since last month.

Severity follows docs/architecture.md. What the utility delivered (duplicates, rejects, orphans,
gaps, estimates, ranges) never blocks: it becomes an issue to raise with the utility and the
partition is "ready with warnings". A broken pipeline guarantee (a failed ERROR check, an
accounting that does not reconcile, a table that was not built) blocks sign-off.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from gridflow_assets.domain.codes import REASON_CODES
from gridflow_assets.dq.checklist import interval_label

READY, WARNINGS, BLOCKED = "ready", "ready with warnings", "blocked"
DESCRIPTION = dict(zip(REASON_CODES.code, REASON_CODES.description, strict=True))
# Flags that say something about the delivery (worth a ticket); the others record how the
# pipeline resolved something already reported (e.g. V2_CONFLICT_WINNER beside DUP_CONFLICT).
UTILITY_FLAGS = (
    "QUALITY_UNKNOWN",
    "CHANNEL_UNKNOWN",
    "SP_OUTSIDE_INSTALL_WINDOW",
    "METER_TYPE_FLIP",
)
EXPLAINED_KINDS = ("duplicates", "orphans", "conservation")
# What each VEE validation rule counts (docs/formats/domain-rules.md), for ticket lines.
VEE_RULES = {
    "V1": "missing intervals",
    "V2": "duplicates set aside",
    "V3": "readings off the grid or outside the month",
    "V4": "readings outside the high/low limits",
    "V5": "spikes",
    "V6": "readings in frozen runs",
    "V7": "readings disagreeing with their register",
    "V8": "readings of an unknown meter or service point",
    "V9": "expected days not covered",
}


@dataclass(frozen=True)
class Thresholds:
    """Limits below (or above) which a measure becomes an issue for the utility.

    Defaults follow docs/formats/domain-rules.md (V9 coverage, E4 estimates); a utility overrides them with
    ``Utility.settings["dq"]`` (e.g. a contract allowing more estimates).
    """

    interval_coverage_min: float = 0.98
    day_coverage_min: float = 0.90
    estimated_share_max: float = 0.05
    completeness_min: float = 0.99
    trend_tolerance: float = 0.005  # a share must move by more than this to be a trend

    def for_utility(self, utility: str) -> Thresholds:
        try:
            # the adapters are imported when a card is built, not to render a snapshot
            from gridflow_assets.silver.adapters import get_utility

            overrides = get_utility(utility).settings.get("dq", {})
        except KeyError:
            return self
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if k in known})

    def as_dict(self) -> dict:
        return asdict(self)


def pct(x: float) -> str:
    """A share with enough digits to tell 0.03% from 0 and 99.97% from 100%."""
    return f"{x:.2%}" if 0 < x < 0.01 or 0.99 < x < 1 else f"{x:.1%}"


def count_of(n: int, noun: str = "row") -> str:
    """'1 row', '1,096 rows': issues are read by people."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _issue(severity: str, audience: str, topic: str, text: str) -> dict:
    return {"severity": severity, "audience": audience, "topic": topic, "text": text}


def _example(r: dict) -> str:
    where = f"{r['example_file'].rsplit('/', 1)[-1]} row {r['example_row']}"
    if r.get("column"):
        where += f", column {r['column']}"
    return where


def _reject_issues(p: dict) -> list[dict]:
    out = []
    landed = {a["table"]: a["landed"] for a in p["accounting"]}
    for r in sorted(p["rejects"], key=lambda r: (r["category"] != "rejected", -r["rows"])):
        total = landed.get(r["table"])
        of = f"{pct(r['rows'] / total)} of {total:,} landed" if total else "of the rows"
        eg = f"e.g. {_example(r)}"
        if r["category"] == "duplicate_exact":
            text = (
                f"{r['table']}: {count_of(r['rows'])} delivered more than once, identical "
                f"({of}; DUP_EXACT, {eg})."
            )
        elif r["category"] == "duplicate_conflicting":
            detail = (r.get("detail") or "").rstrip(".")
            why = f" {detail[:1].upper()}{detail[1:]}." if detail else ""
            text = (
                f"{r['table']}: {count_of(r['rows'])} in conflict with a kept row "
                f"({of}; DUP_CONFLICT, {eg}).{why}"
            )
        else:
            desc = DESCRIPTION.get(r["reason_code"], "").rstrip(".")
            text = (
                f"{r['table']}: {count_of(r['rows'])} rejected ({of}), {r['reason_code']}: "
                f"{desc}; {eg}."
            )
        out.append(_issue("warning", "utility", "rejects", text))
    return out


def _orphan_issues(p: dict) -> list[dict]:
    out = []
    for o in p["orphans"]:
        if not o["rows"]:
            continue
        eg = (
            f" E.g. {', '.join(o['examples'])}."
            if o["examples"]
            else " The ids are PII: see the check sample in Dagster."
            if o["pii"]
            else ""
        )
        out.append(
            _issue(
                "warning",
                "utility",
                "orphans",
                f"{o['table']}: {o['rows']:,} of {count_of(o['total'])} reference "
                f"{count_of(o['keys'], 'unknown ' + o['foreign_key'])} (not in "
                f"{o['parent']}).{eg}",
            )
        )
    return out


def _value_issues(p: dict, checks: list[dict]) -> list[dict]:
    out = []
    for c in checks:
        if c["kind"] == "range" and not c["passed"]:
            detail = "; ".join(f"{k}: {v:,}" for k, v in c.get("details", {}).items())
            out.append(
                _issue(
                    "warning",
                    "utility",
                    "ranges",
                    f"{c['asset']}: {count_of(c['failed_count'])} outside declared "
                    f"ranges ({detail}).",
                )
            )
    for v in p["value_stats"]:
        if v["direction"] == "delivered" and v["reading_kind"] == "interval" and v["negative"]:
            out.append(
                _issue(
                    "warning",
                    "utility",
                    "values",
                    f"{v['negative']:,} negative {v['measurement']} readings on "
                    f"delivered {interval_label(v['interval_s'])} channels; negative "
                    "energy belongs on received or net channels only (V4).",
                )
            )
    return out


def _coverage_issues(p: dict, t: Thresholds, expected_days: float | None) -> list[dict]:
    """Gaps inside delivered days, and days not covered. Days are judged over the days the
    utility's format expects (``expected_days``: VEE's V9, when the check ran), not over
    the calendar month: a New York drop carries a few whole days per meter by design."""
    out = []
    cov = p["coverage"]
    share = cov["interval_coverage"]
    if share is not None and share < t.interval_coverage_min:
        out.append(
            _issue(
                "warning",
                "utility",
                "coverage",
                f"Interval coverage {pct(share)} (expected ≥ "
                f"{pct(t.interval_coverage_min)}): {cov['channels_with_gaps']:,} "
                "meter channels miss readings inside delivered days.",
            )
        )
    elif cov["channels_with_gaps"]:
        out.append(
            _issue(
                "warning",
                "utility",
                "coverage",
                f"{cov['channels_with_gaps']:,} meter channels miss readings inside "
                f"delivered days (coverage {pct(share)}).",
            )
        )
    if expected_days is not None:
        if expected_days < t.day_coverage_min:
            out.append(
                _issue(
                    "warning",
                    "utility",
                    "coverage",
                    f"Only {pct(expected_days)} of the days the {cov['series']:,} meter "
                    "channels are expected to deliver are covered (V9; expected ≥ "
                    f"{pct(t.day_coverage_min)}).",
                )
            )
    elif cov["day_coverage"] is not None and cov["day_coverage"] < t.day_coverage_min:
        out.append(
            _issue(
                "warning",
                "utility",
                "coverage",
                f"Only {pct(cov['day_coverage'])} of the {cov['series']:,} meter "
                f"channels × {cov['days_in_month']} days of {p['month']} have "
                f"readings (expected ≥ {pct(t.day_coverage_min)}).",
            )
        )
    if p["time_range"]["rows_outside_month"]:
        out.append(
            _issue(
                "warning",
                "utility",
                "timestamps",
                f"{p['time_range']['rows_outside_month']:,} readings fall outside "
                f"{p['month']} in local time.",
            )
        )
    return out


def _quality_issues(p: dict, t: Thresholds) -> list[dict]:
    out = []
    q = p["quality"]
    if q["estimated_share"] is not None and q["estimated_share"] > t.estimated_share_max:
        out.append(
            _issue(
                "warning",
                "utility",
                "estimates",
                f"{pct(q['estimated_share'])} of readings are estimated (quality "
                f"8/9; expected ≤ {pct(t.estimated_share_max)}).",
            )
        )
    for c in p["completeness"]:
        if c["share"] is not None and c["share"] < t.completeness_min:
            out.append(
                _issue(
                    "warning",
                    "utility",
                    "completeness",
                    f"{c['table']}.{c['column']} is filled in {pct(c['share'])} "
                    f"of {c['rows']:,} rows (expected ≥ {pct(t.completeness_min)}).",
                )
            )
    for table, counts in p["flags"].items():
        for code in UTILITY_FLAGS:
            if counts.get(code):
                out.append(
                    _issue(
                        "warning",
                        "utility",
                        "flags",
                        f"{table}: {count_of(counts[code])} flagged {code} — {DESCRIPTION[code]}",
                    )
                )
    return out


def utility_issues(
    p: dict, checks: list[dict], t: Thresholds, expected_days: float | None = None
) -> list[dict]:
    """Issues to raise with the utility, in words, most actionable first: rows lost or set
    aside (with an example row to look up), broken references, odd values, gaps, quality.
    ``expected_days``: the share of expected days covered (``scorecard.expected_day_coverage``)."""
    return (
        _reject_issues(p)
        + _orphan_issues(p)
        + _value_issues(p, checks)
        + _coverage_issues(p, t, expected_days)
        + _quality_issues(p, t)
    )


def rules_fired(details: dict) -> str:
    """The VEE validation rules a ``vee__validation`` result counted, with their counts, in
    words ('rules fired: V1 21 missing intervals, V2 36 duplicates set aside; 25 readings
    delivered as failed'); empty for a result without rule counts."""
    by_rule = details.get("by_rule") or {}
    fired = [f"{r} {by_rule[r]:,} {name}" for r, name in VEE_RULES.items() if by_rule.get(r)]
    failed = details.get("delivered_failed") or 0
    if failed:
        fired.append(f"{count_of(failed, 'reading')} delivered as failed (QUALITY_FAILED)")
    return "rules fired: " + ", ".join(fired) if fired else ""


def _violated(c: dict) -> str:
    """What a failed check found violated, in words (the check's ``violation``), else its
    count and the rules that fired."""
    fired = rules_fired(c.get("details") or {})
    if c.get("violation"):
        return c["violation"].rstrip(".") + (f"; {fired}" if fired else "")
    return f"{count_of(c['failed_count'])} failed" + (f" — {fired}" if fired else "")


def pipeline_issues(p: dict, checks: list[dict], expected: set[tuple[str, str]]) -> list[dict]:
    """What keeps the platform from vouching for the partition (ours to fix, not theirs)."""
    out = []
    if p["missing_tables"]:
        out.append(
            _issue(
                "blocking",
                "pipeline",
                "tables",
                f"Not built: {', '.join(p['missing_tables'])} (the run failed or "
                "stopped at a blocking check).",
            )
        )
    for a in p["accounting"]:
        if not a["reconciles"]:
            what = "lost without a trace" if a["unaccounted"] > 0 else "more than landed"
            out.append(
                _issue(
                    "blocking",
                    "pipeline",
                    "accounting",
                    f"{a['table']}: {count_of(abs(a['unaccounted']))} {what} (landed "
                    f"{a['landed']:,} ≠ kept {a['kept']:,} + duplicates "
                    f"{a['duplicates_exact'] + a['duplicates_conflicting']:,} + "
                    f"rejected {a['rejected']:,}).",
                )
            )
    for c in checks:
        if c["passed"]:
            continue
        if c["severity"] == "ERROR":
            out.append(
                _issue(
                    "blocking",
                    "pipeline",
                    "checks",
                    f"{c['asset']} {c['check']} failed (ERROR): "
                    + (c.get("violation") or count_of(c["failed_count"]))
                    + ".",
                )
            )
        elif c["kind"] not in (*EXPLAINED_KINDS, "range"):
            out.append(
                _issue(
                    "warning",
                    "utility",
                    "checks",
                    f"{c['asset']} {c['check']}: " + _violated(c) + ".",
                )
            )
    seen = {(c["asset"], c["check"]) for c in checks}
    missing = sorted(expected - seen)
    if missing:
        eg = ", ".join(f"{a} {n}" for a, n in missing[:3])
        out.append(
            _issue(
                "warning",
                "pipeline",
                "checks",
                f"{len(missing)} expected checks have no result (e.g. {eg}): not "
                "run, or failed to execute.",
            )
        )
    return out


def status_of(issues: list[dict], checks: list[dict]) -> str:
    if any(i["severity"] == "blocking" for i in issues):
        return BLOCKED
    if issues or any(not c["passed"] for c in checks):
        return WARNINGS
    return READY


# name, key in the card's measures, True when higher is better. Shares only (a month with
# more rows is not worse for it), and days over the days the format expects, not the
# calendar (the same three days a channel are not worse in March for March's 31 days).
TREND_MEASURES = (
    ("rows to act on (score)", "action_score", False),
    ("share of landed rows not kept", "not_kept_share", False),
    ("orphan share", "orphan_share", False),
    ("interval coverage", "interval_coverage", True),
    ("day coverage of expected days", "expected_day_coverage", True),
    ("estimated share", "estimated_share", False),
)


def trend(current: dict, previous: dict | None, t: Thresholds) -> tuple[str, list[str]]:
    """Better / stable / worse than the utility's previous month, and what moved."""
    if previous is None:
        return "first month", []
    better = worse = 0
    notes = []
    for name, key, higher_is_better in TREND_MEASURES:
        now, before = current["measures"].get(key), previous["measures"].get(key)
        if now is None or before is None or abs(now - before) <= t.trend_tolerance:
            continue
        improved = (now > before) == higher_is_better
        better += improved
        worse += not improved
        notes.append(f"{name} {pct(before)} → {pct(now)}")
    fails_now = current["checks"]["failed_warn"] + current["checks"]["failed_error"]
    fails_before = previous["checks"]["failed_warn"] + previous["checks"]["failed_error"]
    if fails_now != fails_before:
        better += fails_now < fails_before
        worse += fails_now > fails_before
        notes.append(f"failing checks {fails_before} → {fails_now}")
    if worse:
        return "worse", notes
    return ("better" if better else "stable"), notes
