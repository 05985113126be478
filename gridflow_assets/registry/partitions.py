"""One partitioning for every table that holds utility data: month × utility."""

from __future__ import annotations

import dagster as dg

UTILITY_DIMENSION = "utility"
MONTH_DIMENSION = "month"


utility_partitions = dg.DynamicPartitionsDefinition(name=UTILITY_DIMENSION)
month_partitions = dg.MonthlyPartitionsDefinition(start_date="2024-01", fmt="%Y-%m", end_offset=1)
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
