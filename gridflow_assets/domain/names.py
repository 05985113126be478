"""Names that come from outside (landing folders, command-line arguments): what a utility
id and a month look like. Defined once, free of Dagster, so the CLI and the generators
validate without loading the orchestration."""

from __future__ import annotations

import re

UTILITY_ID_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
MONTH_RE = re.compile(r"^(20\d\d)-(0[1-9]|1[0-2])$")


def is_valid_utility_id(value: str) -> bool:
    return bool(UTILITY_ID_RE.match(value))


def is_valid_month(value: str) -> bool:
    return isinstance(value, str) and bool(MONTH_RE.match(value))
