"""Worked IESCO tariff examples, computed by hand, against the effective-dated tariff data."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pandas as pd
import polars as pl
import pytest

from gridflow_assets.domain import tariff
from gridflow_assets.domain.billing import expected_owed

FY26 = date(2025, 8, 1)  # FY2025-26 tariff (effective 2025-07-01)
OLD = date(2024, 3, 1)  # earlier, lower tariff (effective 2024-01-01)


def test_protected_previous_slab_benefit() -> None:
    # 100 x 10.54 = 1054.00 ; 50 x 13.01 = 650.50 ; 1054.00 + 650.50 = 1704.50
    assert tariff.energy_charge(150, "A-1", FY26, protected=True) == pytest.approx(1704.50)


def test_unprotected_pays_highest_slab_on_all_units() -> None:
    # 250 units reach the 201-300 slab: 250 x 33.10 = 8275.00
    assert tariff.energy_charge(250, "A-1", FY26) == pytest.approx(8275.00)


def test_lifeline_slab_wise() -> None:
    # 50 x 3.95 = 197.50 ; 30 x 7.74 = 232.20 ; total 429.70
    assert tariff.energy_charge(80, "A-1", FY26, lifeline=True) == pytest.approx(429.70)


def test_scheme_limits_fall_back_to_unprotected() -> None:
    # A protected consumer above 200 units loses protection: 201 x 33.10 = 6653.10
    assert tariff.energy_charge(201, "A-1", FY26, protected=True) == pytest.approx(6653.10)
    # A lifeline consumer above 100 units is billed as protected when protected:
    # 100 x 10.54 + 20 x 13.01 = 1054.00 + 260.20 = 1314.20
    assert tariff.energy_charge(120, "A-1", FY26, protected=True, lifeline=True) == pytest.approx(
        1314.20
    )


def test_flat_categories_by_code_and_name() -> None:
    # commercial A-2: 100 x 45.43 = 4543.00 ; industrial B-2: 1000 x 33.48 = 33480.00
    assert tariff.energy_charge(100, "A-2", FY26) == pytest.approx(4543.00)
    assert tariff.energy_charge(100, "commercial", FY26) == pytest.approx(4543.00)
    assert tariff.energy_charge(1000, "B-2", FY26) == pytest.approx(33480.00)
    # agricultural D-1 at 30.75, bulk C-1 at 41.76, general services A-3 at 43.17
    assert tariff.energy_charge(10, "D-1", FY26) == pytest.approx(307.50)
    assert tariff.energy_charge(10, "C-1", FY26) == pytest.approx(417.60)
    assert tariff.energy_charge(10, "A-3", FY26) == pytest.approx(431.70)


def test_fixed_charge_from_july_2024_only() -> None:
    # 350 units is in the 301-400 band: Rs 200 from July 2024, nothing before
    assert tariff.fixed_charge(350, "A-1", date(2024, 7, 1)) == 200.0
    assert tariff.fixed_charge(350, "A-1", date(2024, 6, 1)) == 0.0
    assert tariff.fixed_charge(300, "A-1", date(2024, 7, 1)) == 0.0
    assert tariff.fixed_charge(750, "A-1", date(2024, 7, 1)) == 1000.0
    assert tariff.fixed_charge(750, "A-2", date(2024, 7, 1)) == 0.0


def test_bill_june_2025_has_duty_and_ptv_fee() -> None:
    # June 2025 still uses the older rates: 350 unprotected units x 33.43 = 11700.50
    # fixed 200 ; gst 18% x (11700.50 + 200) = 2142.09 ; duty 1.5% x 11700.50 = 175.5075
    # -> 175.51 ; PTV 35 ; total 11700.50 + 200 + 2142.09 + 175.51 + 35 = 14253.10
    # after due date 1.05 x 14253.10 = 14965.755 -> 14965.76
    bill = tariff.compute_bill(350, "A-1", date(2025, 6, 1))
    assert bill == {
        "variable_charges": 11700.50,
        "fixed_charges": 200.0,
        "gst": 2142.09,
        "electricity_duty": 175.51,
        "tv_fee": 35.0,
        "late_payment_surcharge": 0.0,
        "total_amount": 14253.10,
        "amount_within_due_date": 14253.10,
        "amount_after_due_date": 14965.76,
    }


def test_bill_july_2025_drops_duty_and_ptv_fee() -> None:
    # 350 x 37.99 = 13296.50 ; fixed 200 ; gst 18% x 13496.50 = 2429.37
    # total 13296.50 + 200 + 2429.37 = 15925.87 ; after 1.05 x 15925.87 = 16722.1635 -> 16722.16
    bill = tariff.compute_bill(350, "A-1", date(2025, 7, 1))
    assert bill["electricity_duty"] == 0.0
    assert bill["tv_fee"] == 0.0
    assert bill["gst"] == pytest.approx(2429.37)
    assert bill["total_amount"] == pytest.approx(15925.87)
    assert bill["amount_after_due_date"] == pytest.approx(16722.16)


def test_gst_is_on_energy_plus_fixed_and_tv_fee_optional() -> None:
    # 150 protected units in FY26: 1704.50 ; gst 18% x 1704.50 = 306.81 ; no fixed charge
    bill = tariff.compute_bill(150, "A-1", FY26, protected=True, tv_fee_applies=False)
    assert bill["gst"] == pytest.approx(306.81)
    assert bill["tv_fee"] == 0.0
    assert bill["total_amount"] == pytest.approx(2011.31)


def test_late_surcharge_rules_by_due_date() -> None:
    # due in September 2024: flat 10% however late (1 day late on 1000 -> 100)
    assert tariff.late_surcharge(1000, date(2024, 9, 20), date(2024, 9, 21)) == 100.0
    # due from October 2024: 5% within 3 days, 10% later
    assert tariff.late_surcharge(1000, date(2024, 10, 20), date(2024, 10, 23)) == 50.0
    assert tariff.late_surcharge(1000, date(2024, 10, 20), date(2024, 10, 24)) == 100.0
    # on time or unpaid: nothing charged here
    assert tariff.late_surcharge(1000, date(2024, 10, 20), date(2024, 10, 20)) == 0.0
    assert tariff.late_surcharge(1000, date(2024, 10, 20), None) == 0.0
    # 5% of 2156.49 = 107.8245 -> 107.82
    assert tariff.late_surcharge(2156.49, date(2025, 1, 10), date(2025, 1, 12)) == 107.82


def test_late_surcharges_vectorized_matches_scalar() -> None:
    due = [date(2024, 9, 20), date(2024, 10, 20), date(2024, 10, 20), date(2025, 2, 1)]
    paid = [date(2024, 9, 21), date(2024, 10, 22), None, date(2025, 3, 1)]
    totals = [1000.0, 2156.49, 500.0, 999.99]
    expected = [tariff.late_surcharge(t, d, p) for t, d, p in zip(totals, due, paid, strict=False)]
    assert tariff.late_surcharges(totals, due, paid).tolist() == expected


def test_older_tariff_year_is_lower() -> None:
    for units, kwargs in ((150, {"protected": True}), (250, {}), (80, {"lifeline": True})):
        assert tariff.energy_charge(units, "A-1", OLD, **kwargs) < tariff.energy_charge(
            units, "A-1", FY26, **kwargs
        )
    assert tariff.energy_charge(100, "A-2", OLD) < tariff.energy_charge(100, "A-2", FY26)


def test_rates_in_force() -> None:
    old, new = tariff.rates_in_force(date(2025, 6, 1)), tariff.rates_in_force(date(2025, 7, 1))
    assert old["gst_rate"] == new["gst_rate"] == 0.18
    assert old["electricity_duty_rate"] == 0.015 and new["electricity_duty_rate"] == 0.0
    assert old["tv_fee_rs"] == 35.0 and new["tv_fee_rs"] == 0.0
    assert old["after_due_factor"] == 1.05
    assert old["energy_rates_effective_from"] == date(2024, 1, 1)
    assert new["energy_rates_effective_from"] == date(2025, 7, 1)


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError):
        tariff.energy_charge(100, "Z-9", FY26)
    with pytest.raises(ValueError):
        tariff.energy_charge(-1, "A-1", FY26)
    with pytest.raises(ValueError):
        tariff.compute_bill(100, "A-1", date(2023, 12, 1))


def test_compute_bills_equals_compute_bill_row_by_row() -> None:
    rng = np.random.default_rng(3)
    codes = list(tariff.tariff_codes())
    months = [
        date(2024, 3, 1),
        date(2024, 8, 1),
        date(2025, 6, 1),
        date(2025, 7, 1),
        date(2025, 12, 1),
    ]
    rows = [
        {
            "units": int(u),
            "category": c,
            "billing_month": m,
            "protected": p,
            "lifeline": ll,
            "tv_fee_applies": tv,
        }
        for c, m, p, ll, tv in itertools.product(
            codes, months, (False, True), (False, True), (False, True)
        )
        for u in rng.integers(0, 1500, 3).tolist() + [0, 50, 100, 101, 200, 201, 300, 301, 701]
    ]
    df = pd.DataFrame(rows)
    vectorized = tariff.compute_bills(df)
    assert list(vectorized.columns) == list(tariff.BILL_COLUMNS)
    for row, got in zip(rows, vectorized.to_dict("records"), strict=False):
        assert got == tariff.compute_bill(
            row["units"],
            row["category"],
            row["billing_month"],
            row["protected"],
            row["lifeline"],
            row["tv_fee_applies"],
        ), row


def test_compute_bills_prices_a_polars_frame_as_a_pandas_one() -> None:
    rows = {
        "units": [50.0, 150.0, 700.0, 1200.0],
        "category": ["A-1", "A-1", "A-2", "B-1"],
        "billing_month": [date(2025, 6, 1), date(2025, 7, 1), date(2025, 7, 1), date(2024, 3, 1)],
        "protected": [True, True, None, False],
        "lifeline": [True, False, False, None],
    }
    as_polars = tariff.compute_bills(pl.DataFrame(rows))
    as_pandas = tariff.compute_bills(pd.DataFrame(rows))
    assert isinstance(as_polars, pl.DataFrame)
    assert as_polars.columns == list(tariff.BILL_COLUMNS)
    assert as_polars.to_dicts() == as_pandas.to_dict("records")


def test_expected_owed_adds_the_surcharge_in_force_only_when_late() -> None:
    owed = expected_owed(
        pl.Series([1000.0, 1000.0, 1000.0, None]),
        pl.Series([date(2025, 1, 15)] * 4),
        pl.Series([date(2025, 1, 17), date(2025, 1, 20), None, date(2025, 1, 20)]),
    )
    assert owed.to_list() == [1050.0, 1100.0, 1000.0, 0.0]
