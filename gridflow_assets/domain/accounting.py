"""Row accounting (docs/accounting.md), defined once: the counts that account for a
silver table's rows, and the equation they satisfy,

    landed = kept + duplicates_exact + duplicates_conflicting + rejected

The conservation check, the DQ profile and scorecard, and the run's closing table all
take the keys and the gap from here.
"""

from __future__ import annotations

from collections.abc import Mapping

ACCOUNTING_KEYS = ("landed", "kept", "duplicates_exact", "duplicates_conflicting", "rejected")
"""The accounting counts: rows landed (bronze), then where each went."""


def unaccounted(counts: Mapping[str, int]) -> int:
    """landed − (kept + duplicates_exact + duplicates_conflicting + rejected): 0 when the
    rows reconcile, more than 0 when rows were lost, less when more came out than landed."""
    landed, *accounted = (counts[key] for key in ACCOUNTING_KEYS)
    return landed - sum(accounted)
