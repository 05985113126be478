"""Gold dimensions and facts (Polars logic) on crafted frames with known results."""

from datetime import UTC, date, datetime

import polars as pl

from gridflow_assets.gold import dims, facts
from gridflow_assets_tests.polars_frames import frame


def T(*a):
    return datetime(*a, tzinfo=UTC)


def _by(df: pl.DataFrame, key: str) -> dict[str, dict]:
    return {row[key]: row for row in df.iter_rows(named=True)}


def test_dim_meter_latest_record_type_flips_and_service_point():
    meters = frame(
        "silver/meters",
        meter_id=["U:M1", "U:M1", "U:M1", "U:M2", "U:M3"],
        record_ts_utc=[T(2025, 3, 5), None, T(2025, 3, 2), T(2025, 3, 1), T(2025, 3, 1)],
        source_row=[3, 1, 2, 4, 5],
        meter_type=["A", "A", "B", "A", None],  # by time: A (no time), B, A → 2 flips
        meter_status=["on", "new", "old", "on", "off"],
        service_point_id=["U:SP2", None, "U:SP1", None, None],
        installed_at_utc=[T(2025, 3, 4), None, T(2025, 1, 1), None, None],
    )
    readings = frame(
        "silver/intervals",
        meter_id=["U:M1", "U:M2", "U:M2", "U:M2"],
        service_point_id=["U:SP9", "U:SP3", "U:SP4", None],
        start_utc=[T(2025, 3, 1), T(2025, 3, 2), T(2025, 3, 1), T(2025, 3, 3)],
    )
    out = dims.dim_meter(meters, readings, "U")
    assert out.columns[:2] == ["utility_id", "meter_id"]
    assert out["meter_id"].to_list() == ["U:M1", "U:M2", "U:M3"]
    m = _by(out, "meter_id")
    assert m["U:M1"]["meter_type_changes"] == 2 and m["U:M1"]["meter_status"] == "on"
    assert m["U:M1"]["record_count"] == 3
    assert m["U:M1"]["first_record_utc"] == T(2025, 3, 2)
    assert m["U:M1"]["last_record_utc"] == T(2025, 3, 5)
    # records that link a service point win over readings; latest installation last
    assert m["U:M1"]["current_service_point_id"] == "U:SP2"
    assert m["U:M1"]["service_point_count"] == 3  # SP1, SP2 (records), SP9 (reading)
    # no link in the records: the service point of the latest reading that has one
    assert m["U:M2"]["current_service_point_id"] == "U:SP3"
    assert m["U:M2"]["service_point_count"] == 2
    assert m["U:M3"]["current_service_point_id"] is None
    assert m["U:M3"]["service_point_count"] == 0 and m["U:M3"]["meter_type_changes"] == 0


def _service_points() -> pl.DataFrame:
    return frame(
        "silver/service_points",
        utility_id=["U"] * 4,
        service_point_id=["U:1", "U:2", "U:3", "U:4"],
        district=["ISB", "ISB", None, None],
        division=["D1", "D1", None, None],
        sub_division=["S1", "S1", None, None],
        feeder_name=["F1", "F1", None, None],
        state=[None, None, "NY", "NY"],
        city=[None, None, "Albany", None],
        zip=[None, None, "12207", None],
        consumer_type=["RESIDENTIAL_PROTECTED", "RESIDENTIAL_PROTECTED", "HOME_GYM", None],
        tariff_category=["A-1", "A-1", "Z-9", None],
        latitude=[33.6844, 33.71, 42.65, None],
        longitude=[73.0479, 73.05, -73.75, None],
    )


def test_locations_dim_service_point_and_external_view():
    sp = dims.dim_service_point(_service_points())
    assert sp["location_id"].to_list() == [
        "U:ISB|D1|S1|F1",
        "U:ISB|D1|S1|F1",
        "U:NY|Albany|122|",
        "U:NY|||",
    ]
    assert sp["zip3"].to_list() == [None, None, "122", None]
    loc = dims.dim_location(_service_points())
    assert loc.select(
        "location_id", "region", "division", "sub_division", "service_point_count"
    ).rows() == [
        ("U:ISB|D1|S1|F1", "ISB", "D1", "S1", 2),
        ("U:NY|Albany|122|", "NY", "Albany", "122", 1),
        ("U:NY|||", "NY", None, None, 1),
    ]
    ext = dims.dim_service_point_external(sp, b"k")
    assert ext["latitude_coarse"].to_list() == [33.7, 33.7, 42.6, None]
    keys = ext["service_point_key"].to_list()
    assert len(set(keys)) == 4 and all(k.startswith("sp_") and len(k) == 23 for k in keys)
    assert "U:1" not in str(ext.rows())


def test_dim_consumer_type_describes_known_types_and_keeps_unknown_ones():
    out = dims.dim_consumer_type(_service_points())
    t = _by(out, "consumer_type")
    assert list(t) == ["HOME_GYM", "RESIDENTIAL_PROTECTED", "UNKNOWN"]
    assert t["RESIDENTIAL_PROTECTED"]["sector"] == "residential"
    assert t["RESIDENTIAL_PROTECTED"]["is_protected"] is True
    assert t["RESIDENTIAL_PROTECTED"]["is_lifeline"] is False
    assert t["RESIDENTIAL_PROTECTED"]["service_point_count"] == 2
    assert t["HOME_GYM"]["tariff_category"] == "Z-9" and t["HOME_GYM"]["sector"] is None
    assert t["UNKNOWN"]["service_point_count"] == 1


def test_dim_date_and_time_keys():
    d = dims.dim_date(date(2024, 2, 28), date(2024, 3, 2))
    assert d["date_key"].to_list() == [20240228, 20240229, 20240301, 20240302]
    assert d.row(3, named=True) | {"date": None} == {
        "date_key": 20240302,
        "date": None,
        "year": 2024,
        "quarter": 1,
        "month": 3,
        "month_name": "March",
        "day": 2,
        "day_of_week": 6,
        "day_name": "Saturday",
        "is_weekend": True,
        "year_month": "2024-03",
    }
    t = dims.dim_time()
    assert t.height == 1440
    assert t.row(1439) == (2359, 23, 59, "23:59", "evening")
    assert t.filter(pl.col("time_key") == 600)["day_part"].item() == "morning"


def test_fact_readings_keys_are_local():
    iv = frame("silver/intervals", start_utc=[T(2025, 5, 31, 19), T(2025, 6, 1, 18, 45)])
    out = facts.fact_readings(iv, "Asia/Karachi")  # UTC+5
    assert out.select("date_key", "time_key").rows() == [(20250601, 0), (20250601, 2345)]


def test_fact_bills_recompute_the_total_and_key_the_dimensions():
    bills = frame(
        "silver/bills",
        bill_id=["B1", "B2", "B3"],
        service_point_id=["U:1", "U:9", None],
        billing_month=[date(2025, 6, 1)] * 3,
        due_date=[date(2025, 7, 3), None, None],
        variable_charges=[100.0, 100.0, None],
        fixed_charges=[0.0] * 3,
        gst=[18.0] * 3,
        electricity_duty=[1.5] * 3,
        tv_fee=[35.0] * 3,
        late_payment_surcharge=[0.0] * 3,
        total_amount=[154.5, 155.0, 54.5],
    )
    dim = dims.dim_service_point(_service_points())
    out = facts.fact_bills(bills, dim)
    assert out["computed_total"].to_list() == [154.5, 154.5, None]
    assert out["is_arithmetic_ok"].to_list() == [True, False, False]
    assert out["consumer_type"].to_list() == ["RESIDENTIAL_PROTECTED", "UNKNOWN", "UNKNOWN"]
    assert out["location_id"].to_list() == ["U:ISB|D1|S1|F1", None, None]
    assert out["billing_month_key"].to_list() == [20250601] * 3
    assert out["due_date_key"].to_list() == [20250703, None, None]


def test_fact_payments_lateness_and_surcharge_in_force():
    bills = frame(
        "silver/bills",
        bill_id=["B1"],
        service_point_id=["U:1"],
        billing_month=[date(2025, 1, 1)],
        due_date=[date(2025, 1, 15)],
        total_amount=[1000.0],
    )
    payments = frame(
        "silver/payments",
        payment_id=["P1", "P2", "P3", "P4"],
        bill_id=["B1"] * 3 + ["B9"],
        payment_date=[date(2025, 1, 17), date(2025, 1, 30), date(2025, 1, 10), None],
        status=["paid", "paid", "paid", "unpaid"],
    )
    out = facts.fact_payments(payments, bills)
    assert out["days_after_due"].to_list() == [2, 15, -5, None]
    assert out["is_late"].to_list() == [True, True, False, False]
    # from October 2024: 5 % within 3 days of the due date, 10 % later
    assert out["expected_surcharge"].to_list() == [50.0, 100.0, 0.0, 0.0]
    assert out["service_point_id"].to_list() == ["U:1", "U:1", "U:1", None]
    assert out["payment_date_key"].to_list() == [20250117, 20250130, 20250110, None]
