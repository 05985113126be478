"""Ranking partitions by how much a steward has to act on (docs/operations.md).

A partition's **action score** is the rows that need someone to act, weighted by how much
acting they need, as a share of the rows that landed:

    score = Σ weight × rows / landed rows (every silver table of the partition)

* weight 1 (act): conflicting duplicates (which version is true?), rejected rows (not in
  the model), references to unknown keys (orphans), rows failing an ERROR check;
* weight 0.5 (review): rows failing a WARN check on values (``range__``, ``reconcile__``,
  ``vee__validation``, ``vee__register_consistency``): kept and flagged;
* weight 0.1 (note): exact duplicates, set aside with nothing to decide.

Duplicate and orphan checks are not counted again: the accounting and the orphan counts
already hold their rows. A share, not a count, so a month of 72,000 rows and one of
37,000 compare like with like. The grade is the band the score falls in; a blocked
partition (a broken pipeline guarantee) is graded F whatever its score and ranks first.
"""

from __future__ import annotations

from gridflow_assets.dq.assess import BLOCKED

WEIGHTS = {
    "duplicates_conflicting": 1.0,
    "rejected": 1.0,
    "orphans": 1.0,
    "failed_error": 1.0,
    "failed_warn_values": 0.5,
    "duplicates_exact": 0.1,
}
ROW_LABELS = {
    "duplicates_conflicting": "conflicting duplicates",
    "rejected": "rejected",
    "orphans": "orphan references",
    "failed_error": "rows failing ERROR checks",
    "failed_warn_values": "rows failing WARN value checks",
    "duplicates_exact": "exact duplicates",
}
# WARN checks whose failed rows are values to review (not counted elsewhere in the score).
VALUE_KINDS = ("range", "reconcile")
VALUE_CHECKS = ("vee__validation", "vee__register_consistency")
# Upper bound of each grade's score (exclusive), best first; F is kept for blocked.
GRADES = (
    ("A", 0.001, "nothing material"),
    ("B", 0.01, "minor"),
    ("C", 0.05, "moderate"),
    ("D", 0.20, "serious"),
    ("E", float("inf"), "severe"),
)
BLOCKED_GRADE = ("F", "blocked: fix the pipeline first")


def _is_value_check(c: dict) -> bool:
    return c["kind"] in VALUE_KINDS or c["check"] in VALUE_CHECKS


def action_rows(totals: dict, checks: list[dict]) -> dict[str, int]:
    """Rows needing action in one partition, by weight class (``WEIGHTS``)."""
    failed = [c for c in checks if not c["passed"]]
    return {
        "duplicates_conflicting": totals["duplicates_conflicting"],
        "rejected": totals["rejected"],
        "orphans": totals["orphans"],
        "failed_error": sum(c["failed_count"] for c in failed if c["severity"] == "ERROR"),
        "failed_warn_values": sum(
            c["failed_count"] for c in failed if c["severity"] == "WARN" and _is_value_check(c)
        ),
        "duplicates_exact": totals["duplicates_exact"],
    }


def grade_of(score: float | None, blocked: bool) -> tuple[str, str]:
    """(letter, meaning) of a score: F when blocked, else the band it falls in."""
    if blocked:
        return BLOCKED_GRADE
    for letter, upper, meaning in GRADES:
        if (score or 0.0) < upper:
            return letter, meaning
    raise AssertionError("the last grade has no upper bound")


def action(totals: dict, checks: list[dict], status: str) -> dict:
    """The card's ``action``: rows by class, the weighted total, score and grade (the rank
    is set across partitions by ``rank_cards``)."""
    rows = action_rows(totals, checks)
    weighted = sum(WEIGHTS[k] * n for k, n in rows.items())
    landed = totals["landed"]
    score = weighted / landed if landed else None
    grade, meaning = grade_of(score, status == BLOCKED)
    return {
        "rows": rows,
        "weighted_rows": round(weighted, 1),
        "landed": landed,
        "score": None if score is None else round(score, 6),
        "grade": grade,
        "grade_meaning": meaning,
        "rank": None,
    }


def rank_key(card: dict) -> tuple:
    """Blocked first, then the highest score; ties by utility and month."""
    a = card["action"]
    return (a["grade"] != BLOCKED_GRADE[0], -(a["score"] or 0.0), card["utility"], card["month"])


def rank_cards(cards: list[dict]) -> list[dict]:
    """Set ``action.rank`` (1 = act on it first) on every card; returns them in rank order."""
    ranked = sorted(cards, key=rank_key)
    for i, card in enumerate(ranked, start=1):
        card["action"]["rank"] = i
    return ranked


def utility_order(cards: list[dict]) -> list[str]:
    """Utilities by the rank of their first partition to act on (tickets in that order)."""
    best: dict[str, int] = {}
    for c in cards:
        best[c["utility"]] = min(best.get(c["utility"], c["action"]["rank"]), c["action"]["rank"])
    return sorted(best, key=lambda u: (best[u], u))


def main_reasons(card: dict, n: int = 2) -> str:
    """The classes weighing most in the score, in words: 'conflicting duplicates 26,452,
    orphan references 1,049'."""
    a = card["action"]
    top = sorted(
        ((WEIGHTS[k] * rows, k, rows) for k, rows in a["rows"].items() if rows),
        reverse=True,
    )[:n]
    return ", ".join(f"{ROW_LABELS[k]} {rows:,}" for _, k, rows in top) or "nothing to act on"


def ranking_entry(card: dict) -> dict:
    """One partition of the snapshot's ``ranking``."""
    a = card["action"]
    return {
        "rank": a["rank"],
        "utility": card["utility"],
        "month": card["month"],
        "grade": a["grade"],
        "grade_meaning": a["grade_meaning"],
        "score": a["score"],
        "status": card["status"],
        "main_reasons": main_reasons(card),
        "rows": a["rows"],
    }
