"""Ranking partitions by how much a steward has to act on (docs/operations.md).

A partition's **action score** is the rows that need someone to act, weighted by how much
acting they need, as a share of the rows that landed:

    score = Σ weight × rows above the utility's baseline / landed rows (every silver table
            of the partition)

* weight 1 (act): conflicting duplicates (which version is true?), rejected rows (not in
  the model), references to unknown keys (orphans), rows failing an ERROR check;
* weight 0.5 (review): rows failing a WARN check on values (``range__``, ``reconcile__``,
  ``vee__validation``, ``vee__register_consistency``): kept and flagged;
* weight 0.1 (note): exact duplicates, set aside with nothing to decide.

Duplicate and orphan checks are not counted again: the accounting and the orphan counts
already hold their rows. A share, not a count, so a month of 72,000 rows and one of
37,000 compare like with like. The grade is the band the score falls in; a blocked
partition (a broken pipeline guarantee) is graded F whatever its score and ranks first.

**Graded against the utility's normal.** Some formats deliver, every month, rows of a
class that their documentation describes and a rule resolves: UTILITY2 re-sends most daily
values with other values and the row delivered last wins. Counted in full, such a class
gives the utility the same bad grade every month, and a grade that never moves tells a
steward nothing. So a utility may declare a **baseline** in its registry entry,
``settings["dq"]["baseline"]``: for a class, the share of the landed rows that is normal
for its format (measured on its usual months, with a margin), with a one-line reason in
``settings["dq"]["baseline_reason"]``. In a partition of that utility, the baseline
expects ``share × landed`` rows of the class (``action.expected_rows``); only the rows
above it count in the score:

    excess = max(0, rows − share × landed rows)

(``share × landed`` rounded to whole rows). A normal month therefore grades on what else
it holds, and a month with more of the class than usual still rises by the rows above the
normal. The rows are still counted and shown in full (``action.rows``, next to
``action.baseline``), and the reasons say when a class is within its baseline. A class
without a baseline, and every class of a utility without one, counts in full.

A baseline is set a margin (about 1.5×) above the share the utility's usual months show,
so that a usual month grades B or better and a month far above its normal does not (UTILITY2
with ten times its usual orphans grades E); each declaration notes the shares it was
measured from. A baseline covers a whole class: UTILITY2's covers its WARN value rows, most
of them register disagreements (V7). Today UTILITY1 declares its duplicates, UTILITY2 its
duplicates, orphans and WARN value rows, IESCO nothing.
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


def baseline_of(utility: str | None) -> dict[str, float]:
    """The utility's declared baseline, ``{class: share of landed rows}``: what is normal
    for its format (``settings["dq"]["baseline"]``); {} for a utility without one or not
    in the registry. A class outside ``WEIGHTS`` or a share outside [0, 1] is a mistake in
    the registry and raises."""
    try:
        from gridflow_assets.silver.adapters import get_utility  # the adapters: at refresh only

        declared = get_utility(utility).settings.get("dq", {}).get("baseline", {})
    except KeyError:
        return {}
    unknown = sorted(set(declared) - set(WEIGHTS))
    if unknown:
        raise ValueError(
            f"{utility}: baseline for unknown row classes {unknown} (known: {list(WEIGHTS)})"
        )
    for k, share in declared.items():
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ValueError(f"{utility}: baseline {k!r} must be a share in [0, 1], not {share!r}")
    return {k: float(declared[k]) for k in WEIGHTS if k in declared}


def action(totals: dict, checks: list[dict], status: str, utility: str | None) -> dict:
    """The card's ``action``: rows by class (in full), the utility's baseline and the rows
    it expects, the weighted rows above the baseline, score and grade (the rank is set
    across partitions by ``rank_cards``)."""
    rows = action_rows(totals, checks)
    landed = totals["landed"]
    baseline = baseline_of(utility)
    expected = {k: round(share * landed) for k, share in baseline.items()}
    weighted = sum(WEIGHTS[k] * max(0, n - expected.get(k, 0)) for k, n in rows.items())
    score = weighted / landed if landed else None
    grade, meaning = grade_of(score, status == BLOCKED)
    return {
        "rows": rows,
        "baseline": baseline,
        "expected_rows": expected,
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


def _share(x: float) -> str:
    """A declared share in few characters: 0.88 → '88%', 0.015 → '1.5%'."""
    return f"{x * 100:.1f}".rstrip("0").rstrip(".") + "%"


def main_reasons(card: dict, n: int = 2) -> str:
    """The classes weighing most in the score, in words: 'orphan references 11,600 (9,819
    above UTILITY2's normal 5%), conflicting duplicates 29,413 (within UTILITY2's normal
    88%)'. Rows above a baseline weigh first; a class within its baseline says so."""
    a = card["action"]
    baseline, expected = a.get("baseline", {}), a.get("expected_rows", {})

    def label(k: str, rows: int) -> str:
        text = f"{ROW_LABELS[k]} {rows:,}"
        if k not in baseline:
            return text
        normal = f"{card['utility']}'s normal {_share(baseline[k])}"
        above = rows - expected[k]
        return f"{text} ({f'{above:,} above' if above > 0 else 'within'} {normal})"

    top = sorted(
        (
            (WEIGHTS[k] * max(0, rows - expected.get(k, 0)), WEIGHTS[k] * rows, k, rows)
            for k, rows in a["rows"].items()
            if rows
        ),
        reverse=True,
    )[:n]
    return ", ".join(label(k, rows) for *_, k, rows in top) or "nothing to act on"


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
