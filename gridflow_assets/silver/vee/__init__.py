"""VEE: validation, estimation and editing of interval data (docs/formats/domain-rules.md, rules V1–V9, E1–E4).

Utilities do not bill raw interval data: they validate every reading, estimate what is
missing or wrong, and keep an audit trail. ``apply_vee`` does that for one month × utility
partition of ``silver/intervals``, right after the utility's adapter, for every utility.
Thresholds are data (``config``); the rules are pure functions over numpy views of the
partition's Arrow columns, one pass over the partition (or over meter chunks of it, with the
same result), never a Python loop per reading. The package: ``config`` (parameters and
thresholds), ``grid`` (expected intervals per local day), ``coverage`` (V1/V9),
``validate`` (V4-V7), ``estimate`` (E1-E4), ``edit`` (what is left on the rows) and
``apply`` (the step).

What a reading carries afterwards:

* ``quality_code`` (``domain.quality.Quality``): 10 when a VEE rule failed it (V3–V6) and
  no estimate replaced it; 9 for an interpolation (E1, also scaled by E3), 8 for other
  estimates (E2 like-day profile, E3 register share); otherwise what the utility's code
  mapped to.
* ``value_original``: the value as delivered, untouched; null on rows VEE added.
* ``rule_ids``: the rules that fired, after the adapter's own ids.
* ``is_estimated`` / ``estimation_method``: the value is an estimate, and how it was made.

Choices (documented in the README section of the issue):

* **Series** = meter × channel. Its **expected days** (V1/V9) follow ``expected_days``:
  ``delivered_days`` (New York: complete days of a few days per meter and month),
  ``series_span`` (every day from the channel's first to last day with data: IESCO,
  UTILITY2 daily reads) or ``month``. A local day has 23, 24 or 25 hours: expected
  intervals per day follow the day's real length in the utility's time zone.
* **Holes** = expected intervals not delivered (V1) plus delivered readings that failed
  validation (V3–V6, or delivered with common quality 10). Misaligned or out-of-month
  readings (V3) are failed but never replaced in place: their grid slot is a hole.
* **E1** interpolates linearly between the valid readings bounding a hole run of at most
  ``e1_max_gap_s``; a reading inside a supply outage is never an endpoint. **E2** averages
  the same wall-clock slot on the same weekday 1–``like_day_weeks`` weeks earlier (later
  ones only when no earlier one exists), from actual readings (not estimates, not outage
  intervals) on days without holes. **E3** scales a run's estimates so they add up to the
  register difference across the run (IESCO ``register_kwh``, UTILITY2 register channels),
  or spreads that difference evenly when E1/E2 had nothing. **E4** re-validates every
  estimate against V4 and V5; one that fails is withdrawn (the hole stays, counted).
* Registers are validated (V3, V4, V6, V7) but never estimated: E1/E2 would invent usage.
"""

from gridflow_assets.silver.vee.apply import VeeResult, apply_vee
from gridflow_assets.silver.vee.coverage import coverage, coverage_counts, coverage_total
from gridflow_assets.silver.vee.edit import (
    ESTIMATION_RULES,
    METHODS,
    ROW_RULES,
    VALIDATION_RULES,
    delivered_count,
    rule_counts,
)
from gridflow_assets.silver.vee.grid import VeeInput

__all__ = [
    "ESTIMATION_RULES",
    "METHODS",
    "ROW_RULES",
    "VALIDATION_RULES",
    "VeeInput",
    "VeeResult",
    "apply_vee",
    "coverage",
    "coverage_counts",
    "coverage_total",
    "delivered_count",
    "rule_counts",
]
