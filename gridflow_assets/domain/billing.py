"""Billing ideas shared by gold facts, aggregates and reconciliation checks (IESCO).

The components of a bill, the money tolerance, the consumer types and what a payment owes
are each defined once here (the component names themselves come from the tariff, which
composes bills), so a fact table and the check that judges it cannot drift apart.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from gridflow_assets.domain import tariff
from gridflow_assets.domain.reference import reference_table

BILL_COMPONENTS = tariff.BILL_COMPONENTS  # what total_amount is the sum of
BILL_AMOUNTS = tariff.BILL_COLUMNS  # every money column of a bill
CENT = 0.011  # one paisa / cent, with room for binary rounding
UNKNOWN_CONSUMER_TYPE = "UNKNOWN"


@cache
def consumer_types() -> pl.DataFrame:
    """IESCO consumer types with tariff code, sector and residential slab flags (data): the
    delivered types, then the generic ones a legacy export's consumers are derived as."""
    return pl.concat(
        [
            reference_table("gridflow_assets.domain", name).select(
                "consumer_type",
                "tariff_category",
                "sector",
                is_protected=pl.col("protected") == "1",
                is_lifeline=pl.col("lifeline") == "1",
            )
            for name in ("iesco_consumer_types.csv", "iesco_derived_consumer_types.csv")
        ]
    )


def components_sum() -> pl.Expr:
    """Sum of a bill's components as delivered, added in bill order; null if one is missing."""
    total = pl.col(BILL_COMPONENTS[0])
    for name in BILL_COMPONENTS[1:]:
        total = total + pl.col(name)
    return total


def money_off(actual: pl.Expr, expected: pl.Expr) -> pl.Expr:
    """More than a paisa apart (a missing side is not a disagreement)."""
    return ((actual - expected).abs() > CENT).fill_null(False)


def expected_owed(total: pl.Series, due: pl.Series, paid_on: pl.Series) -> pl.Series:
    """What a payment on ``paid_on`` owes: the total plus the late surcharge in force."""
    amounts = total.cast(pl.Float64).fill_null(0.0).to_numpy()
    surcharge = tariff.late_surcharges(amounts, due.to_numpy(), paid_on.to_numpy())
    return pl.Series("expected_owed", np.round(amounts + surcharge, 2))
