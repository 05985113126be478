"""IESCO bills priced with the tariff in force, and the payments made against them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridflow_assets.domain import tariff
from gridflow_assets.generate.iesco_data import (
    BEHAVIOURS,
    BILL_COLUMNS,
    BILL_DUE_AFTER_DAYS,
    BILL_ISSUE_LAG_DAYS,
    MONTH_ABBREVIATIONS,
    PAYER_CLASSES,
    PAYMENT_COLUMNS,
    PAYMENT_METHODS,
    choice_by_weight,
    dates,
    fault_count,
    stream,
)
from gridflow_assets.generate.iesco_master import Master


def bills(
    master: Master, year: int, month: int, net_wh: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Bills priced with the tariff in force; returns issue and due dates for payments."""
    start = pd.Timestamp(year=year, month=month, day=1)
    month_end = (start + pd.offsets.MonthEnd(0)).to_datetime64().astype("datetime64[D]")
    day = np.timedelta64(1, "D")
    issue = month_end + (BILL_ISSUE_LAG_DAYS + (master.batch - 1) // 4) * day
    due = issue + BILL_DUE_AFTER_DAYS * day
    units = np.maximum(0, np.floor(net_wh / 1000 + 0.5)).astype(np.int64)
    table = master.table
    priced = tariff.compute_bills(
        pd.DataFrame(
            {
                "units": units,
                "category": table["tariff_category"],
                "billing_month": start,
                "protected": master.protected,
                "lifeline": master.lifeline,
                "tv_fee_applies": master.tv_fee,
            }
        )
    )

    frng = stream(master.seed, "bill_faults", year, month)
    tampered = frng.choice(
        master.n, fault_count("tampered_bills", master.n, master.level), replace=False
    )
    inflate_total = frng.random(len(tampered)) < 0.5
    delta = frng.uniform(50, 2000, len(tampered)).round(2)
    rates = tariff.rates_in_force(start.date())
    rows = priced.index[tampered[inflate_total]]
    priced.loc[rows, "total_amount"] = (
        priced.loc[rows, "total_amount"] + delta[inflate_total]
    ).round(2)
    priced.loc[rows, "amount_within_due_date"] = priced.loc[rows, "total_amount"]
    # rounded half-to-even (pandas), as tampered bills always were: drops stay byte-identical
    priced.loc[rows, "amount_after_due_date"] = tariff.after_due_amount(
        priced.loc[rows, "total_amount"], rates, rounding=lambda amount: amount.round(2)
    )
    rows = priced.index[tampered[~inflate_total]]
    priced.loc[rows, "gst"] = (priced.loc[rows, "gst"] * 1.25 + delta[~inflate_total]).round(2)

    yyyymm = f"{year:04d}{month:02d}"
    bills = pd.DataFrame(
        {
            "bill_id": "BILL-" + table["meter_number"] + "-" + yyyymm,
            "billing_month": f"{MONTH_ABBREVIATIONS[month - 1]} {year % 100:02d}",
            "issue_date": dates(issue),
            "due_date": dates(due),
            "units_consumed": units,
            **{c: priced[c].to_numpy() for c in tariff.BILL_COLUMNS},
            "tariff_applied": table["tariff_category"],
            "reference_no": table["reference_no"],
            "meter_number": table["meter_number"],
            "consumer_id": table["consumer_id"],
            "consumer_name": table["name"],
            "address": table["address"],
        },
        columns=list(BILL_COLUMNS),
    )
    return bills, issue, due


def payments(
    master: Master, year: int, month: int, bills: pd.DataFrame, issue: np.ndarray, due: np.ndarray
) -> pd.DataFrame:
    """Zero or more payments per bill; late ones owe the surcharge in force on the due date."""
    rng = stream(master.seed, "payments", year, month)
    n = len(bills)
    total = bills["total_amount"].to_numpy(float)
    mixes = np.array([PAYER_CLASSES[k][1] for k in PAYER_CLASSES])[master.payer_class]
    behaviour = (rng.random(n)[:, None] > np.cumsum(mixes, axis=1)).sum(axis=1)
    behaviour = np.minimum(behaviour, len(BEHAVIOURS) - 1)
    behaviour[total <= 0] = BEHAVIOURS.index("no_record")
    day = np.timedelta64(1, "D")
    window = ((due - issue) / day).astype(int)

    def pick(name: str) -> np.ndarray:
        return np.flatnonzero(behaviour == BEHAVIOURS.index(name))

    parts: list[dict[str, np.ndarray]] = []

    def add(
        rows: np.ndarray,
        paid_on: np.ndarray,
        amount: np.ndarray,
        due_amount: np.ndarray,
        status: str,
        seq: int,
    ) -> None:
        parts.append(
            {
                "bill": rows,
                "seq": np.full(len(rows), seq),
                "date": paid_on,
                "bill_amount": due_amount,
                "amount": amount,
                "status": np.full(len(rows), status, dtype=object),
            }
        )

    rows = pick("on_time")
    add(
        rows,
        issue[rows] + np.floor(rng.random(len(rows)) * (window[rows] + 1)).astype(int) * day,
        total[rows],
        total[rows],
        "paid",
        0,
    )

    rows = pick("late")
    paid_on = due[rows] + rng.integers(1, 37, len(rows)) * day
    owed = (total[rows] + tariff.late_surcharges(total[rows], due[rows], paid_on)).round(2)
    add(rows, paid_on, owed, owed, "paid", 0)

    rows = pick("installments")
    first_on = issue[rows] + rng.integers(0, 4, len(rows)) * day
    first = (total[rows] * rng.uniform(0.3, 0.7, len(rows))).round(0)
    second_on = (
        first_on
        + np.floor(rng.random(len(rows)) * ((due[rows] - first_on) / day + 1)).astype(int) * day
    )
    add(rows, first_on, first, total[rows], "partial", 0)
    add(rows, second_on, (total[rows] - first).round(2), total[rows], "paid", 1)

    rows = pick("partial")
    late = rng.random(len(rows)) < 0.5
    paid_on = np.where(
        late,
        due[rows] + rng.integers(1, 30, len(rows)) * day,
        issue[rows] + np.floor(rng.random(len(rows)) * (window[rows] + 1)).astype(int) * day,
    )
    owed = (total[rows] + tariff.late_surcharges(total[rows], due[rows], paid_on)).round(2)
    add(
        rows,
        paid_on,
        np.maximum(10, (owed * rng.uniform(0.2, 0.8, len(rows))).round(-1)),
        owed,
        "partial",
        0,
    )

    rows = pick("unpaid")
    add(
        rows,
        np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[D]"),
        np.zeros(len(rows)),
        total[rows],
        "unpaid",
        0,
    )

    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((merged["seq"], merged["bill"]))
    merged = {k: v[order] for k, v in merged.items()}
    count = len(order)

    paid_rows = np.flatnonzero(merged["status"] == "paid")
    over = rng.choice(
        paid_rows, fault_count("overpayments", len(paid_rows), master.level), replace=False
    )
    merged["amount"][over] = (merged["amount"][over] + rng.uniform(100, 5000, len(over))).round(2)

    method = choice_by_weight(rng, PAYMENT_METHODS, count)
    method[merged["status"] == "unpaid"] = ""
    yyyymm = f"{year:04d}{month:02d}"
    return pd.DataFrame(
        {
            "payment_id": [f"PAY-{yyyymm}-{i:06d}" for i in range(1, count + 1)],
            "bill_id": bills["bill_id"].to_numpy(object)[merged["bill"]],
            "meter_number": bills["meter_number"].to_numpy(object)[merged["bill"]],
            "bill_amount": merged["bill_amount"].round(2),
            "amount_paid": merged["amount"].round(2),
            "payment_date": dates(merged["date"].astype("datetime64[D]")),
            "payment_method": method,
            "status": merged["status"],
        },
        columns=list(PAYMENT_COLUMNS),
    )
