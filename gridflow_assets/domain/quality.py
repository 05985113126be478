"""The common quality vocabulary (NAESB ESPI ``QualityOfReading``), defined once.

Every utility's own quality codes map onto these (the original code stays beside it in
``quality_code_original``); VEE writes 8, 9 and 10; summaries count estimates and failed
readings by them. Before this module the same numbers were written out in several places
(estimated as ``8`` in one, ``(8, 9)`` in others), which is how meanings drift apart.
"""

from __future__ import annotations

from enum import IntEnum


class Quality(IntEnum):
    """Common quality code of a reading (``silver/intervals.quality_code``)."""

    VALIDATED = 0
    MANUALLY_EDITED = 7
    ESTIMATED = 8  # estimated from history (machine computed): E2 like day, E3 register
    INTERPOLATED = 9  # E1 linear interpolation
    FAILED = 10  # failed validation checks
    RAW = 14  # raw, not validated (also: a utility code missing from its code table)
    APPROVED_PROCEDURE = 17
    FAILED_KEPT_AS_ACTUAL = 18
    BILLING_ACCEPTABLE = 19


# Codes meaning "the value is an estimate", whoever made it (the utility or VEE).
ESTIMATES: tuple[Quality, ...] = (Quality.ESTIMATED, Quality.INTERPOLATED)
# Every code a reading may carry (the registry's allowed values of quality_code).
ALL_CODES: tuple[int, ...] = tuple(int(q) for q in Quality)
