"""IESCO: silver typing, reconciliation checks on tampered bills, aggregates, star schema."""

from datetime import UTC, date, datetime

import pandas as pd
import polars as pl
import pytest

from gridflow_assets.checks import reconcile
from gridflow_assets.domain import tariff
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.gold.aggregates import bill_collection
from gridflow_assets.registry.derive import from_arrow
from gridflow_assets.silver.adapters import SilverInput, get_utility
from gridflow_assets.store.frames import as_polars_typed
from gridflow_assets.store.landing import find_drop, read_source
from gridflow_assets_tests.polars_frames import frame

MONTH = "2025-06"


@pytest.fixture(scope="module")
def silver(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    generate_iesco(landing, [MONTH], meters=12, seed=5, faults="none")
    u = get_utility("IESCO")
    drop = find_drop(landing, "IESCO", MONTH)
    bronze = {name: read_source(drop, src) for name, src in u.sources.items()}
    out = u.to_silver(SilverInput("IESCO", MONTH, u.timezone, bronze))
    assert all(isinstance(df, pl.DataFrame) for df in [*out.tables.values(), out.rejects])
    # the reconciliation rules take pandas frames, as the warehouse reads them
    tables = {name: from_arrow(df.to_arrow()) for name, df in out.tables.items()}
    return bronze, tables, out.rejects.to_pandas()


@pytest.fixture(scope="module")
def silver_pl(silver):
    """The silver tables as the Polars frames gold and the reconcile rules work on."""
    _, tables, _ = silver
    return {name: as_polars_typed(df, f"silver/{name}") for name, df in tables.items()}


def _add_to_row(df: pl.DataFrame, row: int, column: str, delta: float) -> pl.DataFrame:
    at = pl.int_range(pl.len()) == row
    return df.with_columns(pl.when(at).then(pl.col(column) + delta).otherwise(pl.col(column)))


def test_silver_accounts_for_every_row_and_types_hours(silver):
    bronze, tables, rejects = silver
    assert rejects.empty  # clean drop
    assert len(tables["service_points"]) == len(tables["meters"]) == len(bronze["meters"]) == 12
    iv = tables["intervals"]
    assert len(iv) == len(bronze["readings"])
    assert (iv.interval_s == 3600).all() and set(iv.direction) <= {"delivered", "net"}
    first = iv.iloc[0]
    # local Asia/Karachi midnight is 19:00 UTC the day before (UTC+5, no DST)
    assert first.start_utc == pd.Timestamp("2025-05-31T19:00Z")
    assert first.local_date == pd.Timestamp("2025-06-01")


def test_clean_bills_and_payments_reconcile(silver_pl):
    t = silver_pl
    assert reconcile.bill_arithmetic(t["bills"], t["service_points"]).passed
    assert reconcile.billed_units(t["bills"], t["intervals"]).passed
    assert reconcile.payments_vs_bills(t["payments"], t["bills"]).passed


@pytest.mark.parametrize(
    "column,delta,expected",
    [
        ("total_amount", 100.0, {"total", "within_due", "after_due"}),
        ("gst", 5.0, {"total", "gst"}),
        ("variable_charges", 50.0, {"total", "gst", "electricity_duty", "energy_vs_tariff"}),
    ],
)
def test_tampered_bill_is_caught(silver_pl, column, delta, expected):
    t = silver_pl
    bills = _add_to_row(t["bills"], 0, column, delta)
    res = reconcile.bill_arithmetic(bills, t["service_points"])
    assert not res.passed and res.failed_count == 1
    assert {k for k, v in res.details.items() if v} == expected
    assert res.sample.bill_id.iloc[0] == bills["bill_id"][0]
    assert set(res.sample.failed.iloc[0].split(", ")) == expected


def test_billed_units_against_readings(silver_pl):
    t = silver_pl
    bills = _add_to_row(t["bills"], 1, "units_consumed", 25)
    res = reconcile.billed_units(bills, t["intervals"])
    assert not res.passed and res.failed_count == 1
    assert res.details == {"no_readings": 0, "hourly_sum": 1, "register_difference": 1}


def test_payment_rules_on_a_known_frame():
    bills = pl.DataFrame(
        {
            "bill_id": ["B1", "B2", "B3"],
            "total_amount": [1000.0] * 3,
            "due_date": [date(2025, 1, 15)] * 3,
        }
    )
    # B1 paid late on 2025-01-17 (within 3 days: 5 %); B2 paid on time but "late" amount;
    # B3 overpaid in two instalments.
    payments = pl.DataFrame(
        {
            "payment_id": ["P1", "P2", "P3", "P4"],
            "bill_id": ["B1", "B2", "B3", "B3"],
            "bill_amount": [1050.0, 1100.0, 1000.0, 1000.0],
            "amount_paid": [1050.0, 1100.0, 600.0, 500.0],
            "payment_date": [
                date(2025, 1, 17),
                date(2025, 1, 10),
                date(2025, 1, 5),
                date(2025, 1, 6),
            ],
            "status": ["paid", "paid", "partial", "paid"],
            "source_row": [1, 2, 3, 4],
        }
    )
    assert tariff.late_surcharge(1000.0, "2025-01-15", "2025-01-17") == 50.0
    res = reconcile.payments_vs_bills(payments, bills)
    assert res.failed_count == 2
    assert res.details == {"bill_missing": 0, "overpaid": 1, "surcharge": 1, "status": 0}
    assert set(res.sample.payment_id) == {"P2", "P4"}


def test_collection_aggregates_on_a_known_frame():
    bills = pl.DataFrame(
        {
            "bill_id": ["B1", "B2", "B3"],
            "tariff_applied": ["A-1"] * 3,
            "total_amount": [100.0, 200.0, 300.0],
        }
    )
    payments = pl.DataFrame(
        {
            "bill_id": ["B1", "B2", "B2"],
            "amount_paid": [110.0, 50.0, 20.0],
            "bill_amount": [110.0, 200.0, 200.0],
            "is_late": [True, False, False],
            "expected_surcharge": [10.0, 0.0, 0.0],
        }
    )
    b = bill_collection(bills, payments)
    assert dict(zip(b["bill_id"], b["paid"], strict=True)) == {"B1": 110.0, "B2": 70.0, "B3": 0.0}
    assert dict(zip(b["bill_id"], b["arrears"], strict=True)) == {
        "B1": 0.0,
        "B2": 130.0,
        "B3": 300.0,
    }
    assert b["is_unpaid"].to_list() == [False, False, True]
    assert b["is_partial"].to_list() == [False, True, False]
    assert b["surcharge"].sum() == 10.0


def test_billed_units_on_a_known_frame():
    hours = [datetime(2025, 6, 1, h, tzinfo=UTC) for h in range(3)]
    # M1: 3 hours of 10 kWh, register 100 → 130; M2: readings add to 30 but the register
    # moved 60; M3 (prosumer): net export, billed 0; M4: no readings at all.
    iv = frame(
        "silver/intervals",
        meter_id=["M1"] * 3 + ["M2"] * 3 + ["M3"] * 3,
        start_utc=hours * 3,
        local_date=[date(2025, 6, 1)] * 9,
        measurement=["kWh"] * 9,
        reading_kind=["interval"] * 9,
        value=[10.0] * 6 + [-5.0] * 3,
        register_kwh=[110.0, 120.0, 130.0, 110.0, None, 160.0, None, None, None],
    )
    bills = frame(
        "silver/bills",
        bill_id=["B1", "B2", "B3", "B4"],
        meter_id=["M1", "M2", "M3", "M4"],
        billing_month=[date(2025, 6, 1)] * 4,
        units_consumed=[30.0, 30.0, 0.0, 10.0],
    )
    res = reconcile.billed_units(bills, iv)
    assert res.details == {"no_readings": 1, "hourly_sum": 0, "register_difference": 1}
    assert res.failed_count == 2 and res.total == 4
    assert res.sample.bill_id.tolist() == ["B2", "B4"]
    assert res.sample.register_kwh.iloc[0] == 60.0
    assert res.sample.failed.tolist() == ["register_difference", "no_readings"]
