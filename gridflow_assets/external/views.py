"""The external tables of one partition, built from its gold and experience tables (pure
Polars; the asset wires them to the warehouse).

Identifiers tagged PII become keyed hashes with the deployment secret (``pii.pseudonymize``:
the service point's key is the one of ``gold/dim_service_point_external`` and of the Green
Button file names); places become the geography of ``dim_service_point_external`` (ZIP3,
state, district); every other PII-tagged column is left out, by construction of the
registry's external tables (``registry/external.py``).
"""

from __future__ import annotations

import polars as pl

from gridflow_assets.registry import table
from gridflow_assets.store.pii import pseudonymize

GEOGRAPHY = ["service_point_key", "zip3", "state", "district"]


def _keyed(frame: pl.DataFrame, column: str, key: str, secret: bytes, prefix: str) -> pl.DataFrame:
    return frame.with_columns(pseudonymize(frame[column], secret, prefix).alias(key))


def _shaped(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    return frame.select(table(key).column_names)


def geography(sp_external: pl.DataFrame) -> pl.DataFrame:
    """One row of aggregated geography per service point key."""
    return sp_external.select(GEOGRAPHY).unique("service_point_key", keep="first")


def usage_daily(daily: pl.DataFrame, sp_external: pl.DataFrame, secret: bytes) -> pl.DataFrame:
    """experience/daily_summaries with the service point as its key and its geography."""
    keyed = _keyed(daily, "service_point_id", "service_point_key", secret, "sp_")
    joined = keyed.join(geography(sp_external), on="service_point_key", how="left")
    return _shaped(joined, "external/usage_daily")


def usage_intervals(readings: pl.DataFrame, secret: bytes) -> pl.DataFrame:
    """gold/fact_readings' interval readings with pseudonymous service point and meter."""
    intervals = readings.filter(pl.col("reading_kind") == "interval")
    keyed = _keyed(intervals, "service_point_id", "service_point_key", secret, "sp_")
    keyed = _keyed(keyed, "meter_id", "meter_key", secret, "mt_")
    return _shaped(keyed, "external/usage_intervals")


def billing_summary(bills: pl.DataFrame, sp_external: pl.DataFrame, secret: bytes) -> pl.DataFrame:
    """gold/fact_bills without names, national ids or addresses."""
    keyed = _keyed(bills, "service_point_id", "service_point_key", secret, "sp_")
    keyed = _keyed(keyed, "bill_id", "bill_key", secret, "bl_")
    joined = keyed.join(
        geography(sp_external).select("service_point_key", "district"),
        on="service_point_key",
        how="left",
    )
    return _shaped(joined, "external/billing_summary")
