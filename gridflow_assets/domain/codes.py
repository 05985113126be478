"""Reason codes and rule ids: every reject and every flag names one of these.

Published as data (``gridflow dictionary`` and the README), so a steward can look up
what any code on any row means.
"""

from __future__ import annotations

import pandas as pd

# code, kind, accounting category (rejects) or "" (flags), description
_CODES = [
    (
        "DUP_EXACT",
        "reject",
        "duplicate_exact",
        "Exact repeat of a delivered row (every delivered column equal); the first is kept.",
    ),
    (
        "DUP_CONFLICT",
        "reject",
        "duplicate_conflicting",
        "Same business key as a kept row but different values; lost to the conflict rule "
        "(V2: latest last_update_time, else the version delivered last; premises: latest "
        "created_date, else delivered last).",
    ),
    (
        "MALFORMED_ROW",
        "reject",
        "rejected",
        "The row has the wrong number of fields and cannot be split into columns.",
    ),
    ("INVALID_ID", "reject", "rejected", "An identifier does not match the utility's format."),
    ("INVALID_TIMESTAMP", "reject", "rejected", "A timestamp or date cannot be parsed."),
    ("INVALID_NUMBER", "reject", "rejected", "A number cannot be parsed."),
    ("MISSING_REQUIRED", "reject", "rejected", "A required field is empty."),
    (
        "CHANNEL_DURATION_MISMATCH",
        "reject",
        "rejected",
        "The duration disagrees with the interval length the channel name states.",
    ),
    (
        "V2_CONFLICT_WINNER",
        "flag",
        "",
        "The row won a conflict among several versions of its key (losers in rejects).",
    ),
    (
        "DUR0_AS_LOCAL_DAY",
        "flag",
        "",
        "Delivered duration 0 on a daily read: treated as one local calendar day.",
    ),
    (
        "QUALITY_UNKNOWN",
        "flag",
        "",
        "The utility's quality code is not in its code table: mapped to 14 (raw, not validated).",
    ),
    (
        "CHANNEL_UNKNOWN",
        "flag",
        "",
        "The channel is not in the utility's channel table: typed as unknown, never summed.",
    ),
    (
        "SP_LATEST_VERSION",
        "flag",
        "",
        "Several address versions of a premise: the latest created_date was kept.",
    ),
    (
        "SP_EFFECTIVE_DATED",
        "flag",
        "",
        "Service point found through the meter's installation valid at the reading time.",
    ),
    (
        "SP_OUTSIDE_INSTALL_WINDOW",
        "flag",
        "",
        "The meter sent a reading outside every installation window (retired or not yet "
        "installed): linked to the nearest installation in time.",
    ),
    (
        "SP_UNRESOLVED",
        "flag",
        "",
        "The meter is unknown to the meters file: no service point could be found.",
    ),
    ("METER_TYPE_FLIP", "flag", "", "The meter's type changes between records of the same meter."),
    (
        "QUALITY_FAILED",
        "flag",
        "",
        "Delivered as failed validation (common quality 10, e.g. UTILITY2 51 'no read', IESCO "
        "meter_fault): VEE treats the reading as missing and estimates it where E1-E3 can.",
    ),
    # VEE (docs/formats/domain-rules.md): validation rules V1-V9 and estimation rules E1-E4. Thresholds per
    # utility and reading type: silver/vee/tables/vee_rules.csv.
    (
        "V1",
        "validation",
        "",
        "Intervals found vs expected per meter, channel and local day (23/25-hour DST days "
        "included). On a row: the interval was missing and VEE added it as an estimate.",
    ),
    (
        "V2",
        "validation",
        "",
        "Duplicates: exact repeats (DUP_EXACT) and conflicting repeats (DUP_CONFLICT, winner "
        "flagged V2_CONFLICT_WINNER), counted separately; resolved by the adapters.",
    ),
    (
        "V3",
        "validation",
        "",
        "Timestamp off its interval grid or outside the drop's month: failed (quality 10), "
        "never moved; its grid slot counts as missing.",
    ),
    (
        "V4",
        "validation",
        "",
        "Outside the high/low limits: negative energy on a delivered or received channel or a "
        "register, or more than the limit (kW, or sanctioned load x factor) over the interval.",
    ),
    (
        "V5",
        "validation",
        "",
        "Spike: value above median + k x IQR of the channel's month (CalTRACK; k per reading "
        "type).",
    ),
    (
        "V6",
        "validation",
        "",
        "Frozen run: N or more consecutive identical non-zero values (readings or register).",
    ),
    (
        "V7",
        "validation",
        "",
        "Interval value differs from the difference of its register across the interval "
        "(IESCO register_kwh, UTILITY2 register channels): flagged, value kept.",
    ),
    (
        "V8",
        "validation",
        "",
        "Referential integrity: the reading's meter or service point is unknown (orphan).",
    ),
    (
        "V9",
        "validation",
        "",
        "Coverage: share of expected intervals present; a day is covered when at least half "
        "its intervals are present (CalTRACK). Reported by the vee__coverage check.",
    ),
    (
        "E1",
        "estimation",
        "",
        "Linear interpolation across a gap of at most 2 hours between valid readings (never "
        "from a reading inside a supply outage); quality 9.",
    ),
    (
        "E2",
        "estimation",
        "",
        "Like-day profile: the same wall-clock slot on the same weekday of the previous 1-3 "
        "weeks (later weeks when none), from actual readings on days without outages; quality 8.",
    ),
    (
        "E3",
        "estimation",
        "",
        "Estimates scaled (or spread evenly) so the gap adds up to the register difference "
        "across it.",
    ),
    (
        "E4",
        "estimation",
        "",
        "The estimate is flagged (quality 8/9, is_estimated, original state kept) and was "
        "validated again (V4, V5); failing estimates are withdrawn.",
    ),
]

REASON_CODES = pd.DataFrame(_CODES, columns=["code", "kind", "category", "description"])
CATEGORY = dict(zip(REASON_CODES.code, REASON_CODES.category, strict=True))


def reason_code_table() -> pd.DataFrame:
    """The code table as published (``silver/reason_codes``): no category is null."""
    return REASON_CODES.assign(category=REASON_CODES.category.replace("", None))


ACCOUNTING_CATEGORIES = ("duplicate_exact", "duplicate_conflicting", "rejected")
