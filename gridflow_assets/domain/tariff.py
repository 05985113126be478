"""IESCO (NEPRA uniform) bill arithmetic on the effective-dated tariff (``tariff_data``).

Methods of a scheme's slabs:

* ``slab_wise`` (lifeline, protected): each slab's units at that slab's rate, which is the
  "previous slab benefit" (150 protected units = 100 x 10.54 + 50 x 13.01).
* ``highest_slab`` (unprotected): all units at the rate of the highest slab reached.
* ``flat``: one open-ended row, all units at its rate.

A scheme's last finite ``to_units`` is also its eligibility limit: a lifeline consumer above
it is billed as protected (when protected) or unprotected, a protected consumer above it as
unprotected. Money is rounded half-up to paisa at each printed component, exactly as the
delivered bills show it (docs/formats/), so recomputation reproduces printed figures.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.domain.tariff_data import (
    LIFELINE_SCHEME,
    PROTECTED_SCHEME,
    RESIDENTIAL,
    UNPROTECTED_SCHEME,
    Bands,
    DataDate,
    EnergyScheme,
    as_date,
    bands_in_force,
    category_name,
    earliest_effective_date,
    rates_in_force,
    scheme_in_force,
    subcategory,
    tariff_codes,
    tariff_subcategories,
)

__all__ = [
    "BILL_COLUMNS",
    "BILL_COMPONENTS",
    "LEVY_RATES",
    "EnergyScheme",
    "after_due_amount",
    "compute_bill",
    "compute_bills",
    "duty_amount",
    "earliest_effective_date",
    "energy_charge",
    "fixed_charge",
    "gst_amount",
    "late_surcharge",
    "late_surcharges",
    "rates_in_force",
    "scheme_for",
    "subcategory",
    "tariff_codes",
    "tariff_subcategories",
]

BILL_COMPONENTS = (
    "variable_charges",
    "fixed_charges",
    "gst",
    "electricity_duty",
    "tv_fee",
    "late_payment_surcharge",
)
BILL_COLUMNS = (*BILL_COMPONENTS, "total_amount", "amount_within_due_date", "amount_after_due_date")
LEVY_RATES = ("gst_rate", "electricity_duty_rate", "tv_fee_rs", "after_due_factor")
"""The rates in force (``rates_in_force``) that price a bill beyond its energy and fixed
charges: :func:`gst_amount`, :func:`duty_amount`, the TV fee and :func:`after_due_amount`."""

# Added (in units of paisa) before flooring so that amounts meant as exact half-paisa,
# e.g. 1.005 stored as 1.00499999..., still round up as a cashier would.
_HALF_UP_NUDGE = 1e-6


def _paisa(value: Any) -> Any:
    """Round half-up to paisa; one function for scalars, arrays and Polars expressions (nulls
    stay null) so bills and the check that recomputes them agree bit for bit."""
    expr = isinstance(value, pl.Expr)
    shifted = (value if expr else np.asarray(value, dtype=float)) * 100.0 + 0.5 + _HALF_UP_NUDGE
    return (shifted.floor() if expr else np.floor(shifted)) / 100.0


# The bill formula (NEPRA uniform, as IESCO prints it), once for every form of a bill: the
# amounts are floats, numpy arrays or Polars expressions, and ``rates`` maps each of
# ``LEVY_RATES`` to a number, an array (one rate per bill) or an expression alike.


def gst_amount(variable: Any, fixed: Any, rates: Mapping[str, Any]) -> Any:
    """General sales tax: ``gst_rate x (energy + fixed charges)``, to paisa."""
    return _paisa(rates["gst_rate"] * (variable + fixed))


def duty_amount(variable: Any, rates: Mapping[str, Any]) -> Any:
    """Electricity duty: ``electricity_duty_rate x energy charges``, to paisa."""
    return _paisa(rates["electricity_duty_rate"] * variable)


def after_due_amount(
    total: Any, rates: Mapping[str, Any], rounding: Callable[[Any], Any] = _paisa
) -> Any:
    """Payable after the due date: ``after_due_factor x total``, to paisa (``rounding``:
    only for the generator's tampered bills, which have always rounded their own way)."""
    return rounding(rates["after_due_factor"] * total)


def _priced(variable: Any, fixed: Any, tv_fee: Any, rates: Mapping[str, Any]) -> dict[str, Any]:
    """A bill at issue from its energy and fixed charges and TV fee (rounded to paisa): the
    levies by the formulas above, no late surcharge yet, ``total`` the components' sum in
    bill order to paisa, payable within the due date as it is."""
    bill = {
        "variable_charges": variable,
        "fixed_charges": fixed,
        "gst": gst_amount(variable, fixed, rates),
        "electricity_duty": duty_amount(variable, rates),
        "tv_fee": tv_fee,
        "late_payment_surcharge": variable * 0.0,
    }
    total = _paisa(reduce(operator.add, (bill[name] for name in BILL_COMPONENTS)))
    return {
        **bill,
        "total_amount": total,
        "amount_within_due_date": total,
        "amount_after_due_date": after_due_amount(total, rates),
    }


def _check_units(units: float) -> float:
    units = float(units)
    if not math.isfinite(units) or units < 0:
        raise ValueError(f"units must be a finite number >= 0, got {units!r}")
    return units


def scheme_for(
    units: float,
    category: str,
    billing_month: DataDate,
    protected: bool = False,
    lifeline: bool = False,
) -> EnergyScheme:
    """The energy scheme (slab table) that prices these units for this consumer and month."""
    units = _check_units(units)
    when = as_date(billing_month)
    cat = category_name(category)
    if cat != RESIDENTIAL:
        return scheme_in_force(cat, when)
    candidates = (
        ([LIFELINE_SCHEME] if lifeline else [])
        + ([PROTECTED_SCHEME] if protected else [])
        + [UNPROTECTED_SCHEME]
    )
    for name in candidates:
        scheme = scheme_in_force(name, when)
        if units <= scheme.max_units:
            return scheme
    raise ValueError(f"tariff data: no residential scheme covers {units} units on {when}")


def _energy_scalar(units: float, scheme: EnergyScheme) -> float:
    if scheme.method == "slab_wise":
        total = 0.0
        for low, high, rate in zip(scheme.lows, scheme.highs, scheme.rates, strict=False):
            total = total + min(max(units - low, 0.0), high - low) * rate
        return total
    for high, rate in zip(scheme.highs, scheme.rates, strict=False):
        if units <= high:
            return units * rate
    return units * scheme.rates[-1]


def energy_charge(
    units: float,
    category: str,
    billing_month: DataDate,
    protected: bool = False,
    lifeline: bool = False,
) -> float:
    """Energy (variable) charge in Rs, rounded to paisa, with the tariff of ``billing_month``.

    ``category`` is an IESCO code (``A-1``), a NEPRA sub-category (``A-1a``) or a category
    name (``residential``); the ``protected`` / ``lifeline`` flags only matter for
    residential consumers.
    """
    scheme = scheme_for(units, category, billing_month, protected, lifeline)
    return float(_paisa(_energy_scalar(float(units), scheme)))


def fixed_charge(units: float, category: str, billing_month: DataDate) -> float:
    """Fixed charge in Rs for the units band; categories without bands pay none."""
    units = _check_units(units)
    bands = bands_in_force(category_name(category), as_date(billing_month))
    if bands is None:
        return 0.0
    for low, high, charge in zip(bands.lows, bands.highs, bands.charges, strict=False):
        if low < units <= high:
            return float(_paisa(charge))
    return 0.0


def compute_bill(
    units: float,
    category: str,
    billing_month: DataDate,
    protected: bool = False,
    lifeline: bool = False,
    tv_fee_applies: bool = True,
) -> dict[str, float]:
    """Price one monthly bill at issue (no late surcharge yet), components rounded to paisa:
    the energy and fixed charges of the units, the levies (:func:`gst_amount`,
    :func:`duty_amount`, :func:`after_due_amount`) and total by the one bill formula, every
    rate taken from the data in force for ``billing_month``.
    """
    when = as_date(billing_month)
    rates = rates_in_force(when)
    variable = energy_charge(units, category, when, protected, lifeline)
    fixed = fixed_charge(units, category, when)
    tv_fee = float(_paisa(rates["tv_fee_rs"])) if tv_fee_applies else 0.0
    return {name: float(amount) for name, amount in _priced(variable, fixed, tv_fee, rates).items()}


def late_surcharge(total: float, due_date: DataDate, payment_date: DataDate | None) -> float:
    """Late payment surcharge in Rs for a payment made on ``payment_date``.

    The rule in force on the due date applies (flat 10% before October 2024; afterwards 5%
    within 3 days of the due date, 10% later). Unpaid (``None``) or on-time payments attract
    nothing here: whether an unpaid bill is charged is the caller's decision.
    """
    if payment_date is None:
        return 0.0
    due, paid = as_date(due_date), as_date(payment_date)
    days_late = (paid - due).days
    if days_late <= 0:
        return 0.0
    return float(_paisa(_late_rate(days_late, rates_in_force(due)) * float(total)))


def _late_rate(days_late: Any, rates: Mapping[str, Any]) -> Any:
    """The surcharge rate of a payment ``days_late`` (> 0) days late with ``rates`` in force
    on the due date: the short-delay tier's within the grace days, the other's later."""
    return np.where(
        days_late <= rates["late_surcharge_grace_days"],
        rates["late_surcharge_rate_within_grace"],
        rates["late_surcharge_rate_after_grace"],
    )


def late_surcharges(totals: Any, due_dates: Any, payment_dates: Any) -> np.ndarray:
    """Vectorized :func:`late_surcharge`; missing payment dates (NaT/None) give 0."""
    totals = np.asarray(totals, dtype=float)
    due = pd.to_datetime(pd.Series(list(due_dates))).to_numpy()
    paid = pd.to_datetime(pd.Series(list(payment_dates))).to_numpy()
    days_late = (paid - due) / np.timedelta64(1, "D")
    late = ~np.isnan(days_late) & (days_late > 0)
    rate = np.zeros(len(totals))
    for day in np.unique(due[late]):
        rows = late & (due == day)
        rate[rows] = _late_rate(days_late[rows], rates_in_force(pd.Timestamp(day)))
    return np.where(late, _paisa(rate * totals), 0.0)


def _energy_vector(units: np.ndarray, scheme: EnergyScheme) -> np.ndarray:
    if scheme.method == "slab_wise":
        total = np.zeros(len(units))
        for low, high, rate in zip(scheme.lows, scheme.highs, scheme.rates, strict=False):
            total = total + np.minimum(np.maximum(units - low, 0.0), high - low) * rate
        return total
    highs = np.asarray(scheme.highs)
    index = np.minimum(np.searchsorted(highs, units, side="left"), len(highs) - 1)
    return units * np.asarray(scheme.rates)[index]


def _fixed_vector(units: np.ndarray, bands: Bands) -> np.ndarray:
    highs = np.asarray(bands.highs)
    index = np.searchsorted(highs, units, side="left")
    inside = index < len(highs)
    index = np.minimum(index, len(highs) - 1)
    inside &= units > np.asarray(bands.lows)[index]
    return np.where(inside, np.asarray(bands.charges)[index], 0.0)


def compute_bills(df: pd.DataFrame | pl.DataFrame) -> pd.DataFrame | pl.DataFrame:
    """Vectorized :func:`compute_bill` for many consumers at once (same figures, row by row).

    ``df`` (pandas or Polars) needs ``units``, ``category`` (code or name) and
    ``billing_month``; ``protected``, ``lifeline`` (default False) and ``tv_fee_applies``
    (default True) are optional. Returns the :data:`BILL_COLUMNS` as a frame of the same kind
    (pandas: on ``df``'s index). Work is per distinct month and scheme, never per row, so
    thousands of bills price in milliseconds.
    """
    n = len(df)
    units = np.asarray(df["units"].to_numpy(), dtype=float)
    if n and (~np.isfinite(units) | (units < 0)).any():
        raise ValueError("units must be finite numbers >= 0")
    names = {str(c): category_name(str(c)) for c in set(df["category"].to_numpy().tolist())}
    categories = (
        np.array([names[str(c)] for c in df["category"].to_numpy().tolist()], dtype=object)
        if n
        else np.array([], dtype=object)
    )
    months = np.asarray(df["billing_month"].to_numpy(), dtype="datetime64[D]")

    def flag(name: str, default: bool) -> np.ndarray:
        if name not in df.columns:
            return np.full(n, default)
        values = df[name]
        if isinstance(values, pl.Series):
            return values.cast(pl.Boolean).fill_null(default).to_numpy()
        return values.astype("boolean").fillna(default).to_numpy(dtype=bool)

    protected, lifeline, tv_applies = (
        flag("protected", False),
        flag("lifeline", False),
        flag("tv_fee_applies", True),
    )

    variable = np.zeros(n)
    fixed = np.zeros(n)
    rates = {name: np.zeros(n) for name in LEVY_RATES}  # per bill, of its month
    for month in np.unique(months):
        in_month = months == month
        when = pd.Timestamp(month).date()
        in_force = rates_in_force(when)
        for name in LEVY_RATES:
            rates[name][in_month] = in_force[name]

        schemes = np.where(categories == RESIDENTIAL, UNPROTECTED_SCHEME, categories)
        residential = in_month & (categories == RESIDENTIAL)
        for name, wanted in ((PROTECTED_SCHEME, protected), (LIFELINE_SCHEME, lifeline)):
            limit = scheme_in_force(name, when).max_units
            schemes[residential & wanted & (units <= limit)] = name
        for name in np.unique(schemes[in_month]):
            rows = in_month & (schemes == name)
            variable[rows] = _energy_vector(units[rows], scheme_in_force(str(name), when))
        for category in np.unique(categories[in_month]):
            bands = bands_in_force(str(category), when)
            if bands is not None:
                rows = in_month & (categories == category)
                fixed[rows] = _fixed_vector(units[rows], bands)

    tv_fee = np.where(tv_applies, _paisa(rates["tv_fee_rs"]), 0.0)
    columns = _priced(_paisa(variable), _paisa(fixed), tv_fee, rates)
    if isinstance(df, pl.DataFrame):
        return pl.DataFrame({name: columns[name] for name in BILL_COLUMNS})
    return pd.DataFrame({name: columns[name] for name in BILL_COLUMNS}, index=df.index)
