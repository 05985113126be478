"""The IESCO generator lands complete, deterministic drops whose numbers hang together."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridflow_assets.domain import tariff
from gridflow_assets.generate.iesco import (
    BILL_COLUMNS,
    GENERATORS,
    METER_COLUMNS,
    PAYMENT_COLUMNS,
    READING_COLUMNS,
    generate_iesco,
)

METERS = 40
MONTHS = ["2024-06", "2024-07"]
FILES = {
    "meters.csv": METER_COLUMNS,
    "readings.csv": READING_COLUMNS,
    "bills.csv": BILL_COLUMNS,
    "payments.csv": PAYMENT_COLUMNS,
}
TEXT = {
    "meter_number": str,
    "consumer_id": str,
    "reference_no": str,
    "payment_date": str,
    "payment_method": str,
    "father_name": str,
    "last_maintenance_date": str,
}


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(
        folder / name,
        dtype=TEXT,
        keep_default_na=False,
        na_values={"power_factor": [""], "frequency_hz": [""]},
    )


def _hours(month: str) -> int:
    return pd.Timestamp(f"{month}-01").days_in_month * 24


def _paisa(x: pd.Series) -> pd.Series:
    return np.floor(x * 100 + 0.5 + 1e-6) / 100


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_iesco(
        tmp_path_factory.mktemp("clean"), MONTHS, meters=METERS, seed=11, faults="none"
    )


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_iesco(
        tmp_path_factory.mktemp("faulty"), MONTHS, meters=METERS, seed=11, faults="heavy"
    )


def test_deterministic_and_month_independent(tmp_path: Path, faulty: list[Path]) -> None:
    again = generate_iesco(tmp_path / "a", MONTHS, meters=METERS, seed=11, faults="heavy")
    alone = generate_iesco(tmp_path / "b", MONTHS[1:], meters=METERS, seed=11, faults="heavy")
    for name in list(FILES) + ["manifest.json"]:
        for first, second in zip(faulty, again, strict=False):
            assert (first / name).read_bytes() == (second / name).read_bytes(), name
        # July generated on its own (no June) is byte-identical: registers need no history
        assert (faulty[1] / name).read_bytes() == (alone[0] / name).read_bytes(), name
    other = generate_iesco(tmp_path / "c", MONTHS[:1], meters=METERS, seed=12, faults="heavy")
    assert (other[0] / "readings.csv").read_bytes() != (faulty[0] / "readings.csv").read_bytes()


def test_drop_layout_columns_and_encoding(faulty: list[Path]) -> None:
    for folder, month in zip(faulty, MONTHS, strict=False):
        assert folder.name == month and folder.parent.name == "IESCO"
        assert (folder / "_SUCCESS").exists()
        manifest = json.loads((folder / "manifest.json").read_text())
        listed = {f["file"]: f for f in manifest["files"]}
        assert set(listed) == set(FILES)
        for name, columns in FILES.items():
            raw = (folder / name).read_bytes()
            assert not raw.startswith(b"\xef\xbb\xbf") and raw.endswith(b"\n")
            df = _read(folder, name)
            assert tuple(df.columns) == columns
            assert listed[name]["rows"] == len(df)


def test_master_values(clean: list[Path]) -> None:
    meters = _read(clean[0], "meters.csv")
    assert meters["meter_number"].str.fullmatch(r"\d{11}").all()
    assert meters["meter_number"].is_unique and meters["consumer_id"].is_unique
    assert meters["reference_no"].str.fullmatch(r"\d{2} \d{5} \d{7} [UR]").all()
    assert set(meters["district"]) <= {"ISLAMABAD", "RAWALPINDI", "ATTOCK", "JHELUM", "CHAKWAL"}
    assert set(meters["status"]) <= {"Active", "Suspended", "Disconnected"}
    assert set(meters["tariff_category"]) <= set(tariff.tariff_codes())
    assert meters["latitude"].between(32.5, 34.1).all()
    assert meters["longitude"].between(71.8, 73.9).all()


def test_every_hour_present_without_faults(clean: list[Path]) -> None:
    for folder, month in zip(clean, MONTHS, strict=False):
        readings = _read(folder, "readings.csv")
        assert len(readings) == METERS * _hours(month)
        assert not readings.duplicated(["meter_number", "timestamp"]).any()
        assert set(readings["status"]) <= {"normal", "load_shedding", "outage"}
        shed = readings[readings["status"] == "load_shedding"]
        assert len(shed) > 0
        assert (shed["consumption_kwh"] == 0).all() and (shed["voltage_v"] == 0).all()
        normal = readings[readings["status"] == "normal"]
        assert normal["power_factor"].between(0.7, 1.0).all()
        assert (normal["voltage_v"] > 0).all()
        stamps = pd.to_datetime(readings["timestamp"], format="%Y-%m-%d %H:%M:%S")
        assert (stamps.dt.strftime("%Y-%m") == month).all()


def test_load_shedding_is_feeder_wide(clean: list[Path]) -> None:
    meters = _read(clean[0], "meters.csv")[["meter_number", "feeder_name"]]
    readings = _read(clean[0], "readings.csv").merge(meters, on="meter_number")
    readings["shed"] = readings["status"] == "load_shedding"
    share = readings.groupby(["feeder_name", "timestamp"])["shed"].mean()
    assert set(share.unique()) <= {0.0, 1.0}


def _check_register(readings: pd.DataFrame) -> None:
    readings = readings.drop_duplicates()
    stamps = pd.to_datetime(readings["timestamp"])
    same_meter = readings["meter_number"].eq(readings["meter_number"].shift())
    next_hour = (stamps - stamps.shift()).eq(pd.Timedelta(hours=1))
    step = readings["reading_kwh"].diff()
    rows = same_meter & next_hour
    assert rows.sum() > 0
    assert np.allclose(step[rows], readings["consumption_kwh"][rows], atol=1e-6)


def test_register_increments_equal_consumption(clean: list[Path], faulty: list[Path]) -> None:
    for folder in clean + faulty:
        _check_register(_read(folder, "readings.csv"))
    # and the register continues from June's last read into July's first
    for drops in (clean, faulty):
        june, july = (_read(f, "readings.csv").drop_duplicates() for f in drops)
        closing = june.groupby("meter_number")["reading_kwh"].last()
        first = july.groupby("meter_number").first()
        opening = first["reading_kwh"] - first["consumption_kwh"]
        if drops is clean:
            assert np.allclose(closing.sort_index(), opening.sort_index(), atol=1e-6)
        assert (opening >= 0).all()


def test_bills_arithmetic_and_units(clean: list[Path]) -> None:
    for folder, month in zip(clean, MONTHS, strict=False):
        bills = _read(folder, "bills.csv")
        readings = _read(folder, "readings.csv")
        assert len(bills) == METERS and bills["bill_id"].is_unique
        yyyymm = month.replace("-", "")
        assert bills["bill_id"].str.fullmatch(rf"BILL-\d{{11}}-{yyyymm}").all()
        assert (bills["bill_id"] == "BILL-" + bills["meter_number"] + "-" + yyyymm).all()
        label = {"2024-06": "JUN 24", "2024-07": "JUL 24"}[month]
        assert (bills["billing_month"] == label).all()
        rates = tariff.rates_in_force(pd.Timestamp(f"{month}-01").date())
        variable, fixed = bills["variable_charges"], bills["fixed_charges"]
        assert np.allclose(bills["gst"], _paisa(rates["gst_rate"] * (variable + fixed)))
        assert np.allclose(
            bills["electricity_duty"], _paisa(rates["electricity_duty_rate"] * variable)
        )
        parts = (
            variable
            + fixed
            + bills["gst"]
            + bills["electricity_duty"]
            + bills["tv_fee"]
            + bills["late_payment_surcharge"]
        )
        assert np.allclose(bills["total_amount"], parts, atol=0.005)
        assert (bills["amount_within_due_date"] == bills["total_amount"]).all()
        assert np.allclose(
            bills["amount_after_due_date"],
            _paisa(rates["after_due_factor"] * bills["total_amount"]),
        )
        assert (bills["due_date"] > bills["issue_date"]).all()
        used = readings.groupby("meter_number")["consumption_kwh"].sum()
        units = bills.set_index("meter_number")["units_consumed"]
        expected = np.maximum(used.reindex(units.index), 0)
        assert ((units - expected).abs() <= 0.5 + 1e-9).all()


def test_bills_match_tariff(clean: list[Path]) -> None:
    bills = _read(clean[1], "bills.csv")
    meters = _read(clean[1], "meters.csv").set_index("meter_number")
    catalogue = pd.read_csv(
        io.StringIO(
            resources.files("gridflow_assets.domain")
            .joinpath("iesco_consumer_types.csv")
            .read_text()
        )
    )
    flags = catalogue.set_index("consumer_type").loc[
        meters.loc[bills["meter_number"], "consumer_type"], ["protected", "lifeline"]
    ]
    recomputed = tariff.compute_bills(
        pd.DataFrame(
            {
                "units": bills["units_consumed"],
                "category": bills["tariff_applied"],
                "billing_month": pd.Timestamp("2024-07-01"),
                "protected": flags["protected"].to_numpy() == 1,
                "lifeline": flags["lifeline"].to_numpy() == 1,
                "tv_fee_applies": bills["tv_fee"] > 0,
            }
        )
    )
    for column in ("variable_charges", "fixed_charges", "gst", "total_amount"):
        assert np.allclose(bills[column], recomputed[column]), column


def test_payments_consistent(clean: list[Path]) -> None:
    for folder in clean:
        bills = _read(folder, "bills.csv").set_index("bill_id")
        payments = _read(folder, "payments.csv")
        assert payments["payment_id"].is_unique
        assert payments["bill_id"].isin(bills.index).all()
        assert set(payments["status"]) <= {"paid", "partial", "unpaid"}
        unpaid = payments[payments["status"] == "unpaid"]
        assert (unpaid["payment_date"] == "").all() and (unpaid["payment_method"] == "").all()
        paid = payments[payments["status"] != "unpaid"]
        assert set(paid["payment_method"]) <= {"online", "bank", "cash", "mobile_app"}
        bill = bills.loc[paid["bill_id"]]
        surcharge = tariff.late_surcharges(
            bill["total_amount"], bill["due_date"], paid["payment_date"]
        )
        assert np.allclose(paid["bill_amount"], bill["total_amount"].to_numpy() + surcharge)
        assert (paid["amount_paid"] <= paid["bill_amount"] + 1e-9).all()
        late = paid["payment_date"].to_numpy() > bill["due_date"].to_numpy()
        assert (paid["bill_amount"].to_numpy()[late] > bill["total_amount"].to_numpy()[late]).all()


def test_faults_are_injected(faulty: list[Path]) -> None:
    readings = _read(faulty[0], "readings.csv")
    month_hours = METERS * _hours(MONTHS[0])
    unique = readings.drop_duplicates(["meter_number", "timestamp"])
    assert len(unique) < month_hours  # blocks removed on purpose
    assert readings.duplicated().sum() == len(readings) - len(unique) > 0
    assert {"meter_fault", "estimated"} <= set(readings["status"])
    normal = readings[readings["status"] == "normal"]
    assert (normal["power_factor"] > 1).any() and (normal["voltage_v"] == 0).any()
    bills = _read(faulty[0], "bills.csv")
    parts = bills[
        [
            "variable_charges",
            "fixed_charges",
            "gst",
            "electricity_duty",
            "tv_fee",
            "late_payment_surcharge",
        ]
    ].sum(axis=1)
    assert ((parts - bills["total_amount"]).abs() > 0.01).any()
    payments = _read(faulty[0], "payments.csv")
    assert (payments["amount_paid"] > payments["bill_amount"]).any()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        generate_iesco(Path("unused"), MONTHS, faults="bogus")
    with pytest.raises(ValueError):
        generate_iesco(Path("unused"), ["2023-12"])
    with pytest.raises(ValueError):
        generate_iesco(Path("unused"), ["2024-13"])
    assert GENERATORS["IESCO"] is generate_iesco


def test_realistic_has_tampering_consumers(tmp_path: Path) -> None:
    # thieves start within the first year of the epoch, so by 2025 they are all stealing
    folders = generate_iesco(tmp_path, ["2025-01"], meters=100, seed=7, faults="realistic")
    readings = _read(folders[0], "readings.csv")
    assert (readings["status"] == "tamper").any()
