"""The partition scorecard: one card per month × utility, from the warehouse (facts) and
the check history (what the checks said), judged by ``dq/assess.py``.

A card is a JSON-ready dict (the snapshot embeds it); ``scorecard_frame`` flattens cards
into the rows of ``dq/partition_scorecard``.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from gridflow_assets.checks.factory import plans_for
from gridflow_assets.domain.accounting import ACCOUNTING_KEYS
from gridflow_assets.dq import assess, rank
from gridflow_assets.dq.checklist import check_dicts
from gridflow_assets.dq.digest import content_digest
from gridflow_assets.dq.profile import data_tables, profile_partition
from gridflow_assets.registry.dq import PARTITION_SCORECARD
from gridflow_assets.silver.vee import ESTIMATION_RULES, METHODS, VALIDATION_RULES
from gridflow_assets.store.delta import gridflow_version
from gridflow_assets.store.warehouse import Warehouse


def all_partitions(store: Warehouse) -> list[tuple[str, str]]:
    """``(utility, month)`` of every partition any data table holds."""
    return sorted({p for key in data_tables() for p in store.partitions(key)})


def previous_month(month: str) -> str:
    return str(pd.Period(month, freq="M") - 1)


def expected_checks(present_tables: set[str]) -> set[tuple[str, str]]:
    """Every (table, check) the check factory evaluates for the tables a partition has."""
    tables = data_tables()
    return {(key, plan.name) for key in present_tables for plan in plans_for(tables[key])}


def vee_counts(checks: list[dict]) -> dict | None:
    """Counts by VEE rule and estimates by method, from the latest ``vee__validation`` and
    ``vee__estimation`` results of the partition's intervals (None: not evaluated)."""
    found = {
        c["check"]: c["details"]
        for c in checks
        if c["asset"] == "silver/intervals" and c["check"] in ("vee__validation", "vee__estimation")
    }
    if not found:
        return None
    rules = {
        **found.get("vee__validation", {}).get("by_rule", {}),
        **found.get("vee__estimation", {}).get("by_rule", {}),
    }
    methods = found.get("vee__estimation", {}).get("by_method", {})
    return {
        "by_rule": {r: rules.get(r) for r in VALIDATION_RULES + ESTIMATION_RULES},
        "by_method": {m: methods.get(m) for m in METHODS},
    }


def expected_day_coverage(checks: list[dict]) -> float | None:
    """Days covered over the days the utility's format expects a channel to deliver (VEE's
    V9 from the ``vee__coverage`` check: a New York channel's delivered days, an IESCO or
    UTILITY2 channel's first to last day), not over the calendar month. A drop of the same
    three days a channel is then 100 % in February and in March alike."""
    for c in checks:
        if (c["asset"], c["check"]) == ("silver/intervals", "vee__coverage"):
            return c["details"].get("day_coverage")
    return None


def _measures(p: dict, checks: list[dict]) -> dict:
    landed = sum(a["landed"] for a in p["accounting"])
    kept = sum(a["kept"] for a in p["accounting"])
    fk_rows = sum(o["total"] for o in p["orphans"])
    shares = [c["share"] for c in p["completeness"] if c["share"] is not None]
    return {
        "not_kept_share": (landed - kept) / landed if landed else None,
        "orphan_share": sum(o["rows"] for o in p["orphans"]) / fk_rows if fk_rows else None,
        "interval_coverage": p["coverage"]["interval_coverage"],
        "day_coverage": p["coverage"]["day_coverage"],
        "estimated_share": p["quality"]["estimated_share"],
        "failed_validation_share": p["quality"]["failed_validation_share"],
        "completeness_min": min(shares) if shares else None,
        "expected_day_coverage": expected_day_coverage(checks),
    }


def _totals(p: dict) -> dict:
    out = {k: sum(a[k] for a in p["accounting"]) for k in ACCOUNTING_KEYS}
    out["reconciles"] = all(a["reconciles"] for a in p["accounting"])
    out["orphans"] = sum(o["rows"] for o in p["orphans"])
    return out


def build_card(
    p: dict, checks: list[dict], previous: dict | None, thresholds: assess.Thresholds
) -> dict:
    """Judge one profiled partition against its latest check results."""
    t = thresholds.for_utility(p["utility"])
    expected = expected_checks(set(p["rows"]) | set(p["missing_tables"]))
    issues = assess.pipeline_issues(p, checks, expected) + assess.utility_issues(
        p, checks, t, expected_day_coverage(checks)
    )
    failed = [c for c in checks if not c["passed"]]
    seen = {(c["asset"], c["check"]) for c in checks}
    card = {
        **p,
        "status": assess.status_of(issues, checks),
        "issues": issues,
        "blocking_reasons": [i["text"] for i in issues if i["severity"] == "blocking"],
        "utility_issues": [i["text"] for i in issues if i["audience"] == "utility"],
        "checks": {
            "evaluated": len(checks),
            "passed": len(checks) - len(failed),
            "failed_warn": sum(c["severity"] == "WARN" for c in failed),
            "failed_error": sum(c["severity"] == "ERROR" for c in failed),
            "missing": len(expected - seen),
            "failed": sorted(f"{c['asset']}:{c['check']}" for c in failed),
        },
        "totals": _totals(p),
        "measures": _measures(p, checks),
        "thresholds": t.as_dict(),
        "vee": vee_counts(checks),
        "expected_checks": sorted(expected),
    }
    card["action"] = rank.action(card["totals"], checks, card["status"], card["utility"])
    card["measures"]["action_score"] = card["action"]["score"]
    card["trend"], card["trend_notes"] = assess.trend(card, previous, t)
    return card


def checks_signature(checks: list[dict]) -> str:
    """A digest of a partition's latest check results (which, when, and what they found)."""
    text = json.dumps(
        [
            gridflow_version(),
            *sorted((c["asset"], c["check"], c["evaluated_at"], c["run_id"]) for c in checks),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_cards(
    store: Warehouse,
    history: pd.DataFrame,
    utility: str | None = None,
    month: str | None = None,
    thresholds: assess.Thresholds | None = None,
    reuse: dict[tuple[str, str], dict] | None = None,
) -> list[dict]:
    """Cards of every partition (or those of ``utility`` / ``month``), by utility and month,
    each ranked among them (``action.rank``, ``dq/rank.py``).

    The previous month of each wanted partition is profiled too, for the trend, and left
    out of the result. ``reuse``: cards built before (the stored ones); a partition whose
    content digest and check results are those of its card there, and whose previous
    month was not rebuilt, keeps its card instead of being profiled again: a refresh
    after one partition's run rebuilds that partition's card (and its next month's).
    """
    thresholds = thresholds or assess.Thresholds()
    partitions = all_partitions(store)
    wanted = [
        (u, m)
        for u, m in partitions
        if (utility is None or u == utility) and (month is None or m == month)
    ]
    have = set(partitions)
    needed = sorted(
        {*wanted, *((u, previous_month(m)) for u, m in wanted if (u, previous_month(m)) in have)},
        key=lambda p: (p[1], p[0]),
    )
    by_partition: dict[tuple[str, str], list[dict]] = {}
    for c in check_dicts(history):
        if c["utility"] is not None:
            by_partition.setdefault((c["utility"], c["month"]), []).append(c)
    cards: dict[tuple[str, str], dict] = {}
    rebuilt: set[tuple[str, str]] = set()
    for u, m in needed:
        digest, tables = content_digest(store, u, m)
        checks = by_partition.get((u, m), [])
        signature = checks_signature(checks)
        old = (reuse or {}).get((u, m))
        if (
            old is not None
            and (old.get("content_digest"), old.get("checks_signature")) == (digest, signature)
            and (u, previous_month(m)) not in rebuilt
        ):
            cards[(u, m)] = old
            continue
        profile = profile_partition(store, u, m)
        profile["content_digest"], profile["table_digests"] = digest, tables
        cards[(u, m)] = build_card(profile, checks, cards.get((u, previous_month(m))), thresholds)
        cards[(u, m)]["checks_signature"] = signature
        rebuilt.add((u, m))
    rank.rank_cards([cards[p] for p in wanted])
    return [cards[p] for p in wanted]


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _lines(items: list[str]) -> str | None:
    return "\n".join(items) if items else None


def _instant(text: str | None) -> pd.Timestamp | None:
    """A card's ISO instant (text, so that the card is JSON) as the table's timestamp."""
    return None if text is None else pd.Timestamp(text).tz_convert("UTC")


def stored(card: dict) -> dict:
    """The card as stored: without its rank, which depends on the other partitions shown."""
    return {**card, "action": {**card["action"], "rank": None}}


def scorecard_frame(cards: list[dict]) -> pd.DataFrame:
    """Cards as rows of ``dq/partition_scorecard`` (no wall-clock values: reruns over the
    same warehouse and history write the same file)."""
    rows = []
    for c in cards:
        layers, totals, cov = c["rows_by_layer"], c["totals"], c["coverage"]
        rows.append(
            {
                "utility_id": c["utility"],
                "month": c["month"],
                "partition_key": f"{c['month']}|{c['utility']}",
                "status": c["status"],
                "trend": c["trend"],
                "trend_notes": _lines(c["trend_notes"]),
                "issue_count": len(c["issues"]),
                "blocking_reasons": _lines(c["blocking_reasons"]),
                "utility_issues": _lines(c["utility_issues"]),
                "checks_evaluated": c["checks"]["evaluated"],
                "checks_passed": c["checks"]["passed"],
                "checks_failed_warn": c["checks"]["failed_warn"],
                "checks_failed_error": c["checks"]["failed_error"],
                "checks_missing": c["checks"]["missing"],
                "failed_checks": "; ".join(c["checks"]["failed"]) or None,
                "rows_bronze": layers["bronze"],
                "rows_silver": layers["silver"],
                "rows_rejects": layers["rejects"],
                "rows_gold": layers["gold"],
                "rows_experience": layers["experience"],
                **{k: totals[k] for k in ACCOUNTING_KEYS},
                "accounting_reconciles": totals["reconciles"],
                "not_kept_share": c["measures"]["not_kept_share"],
                "orphans": totals["orphans"],
                "interval_coverage": cov["interval_coverage"],
                "day_coverage": cov["day_coverage"],
                "channels_with_gaps": cov["channels_with_gaps"],
                "estimated_share": c["quality"]["estimated_share"],
                "failed_validation_share": c["quality"]["failed_validation_share"],
                "completeness_min": c["measures"]["completeness_min"],
                "first_start_utc": _instant(c["time_range"]["first_start_utc"]),
                "last_end_utc": _instant(c["time_range"]["last_end_utc"]),
                "rows_outside_month": c["time_range"]["rows_outside_month"],
                "rows_by_table": _json(c["rows"]),
                "accounting_by_table": _json(c["accounting"]),
                "rejects_by_reason": _json(c["rejects"]),
                "orphans_by_key": _json(c["orphans"]),
                "completeness": _json(c["completeness"]),
                "value_stats": _json(c["value_stats"]),
                "quality_codes": _json(c["quality"]["codes"]),
                "flags": _json(c["flags"]),
                "vee_rule_counts": None if c["vee"] is None else _json(c["vee"]),
                "content_digest": c["content_digest"],
                "table_digests": _json(c["table_digests"]),
                # insertion order kept (rules V1…E4 in order), which is deterministic too
                "card": json.dumps(stored(c), ensure_ascii=False, default=str),
            }
        )
    return pd.DataFrame(rows, columns=["utility_id", "month", *PARTITION_SCORECARD.column_names])
