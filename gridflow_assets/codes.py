"""Reason codes and rule ids: every reject and every flag names one of these.

Published as data (``gridflow dictionary`` and the README), so a steward can look up
what any code on any row means.
"""

from __future__ import annotations

import pandas as pd

# code, kind, accounting category (rejects) or "" (flags), description
_CODES = [
    ("DUP_EXACT", "reject", "duplicate_exact",
     "Exact repeat of a delivered row (every delivered column equal); the first is kept."),
    ("DUP_CONFLICT", "reject", "duplicate_conflicting",
     "Same business key as a kept row but different values; lost to the conflict rule "
     "(V2: latest last_update_time, else the version delivered last; premises: latest "
     "created_date, else delivered last)."),
    ("MALFORMED_ROW", "reject", "rejected",
     "The row has the wrong number of fields and cannot be split into columns."),
    ("INVALID_ID", "reject", "rejected", "An identifier does not match the utility's format."),
    ("INVALID_TIMESTAMP", "reject", "rejected", "A timestamp or date cannot be parsed."),
    ("INVALID_NUMBER", "reject", "rejected", "A number cannot be parsed."),
    ("MISSING_REQUIRED", "reject", "rejected", "A required field is empty."),
    ("CHANNEL_DURATION_MISMATCH", "reject", "rejected",
     "The duration disagrees with the interval length the channel name states."),
    ("V2_CONFLICT_WINNER", "flag", "",
     "The row won a conflict among several versions of its key (losers in rejects)."),
    ("DUR0_AS_LOCAL_DAY", "flag", "",
     "Delivered duration 0 on a daily read: treated as one local calendar day."),
    ("QUALITY_UNKNOWN", "flag", "",
     "The utility's quality code is not in its code table: mapped to 14 (raw, not "
     "validated)."),
    ("CHANNEL_UNKNOWN", "flag", "",
     "The channel is not in the utility's channel table: typed as unknown, never summed."),
    ("SP_LATEST_VERSION", "flag", "",
     "Several address versions of a premise: the latest created_date was kept."),
    ("SP_EFFECTIVE_DATED", "flag", "",
     "Service point found through the meter's installation valid at the reading time."),
    ("SP_OUTSIDE_INSTALL_WINDOW", "flag", "",
     "The meter sent a reading outside every installation window (retired or not yet "
     "installed): linked to the nearest installation in time."),
    ("SP_UNRESOLVED", "flag", "",
     "The meter is unknown to the meters file: no service point could be found."),
    ("METER_TYPE_FLIP", "flag", "",
     "The meter's type changes between records of the same meter."),
]

REASON_CODES = pd.DataFrame(_CODES, columns=["code", "kind", "category", "description"])
CATEGORY = dict(zip(REASON_CODES.code, REASON_CODES.category, strict=True))
ACCOUNTING_CATEGORIES = ("duplicate_exact", "duplicate_conflicting", "rejected")
