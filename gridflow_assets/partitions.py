"""One partitioning for every table that holds utility data: month × utility."""

from __future__ import annotations

import re

import dagster as dg

UTILITY_DIMENSION = "utility"
MONTH_DIMENSION = "month"

UTILITY_ID_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
MONTH_RE = re.compile(r"^(20\d\d)-(0[1-9]|1[0-2])$")

utility_partitions = dg.DynamicPartitionsDefinition(name=UTILITY_DIMENSION)
month_partitions = dg.MonthlyPartitionsDefinition(start_date="2024-01", fmt="%Y-%m",
                                                  end_offset=1)
month_utility_partitions = dg.MultiPartitionsDefinition(
    {MONTH_DIMENSION: month_partitions, UTILITY_DIMENSION: utility_partitions}
)


def partition_key(utility: str, month: str) -> str:
    """Dagster's multi-partition key string (dimensions sorted by name: month|utility)."""
    return dg.MultiPartitionKey({MONTH_DIMENSION: month, UTILITY_DIMENSION: utility})


def split_key(key: str | dg.MultiPartitionKey) -> tuple[str, str]:
    """``(utility, month)`` of a month × utility partition key."""
    if isinstance(key, dg.MultiPartitionKey):
        dims = key.keys_by_dimension
        return dims[UTILITY_DIMENSION], dims[MONTH_DIMENSION]
    month, utility = str(key).split("|")
    return utility, month


def is_valid_utility_id(value: str) -> bool:
    return bool(UTILITY_ID_RE.match(value))


def is_valid_month(value: str) -> bool:
    return bool(MONTH_RE.match(value))
