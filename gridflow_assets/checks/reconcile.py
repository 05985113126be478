"""Reconciliation rules for billing utilities (IESCO): bills against the tariff in force and
against the readings, payments against bills. Pure functions returning ``RuleResult``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridflow_assets.assets.gold_billing import consumer_types, expected_owed
from gridflow_assets.checks.rules import SAMPLE_ROWS, RuleResult
from gridflow_assets.domain import tariff

CENT = 0.011  # one paisa, with room for binary rounding
UNITS_TOLERANCE_KWH = 1.0  # billed units are whole kWh: half a unit of rounding each way
UNITS_TOLERANCE_SHARE = 0.01


def _result(df: pd.DataFrame, failing: pd.DataFrame, show: list[str]) -> RuleResult:
    bad = failing.any(axis=1)
    details = {col: int(failing[col].sum()) for col in failing.columns}
    sample = df.loc[bad, show].assign(failed=failing[bad].apply(
        lambda r: ", ".join(c for c in failing.columns if r[c]), axis=1)).head(SAMPLE_ROWS)
    return RuleResult(not bad.any(), int(bad.sum()), len(df), sample, details)


def _rates(months: pd.Series) -> pd.DataFrame:
    """The levies in force for each bill's billing month (one lookup per distinct month)."""
    table = {m: tariff.rates_in_force(m.date()) for m in months.dropna().unique()}
    return pd.DataFrame([table.get(m, {}) for m in months], index=months.index)


def bill_arithmetic(bills: pd.DataFrame, service_points: pd.DataFrame | None) -> RuleResult:
    """total = energy + fixed + GST + duty + fee + surcharge; GST, duty, fee, within/after-due
    amounts follow the rates in force for the billing month; energy and fixed charges equal
    the tariff's price of the billed units for the consumer's category."""
    b = bills
    r = _rates(pd.to_datetime(b.billing_month))
    off = lambda a, e: (a - e).abs() > CENT  # noqa: E731
    parts = b.variable_charges + b.fixed_charges + b.gst + b.electricity_duty + b.tv_fee \
        + b.late_payment_surcharge
    priced = _tariff_prices(b, service_points)
    failing = pd.DataFrame({
        "total": off(b.total_amount, parts.round(2)),
        "gst": off(b.gst, (r.gst_rate * (b.variable_charges + b.fixed_charges)).round(2)),
        "electricity_duty": off(b.electricity_duty,
                                (r.electricity_duty_rate * b.variable_charges).round(2)),
        "tv_fee": ~(b.tv_fee.abs().le(CENT) | off(b.tv_fee, r.tv_fee_rs).eq(False)),
        "within_due": off(b.amount_within_due_date, b.total_amount),
        "after_due": off(b.amount_after_due_date,
                         (r.after_due_factor * b.total_amount).round(2)),
        "energy_vs_tariff": priced.variable.notna() & off(b.variable_charges, priced.variable),
        "fixed_vs_tariff": priced.fixed.notna() & off(b.fixed_charges, priced.fixed),
    }, index=b.index)
    return _result(b, failing, ["bill_id", "units_consumed", "variable_charges", "gst",
                                "total_amount"])


def _tariff_prices(bills: pd.DataFrame, service_points: pd.DataFrame | None) -> pd.DataFrame:
    """Energy and fixed charge the tariff gives; NaN where the consumer type is unknown."""
    out = pd.DataFrame({"variable": np.nan, "fixed": np.nan}, index=bills.index)
    if service_points is None or bills.empty:
        return out
    ctype = bills.service_point_id.map(service_points.set_index("service_point_id")
                                       .consumer_type)
    flags = consumer_types().set_index("consumer_type")
    known = ctype.isin(flags.index) & bills.units_consumed.notna() & bills.tariff_applied.notna()
    if not known.any():
        return out
    k = bills[known]
    priced = tariff.compute_bills(pd.DataFrame({
        "units": k.units_consumed, "category": k.tariff_applied,
        "billing_month": k.billing_month,
        "protected": ctype[known].map(flags.is_protected),
        "lifeline": ctype[known].map(flags.is_lifeline)}, index=k.index))
    out.loc[known, "variable"] = priced.variable_charges
    out.loc[known, "fixed"] = priced.fixed_charges
    return out


def billed_units(bills: pd.DataFrame, intervals: pd.DataFrame | None) -> RuleResult:
    """Billed units equal the month's hourly readings and the register difference (VEE V7),
    within max(1 kWh, 1 %). Prosumers are billed their net import, never below zero."""
    usage = pd.DataFrame(columns=["hourly", "register"])
    if intervals is not None and len(intervals):
        iv = intervals[(intervals.measurement == "kWh") & (intervals.reading_kind == "interval")]
        iv = iv.assign(year_month=iv.local_date.dt.to_period("M").dt.to_timestamp())
        iv = iv.sort_values(["meter_id", "start_utc"])
        g = iv.groupby(["meter_id", "year_month"])
        first = g.first()
        usage = pd.DataFrame({"hourly": g.value.sum(),
                              "register": g.register_kwh.last()
                              - (first.register_kwh - first.value)})
    key = pd.MultiIndex.from_arrays([bills.meter_id, pd.to_datetime(bills.billing_month)])
    found = usage.reindex(key)
    hourly = found.hourly.clip(lower=0).to_numpy()
    register = found.register.clip(lower=0).to_numpy()
    units = bills.units_consumed.to_numpy(float)
    tol = np.maximum(UNITS_TOLERANCE_KWH, UNITS_TOLERANCE_SHARE * units)
    failing = pd.DataFrame({
        "no_readings": np.isnan(hourly),
        "hourly_sum": ~np.isnan(hourly) & (np.abs(units - hourly) > tol),
        "register_difference": ~np.isnan(register) & (np.abs(units - register) > tol),
    }, index=bills.index)
    shown = bills.assign(hourly_kwh=np.round(hourly, 3), register_kwh=np.round(register, 3))
    return _result(shown, failing, ["bill_id", "meter_id", "units_consumed", "hourly_kwh",
                                    "register_kwh"])


def payments_vs_bills(payments: pd.DataFrame, bills: pd.DataFrame | None) -> RuleResult:
    """Amount paid ≤ amount due; the late surcharge is owed exactly by late payments; the
    status agrees with what has been paid on the bill so far."""
    p = payments.sort_values(["bill_id", "payment_date", "source_row"], na_position="last")
    b = (bills if bills is not None else pd.DataFrame(columns=["bill_id"])).set_index("bill_id")
    total = p.bill_id.map(b.total_amount) if len(b) else pd.Series(np.nan, index=p.index)
    due = p.bill_id.map(b.due_date) if len(b) else pd.Series(pd.NaT, index=p.index)
    paid_so_far = p.groupby("bill_id").amount_paid.cumsum()
    dated = p.payment_date.notna()
    owed = expected_owed(total.fillna(0.0), due, p.payment_date).where(dated, total)
    failing = pd.DataFrame({
        "bill_missing": total.isna(),
        "overpaid": paid_so_far > p.bill_amount + CENT,
        "surcharge": total.notna() & dated & ((p.bill_amount - owed).abs() > CENT),
        "status": np.select(
            [p.status == "unpaid", p.status == "paid", p.status == "partial"],
            [(p.amount_paid.abs() > CENT) | dated,
             paid_so_far < p.bill_amount - CENT,
             (paid_so_far <= CENT) | (paid_so_far >= p.bill_amount - CENT)], True),
    }, index=p.index)
    shown = p.assign(expected_owed=owed.round(2))
    result = _result(shown, failing.loc[shown.index], [
        "payment_id", "bill_id", "status", "bill_amount", "expected_owed", "amount_paid"])
    return result
