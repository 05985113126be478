"""Gold aggregates (Polars logic) on crafted frames with known results: reading types never
mixed, failed readings and register reads never usage, collection per tariff and location."""

from datetime import date

import polars as pl
import pytest

from gridflow_assets.gold import aggregates
from gridflow_assets_tests.polars_frames import frame

D1, D2 = date(2025, 6, 1), date(2025, 6, 2)


def _readings() -> pl.DataFrame:
    rows = [  # service point, day, measurement, direction, kind, quality, value
        ("U:1", D1, "kWh", "delivered", "interval", 0, 1.0),
        ("U:1", D1, "kWh", "delivered", "interval", 9, 2.0),  # estimated: usage
        ("U:1", D2, "kWh", "delivered", "interval", 10, 50.0),  # failed: counted, not usage
        ("U:1", D2, "kWh", "delivered", "register", 0, 900.0),  # register: not usage
        ("U:1", D2, "kWh", "net", "interval", 0, -3.0),  # net: never added to delivered
        ("U:2", D1, "kWh", "delivered", "interval", 0, 4.0),
        ("U:2", D1, "unknown", "delivered", "interval", 0, 7.0),  # unknown type: not usage
        (None, D1, "kWh", "delivered", "interval", 0, 8.0),  # service point unknown
    ]
    sp, day, meas, direction, kind, quality, value = map(list, zip(*rows, strict=True))
    n = len(rows)
    return frame(
        "gold/fact_readings",
        utility_id=["U"] * n,
        service_point_id=sp,
        local_date=day,
        measurement=meas,
        direction=direction,
        reading_kind=kind,
        quality_code=quality,
        value=value,
        interval_s=[3600] * n,
        unit=["kWh"] * n,
    )


def _dim_sp() -> pl.DataFrame:
    return frame(
        "gold/dim_service_point",
        service_point_id=["U:1", "U:2"],
        consumer_type=["HOME", "SHOP"],
        location_id=["U:L1", "U:L2"],
    )


def test_monthly_consumption_counts_failed_and_estimated_and_keeps_types_apart():
    out = aggregates.agg_monthly_consumption(_readings(), "U")
    rows = {(r["service_point_id"], r["direction"]): r for r in out.iter_rows(named=True)}
    assert list(rows) == [
        ("U:1", "delivered"),
        ("U:1", "net"),
        ("U:2", "delivered"),
        ("U:UNRESOLVED", "delivered"),
    ]
    d = rows[("U:1", "delivered")]
    assert (
        d["total_value"],
        d["reading_count"],
        d["failed_count"],
        d["estimated_count"],
        d["days_with_data"],
        d["year_month"],
    ) == (3.0, 2, 1, 1, 2, "2025-06")
    assert rows[("U:1", "net")]["total_value"] == -3.0
    assert rows[("U:UNRESOLVED", "delivered")]["total_value"] == 8.0


def test_daily_consumption_per_consumer_type():
    out = aggregates.agg_daily_consumption(_readings(), _dim_sp(), "U")
    got = out.select(
        "local_date",
        "consumer_type",
        "direction",
        "total_value",
        "service_point_count",
        "reading_count",
    ).rows()
    assert got == [
        (D1, "HOME", "delivered", 3.0, 1, 2),
        (D1, "SHOP", "delivered", 4.0, 1, 1),
        (D1, "UNKNOWN", "delivered", 8.0, 0, 1),
        (D2, "HOME", "net", -3.0, 1, 1),
    ]


def _types() -> pl.DataFrame:
    return frame(
        "gold/dim_consumer_type",
        consumer_type=["HOME", "SHOP", "UNKNOWN"],
        sector=["residential", "commercial", None],
        service_point_count=[1, 1, 0],
    )


def test_consumer_type_summary_with_and_without_bills():
    bills = frame(
        "gold/fact_bills",
        consumer_type=["HOME", "HOME", "ELSEWHERE"],
        units_consumed=[100.0, None, 5.0],
        total_amount=[1000.0, 500.0, 50.0],
    )
    out = aggregates.agg_consumer_type_summary(_readings(), _dim_sp(), _types(), bills, "U")
    t = {r["consumer_type"]: r for r in out.iter_rows(named=True)}
    assert list(t) == ["HOME", "SHOP", "UNKNOWN"]
    assert (t["HOME"]["kwh_delivered"], t["HOME"]["kwh_net"]) == (3.0, -3.0)
    assert t["HOME"]["kwh_delivered_per_service_point"] == 3.0
    assert (
        t["HOME"]["bill_count"],
        t["HOME"]["billed_units"],
        t["HOME"]["billed_amount"],
        t["HOME"]["average_bill"],
    ) == (2, 100.0, 1500.0, 750.0)
    assert t["SHOP"]["kwh_net"] is None and t["SHOP"]["average_bill"] is None
    assert t["UNKNOWN"]["kwh_delivered"] == 8.0
    none = aggregates.agg_consumer_type_summary(_readings(), _dim_sp(), _types(), None, "U")
    assert none["bill_count"].to_list() == [0, 0, 0]
    assert none["billed_amount"].to_list() == [0.0, 0.0, 0.0]


def _bills_and_payments() -> tuple[pl.DataFrame, pl.DataFrame]:
    bills = frame(
        "gold/fact_bills",
        utility_id=["U"] * 4,
        bill_id=["B1", "B2", "B3", "B4"],
        tariff_applied=["A-1", "A-1", "A-1", "B-1"],
        location_id=["U:L1", "U:L1", "U:L2", "U:L2"],
        total_amount=[100.0, 200.0, 300.0, 400.0],
    )
    payments = frame(
        "gold/fact_payments",
        bill_id=["B1", "B2", "B2", "B4"],
        amount_paid=[110.0, 50.0, 20.0, 500.0],
        bill_amount=[110.0, 200.0, 200.0, 400.0],
        is_late=[True, False, False, False],
        expected_surcharge=[10.0, 0.0, 0.0, 0.0],
    )
    return bills, payments


def test_payment_summary_per_tariff_code():
    out = aggregates.agg_payment_summary(*_bills_and_payments())
    a1, b1 = out.iter_rows(named=True)
    assert a1["tariff_applied"] == "A-1" and a1["utility_id"] == "U"
    assert (a1["bill_count"], a1["billed_amount"], a1["paid_amount"], a1["arrears"]) == (
        3,
        600.0,
        180.0,
        430.0,
    )
    assert a1["collection_rate"] == pytest.approx(0.3)
    assert (a1["late_payment_count"], a1["late_surcharge"]) == (1, 10.0)
    assert (a1["unpaid_bill_count"], a1["partial_bill_count"], a1["overpaid_bill_count"]) == (
        1,
        1,
        0,
    )
    assert (b1["overpaid_bill_count"], b1["arrears"], b1["collection_rate"]) == (1, 0.0, 1.25)


def test_location_summary_with_and_without_billing():
    loc = frame(
        "gold/dim_location",
        location_id=["U:L1", "U:L2", "U:L3"],
        region=["R", "R", "R"],
        service_point_count=[1, 1, 0],
    )
    out = aggregates.agg_location_summary(_readings(), _dim_sp(), loc, *_bills_and_payments(), "U")
    got = out.select(
        "location_id",
        "kwh_delivered",
        "bill_count",
        "billed_amount",
        "paid_amount",
        "collection_rate",
    ).rows()
    assert got == [
        ("U:L1", 3.0, 2, 300.0, 180.0, 0.6),
        ("U:L2", 4.0, 2, 700.0, 500.0, 500.0 / 700.0),
        ("U:L3", None, 0, 0.0, 0.0, None),
    ]
    bare = aggregates.agg_location_summary(_readings(), _dim_sp(), loc, None, None, "U")
    assert bare["bill_count"].to_list() == [0, 0, 0]
    assert bare["collection_rate"].to_list() == [None, None, None]
