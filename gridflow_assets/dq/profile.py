"""What one month × utility partition holds, measured from the warehouse itself.

Facts only (counts, shares, examples); judging them (status, issues in words) is
``dq/assess.py``. Everything is computed from the Parquet partitions, so a profile does not
depend on which runs the Dagster instance remembers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.checks import rules
from gridflow_assets.domain.readings import ESTIMATED, FAILED_VALIDATION
from gridflow_assets.experience.daily import local_day_seconds
from gridflow_assets.frames import as_pandas
from gridflow_assets.registry import TABLES, Table
from gridflow_assets.silver.vee import delivered_count
from gridflow_assets.utilities import get_utility
from gridflow_assets.warehouse import Warehouse

DATA_LAYERS = ("bronze", "silver", "gold", "experience")

# Fields a partition cannot be signed off without, beyond the registry's non-nullable
# columns (those are the schema check's job). Chosen so every utility's format delivers
# them: a field one utility never sends (NY has no feeder, IESCO no ZIP) is not critical.
CRITICAL_FIELDS: dict[str, tuple[str, ...]] = {
    "silver/intervals": ("service_point_id", "quality_code_original"),
    "silver/service_points": ("street", "city"),
    "silver/meters": ("meter_type",),
    "silver/bills": ("units_consumed", "total_amount", "due_date"),
    "silver/payments": ("bill_amount",),
}

# A daily read covers one local calendar day: 82,800 to 90,000 s around DST changes. Those
# lengths are one reading type ("1 day"), not three: grouping by raw interval_s would split
# a utility's daily reads by the calendar, not by what they measure.
DAY_S = 86_400
LOCAL_DAY_RANGE = (82_800, 90_000)
READING_TYPE = ["measurement", "direction", "reading_kind", "interval_s", "unit"]
SERIES = ["meter_id", "channel", "interval_s"]
INTERVAL_COLUMNS = [
    "meter_id",
    "channel",
    "measurement",
    "direction",
    "reading_kind",
    "interval_s",
    "unit",
    "value",
    "quality_code",
    "start_utc",
    "end_utc",
    "local_date",
    "source_row",
]


INTERVAL_LABELS = {
    60: "1 min",
    300: "5 min",
    900: "15 min",
    1800: "30 min",
    3600: "1 h",
    DAY_S: "1 day",
}


def interval_label(seconds: int) -> str:
    return INTERVAL_LABELS.get(int(seconds), f"{int(seconds)} s")


def data_tables() -> dict[str, Table]:
    """Partitioned registry tables that hold utility data (the dq layer judges them)."""
    return {k: t for k, t in TABLES.items() if t.partitioned and t.layer in DATA_LAYERS}


def _utility(utility: str):
    try:
        return get_utility(utility)
    except KeyError:  # a partition of a utility no longer registered
        return None


def expected_tables(utility: str, present: set[str]) -> set[str]:
    """Tables a complete partition of ``utility`` has: every data table whose delivered
    inputs the utility sends. Unknown utilities are judged on what is there."""
    u = _utility(utility)
    if u is None:
        return set(present)
    return {k for k, t in data_tables().items() if all(r in u.sources for r in t.requires)}


def _source_of(utility: str, spec: Table) -> str:
    u = _utility(utility)
    return u.source_of(spec.name, spec.source) if u is not None else spec.source


def nominal_interval(interval_s: pd.Series) -> pd.Series:
    """Interval length as a reading type: local-day reads of 23/25 hours are 86,400 s."""
    s = interval_s.astype("int64")
    return s.where(~s.between(*LOCAL_DAY_RANGE), DAY_S)


def month_days(month: str, tz: str) -> pd.DataFrame:
    """Local calendar days of ``month`` with their length in seconds (DST-aware)."""
    days = pd.Series(pd.date_range(f"{month}-01", periods=pd.Period(month).days_in_month, freq="D"))
    day_s = local_day_seconds(pl.from_pandas(days), tz).to_numpy()
    return pd.DataFrame({"local_date": days, "day_s": day_s})


def coverage(iv: pd.DataFrame, month: str, tz: str) -> dict:
    """Interval coverage (V1/V9) of a partition's delivered readings (intervals VEE added
    as estimates have no ``source_row``: they are not coverage).

    ``interval_coverage``: readings present / expected inside the local days each meter
    channel delivered (a gap inside a day); ``day_coverage``: days with at least half their
    readings (CalTRACK) over every day of the month for every meter channel seen (a day not
    delivered at all). Expected readings per day honour 23/25-hour DST days.
    """
    days = month_days(month, tz)
    known = iv[
        iv.source_row.notna()
        & iv.reading_kind.isin(["interval", "register"])
        & iv.local_date.isin(days.local_date)
    ]
    if known.empty:
        return {
            "interval_coverage": None,
            "day_coverage": None,
            "series": 0,
            "channels_with_gaps": 0,
            "days_in_month": len(days),
        }
    frame = known.assign(interval_s=nominal_interval(known.interval_s))
    present = frame.groupby([*SERIES, "local_date"], sort=False).size().rename("present")
    present = present.reset_index().merge(days, on="local_date", how="left")
    per_day = np.round(present.day_s / present.interval_s)
    present["expected"] = np.maximum(1, per_day).astype("int64")
    found = np.minimum(present.present, present.expected)
    series = present[SERIES].drop_duplicates()
    gappy = present.loc[present.present < present.expected, SERIES].drop_duplicates()
    covered = int((present.present >= 0.5 * present.expected).sum())
    return {
        "interval_coverage": float(found.sum() / present.expected.sum()),
        "day_coverage": covered / (len(series) * len(days)),
        "series": len(series),
        "channels_with_gaps": len(gappy),
        "days_in_month": len(days),
    }


def value_stats(iv: pd.DataFrame) -> list[dict]:
    """Statistics per reading type: values of different types are never put together.

    Totals only for interval (usage) readings; a register read is cumulative and its sum
    means nothing. Readings that failed validation are counted and left out of the values,
    as ``experience/daily_summaries`` does.
    """
    if iv.empty:
        return []
    frame = iv.assign(
        interval_s=nominal_interval(iv.interval_s),
        _failed=iv.quality_code == FAILED_VALIDATION,
        _estimated=iv.quality_code.isin(ESTIMATED),
        _negative=iv.value < 0,
    )
    counts = frame.groupby(READING_TYPE, sort=True).agg(
        rows=("value", "size"),
        failed_validation=("_failed", "sum"),
        estimated=("_estimated", "sum"),
        negative=("_negative", "sum"),
        meters=("meter_id", "nunique"),
    )
    valid = frame[~frame._failed].groupby(READING_TYPE, sort=True).value
    stats = pd.DataFrame(
        {
            "min": valid.min(),
            "p50": valid.median(),
            "mean": valid.mean(),
            "p99": valid.quantile(0.99),
            "max": valid.max(),
            "sum": valid.sum(),
        }
    )
    out = counts.join(stats).reset_index()
    out.loc[out.reading_kind != "interval", "sum"] = np.nan
    rows = []
    for rec in out.to_dict("records"):
        rows.append(
            {
                k: (
                    None
                    if isinstance(v, float) and np.isnan(v)
                    else round(v, 6)
                    if isinstance(v, float)
                    else int(v)
                    if isinstance(v, np.integer)
                    else v
                )
                for k, v in rec.items()
            }
        )
    return rows


def quality(iv: pd.DataFrame) -> dict:
    """Readings per common quality code, and the estimated and failed-validation shares."""
    n = len(iv)
    codes = {str(int(k)): int(v) for k, v in iv.quality_code.value_counts().sort_index().items()}
    return {
        "codes": codes,
        "estimated_share": float(iv.quality_code.isin(ESTIMATED).sum() / n) if n else None,
        "failed_validation_share": float((iv.quality_code == FAILED_VALIDATION).sum() / n)
        if n
        else None,
    }


def time_range(iv: pd.DataFrame, month: str) -> dict:
    if iv.empty:
        return {"first_start_utc": None, "last_end_utc": None, "rows_outside_month": 0}
    year, mon = (int(x) for x in month.split("-"))
    outside = (iv.local_date.dt.year != year) | (iv.local_date.dt.month != mon)
    return {
        "first_start_utc": iv.start_utc.min().isoformat(),
        "last_end_utc": iv.end_utc.max().isoformat(),
        "rows_outside_month": int(outside.sum()),
    }


def _examples(sample: pd.DataFrame, columns: list[str], pii: bool, n: int = 3) -> list[str]:
    """Example failing keys a steward can quote, unless the registry tags them as PII."""
    if pii or sample.empty:
        return []
    return [
        "|".join(str(v) for v in row) for row in sample[columns].head(n).itertuples(index=False)
    ]


def orphans(store: Warehouse, utility: str, month: str) -> list[dict]:
    """Referential integrity of the delivered data: every silver foreign key (V8)."""
    out = []
    for key, spec in data_tables().items():
        if spec.layer != "silver" or not spec.foreign_keys or not store.exists(key, utility, month):
            continue
        for fk in spec.foreign_keys:
            child = store.read(key, utility, month, columns=list(fk.columns))
            parent_spec = TABLES[fk.ref_table]
            parent = (
                store.read(fk.ref_table, utility, month, columns=list(fk.ref_columns))
                if parent_spec.partitioned and fk.same_partition
                else store.read(fk.ref_table, columns=list(fk.ref_columns))
            )
            res = rules.find_orphans(child, parent, fk)
            pii = any(spec.column(c).pii for c in fk.columns)
            out.append(
                {
                    "table": key,
                    "foreign_key": fk.name,
                    "parent": fk.ref_table,
                    "rows": res.failed_count,
                    "total": res.total,
                    "keys": int(res.details.get("orphan_keys", 0)),
                    "pii": pii,
                    "examples": _examples(as_pandas(res.sample), list(fk.columns), pii),
                }
            )
    return out


def completeness(store: Warehouse, utility: str, month: str) -> list[dict]:
    out = []
    for key, cols in CRITICAL_FIELDS.items():
        df = store.read(key, utility, month, columns=list(cols))
        if df is None:
            continue
        for col in cols:
            filled = int(df[col].notna().sum())
            out.append(
                {
                    "table": key,
                    "column": col,
                    "rows": len(df),
                    "filled": filled,
                    "share": filled / len(df) if len(df) else None,
                }
            )
    return out


def accounting(
    store: Warehouse, utility: str, month: str, rejects: pd.DataFrame | None
) -> list[dict]:
    """Row accounting per silver table (``checks.rules.accounting``, as the blocking
    ``conservation__accounting`` check computes it)."""
    rows = []
    for key, spec in data_tables().items():
        if spec.layer != "silver" or not spec.source or not store.exists(key, utility, month):
            continue
        source = _source_of(utility, spec)
        kept = delivered_count(store.read(key, utility, month, columns=["source_row"]))
        acc = rules.accounting(
            store.row_count(f"bronze/{source}", utility, month), kept, rejects, spec.name
        )
        unaccounted = acc["landed"] - (
            acc["kept"] + acc["duplicates_exact"] + acc["duplicates_conflicting"] + acc["rejected"]
        )
        rows.append(
            {
                "table": key,
                "source": f"bronze/{source}",
                **acc,
                "unaccounted": unaccounted,
                "reconciles": unaccounted == 0,
                "rejects_by_reason": rules.rejects_by_reason(rejects, spec.name),
            }
        )
    return rows


def rejects_detail(rejects: pd.DataFrame | None) -> list[dict]:
    """Set-aside rows per target table and reason, with the first one as an example."""
    if rejects is None or rejects.empty:
        return []
    ordered = rejects.sort_values(["source_file", "source_row"], kind="stable")
    keys = ["target_table", "reason_code", "category"]
    first = ordered.groupby(keys, sort=True).head(1).set_index(keys)
    counts = ordered.groupby(keys, sort=True).size()
    return [
        {
            "table": f"silver/{t}",
            "reason_code": r,
            "category": c,
            "rows": int(n),
            "example_file": first.at[(t, r, c), "source_file"],
            "example_row": int(first.at[(t, r, c), "source_row"]),
            "column": first.at[(t, r, c), "column_name"],
            "detail": first.at[(t, r, c), "detail"],
        }
        for (t, r, c), n in counts.items()
    ]


def flags(store: Warehouse, utility: str, month: str) -> dict[str, dict[str, int]]:
    """Rows per rule id (``rule_ids``) of each silver table: what was resolved or flagged."""
    out = {}
    for key, spec in data_tables().items():
        if spec.layer != "silver" or "rule_ids" not in spec.column_names:
            continue
        df = store.read(key, utility, month, columns=["rule_ids"])
        if df is None:
            continue
        ids = df.rule_ids.dropna().str.split(";").explode()
        counts = ids[ids != ""].value_counts().sort_index()
        if len(counts):
            out[key] = {str(k): int(v) for k, v in counts.items()}
    return out


def profile_partition(store: Warehouse, utility: str, month: str) -> dict:
    """Every fact the scorecard needs about one partition, as JSON-ready values."""
    tables = data_tables()
    rows = {
        k: store.row_count(k, utility, month) for k in tables if store.exists(k, utility, month)
    }
    missing = sorted(expected_tables(utility, set(rows)) - set(rows))
    rejects = store.read(
        "silver/rejects",
        utility,
        month,
        columns=[
            "target_table",
            "category",
            "reason_code",
            "source_file",
            "source_row",
            "column_name",
            "detail",
        ],
    )
    u = _utility(utility)
    tz = u.timezone if u is not None else "UTC"
    iv = store.read("silver/intervals", utility, month, columns=INTERVAL_COLUMNS)
    if iv is None:
        iv = pd.DataFrame({c: pd.Series(dtype="object") for c in INTERVAL_COLUMNS})
    by_layer = {
        layer: sum(n for k, n in rows.items() if tables[k].layer == layer and k != "silver/rejects")
        for layer in DATA_LAYERS
    }
    return {
        "utility": utility,
        "month": month,
        "timezone": tz,
        "rows": rows,
        "rows_by_layer": {**by_layer, "rejects": rows.get("silver/rejects", 0)},
        "missing_tables": missing,
        "accounting": accounting(store, utility, month, rejects),
        "rejects": rejects_detail(rejects),
        "orphans": orphans(store, utility, month),
        "completeness": completeness(store, utility, month),
        "value_stats": value_stats(iv),
        "coverage": coverage(iv, month, tz),
        "quality": quality(iv),
        "time_range": time_range(iv, month),
        "flags": flags(store, utility, month),
    }
