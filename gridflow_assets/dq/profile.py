"""What one month × utility partition holds, measured from the warehouse itself.

Facts only (counts, shares, examples); judging them (status, issues in words) is
``dq/assess.py``. Everything is computed from the Parquet partitions, so a profile does not
depend on which runs the Dagster instance remembers.

Partitions are read as Polars frames, only the columns a figure needs: a month of a large
utility holds millions of interval rows. Day lengths, nominal intervals and coverage come
from the interval grid (``silver/vee/grid.py``) and quality codes from ``domain/readings``,
so the profile counts days and estimates as VEE and the summaries do.
"""

from __future__ import annotations

import math

import polars as pl

from gridflow_assets.checks import rules
from gridflow_assets.domain.accounting import unaccounted
from gridflow_assets.domain.readings import is_estimated, is_failed
from gridflow_assets.dq.checklist import interval_label  # noqa: F401 (re-exported)
from gridflow_assets.registry import DATA_LAYERS, TABLES, Table, data_tables, table
from gridflow_assets.registry.derive import polars_schema
from gridflow_assets.silver.adapters import get_utility
from gridflow_assets.silver.vee import delivered_count
from gridflow_assets.silver.vee.coverage import month_coverage
from gridflow_assets.silver.vee.grid import nominal_interval
from gridflow_assets.store.warehouse import Warehouse

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

# Daily reads of 23/25-hour local days are one reading type ("1 day"): statistics group by
# the nominal interval (``grid.nominal_interval``), not by raw interval_s.
READING_TYPE = ["measurement", "direction", "reading_kind", "interval_s", "unit"]
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
# What ``grid.month_coverage`` reads.
COVERAGE_COLUMNS = ["meter_id", "channel", "interval_s", "reading_kind", "local_date", "source_row"]
REJECT_COLUMNS = [
    "target_table",
    "category",
    "reason_code",
    "source_file",
    "source_row",
    "column_name",
    "detail",
]


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


def _json_value(v):
    """A statistic as JSON: floats rounded to 6 places, NaN as None."""
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 6)
    return v


def value_stats(iv: pl.DataFrame | pl.LazyFrame) -> list[dict]:
    """Statistics per reading type: values of different types are never put together.

    Totals only for interval (usage) readings; a register read is cumulative and its sum
    means nothing. Readings that failed validation are counted and left out of the values,
    as ``experience/daily_summaries`` does; a type with no other reading has no values.

    Counts come from one group-by; the median and 99th percentile are taken type by type
    (a partition has a handful of types): a group-by median over string keys holds every
    value in per-group lists, ~400 MB more at 1.4 M rows.
    """
    failed = is_failed() | pl.col("quality_code").is_null()  # non-nullable: never null
    value = pl.col("_value")  # the value of a reading that passed validation, else null
    frame = (
        iv.lazy()
        .select(
            *(c for c in READING_TYPE if c != "interval_s"),
            nominal_interval(pl.col("interval_s")).alias("interval_s"),
            "meter_id",
            "value",
            "quality_code",
        )
        .drop_nulls(READING_TYPE)
        .with_columns(_value=pl.when(~failed).then(pl.col("value").fill_nan(None)))
    )
    counts = (
        frame.group_by(READING_TYPE)
        .agg(
            rows=pl.len(),
            failed_validation=is_failed().sum(),
            estimated=is_estimated().sum(),
            negative=(pl.col("value") < 0).fill_null(False).sum(),
            meters=pl.col("meter_id").drop_nulls().n_unique(),
            min=value.min(),
            mean=value.mean(),
            max=value.max(),
            sum=pl.when((~failed).any()).then(value.sum().cast(pl.Float64)),
        )
        .sort(READING_TYPE)
        .collect()
    )
    out = []
    for rec in counts.iter_rows(named=True):
        same_type = pl.all_horizontal(pl.col(k) == rec[k] for k in READING_TYPE)
        pct = (
            frame.filter(same_type)
            .select(p50=value.median(), p99=value.quantile(0.99, interpolation="linear"))
            .collect()
            .row(0, named=True)
        )
        row = {
            **{k: rec[k] for k in READING_TYPE},
            **{k: rec[k] for k in ("rows", "failed_validation", "estimated", "negative", "meters")},
            "min": rec["min"],
            "p50": pct["p50"],
            "mean": rec["mean"],
            "p99": pct["p99"],
            "max": rec["max"],
            "sum": rec["sum"] if rec["reading_kind"] == "interval" else None,
        }
        out.append({k: _json_value(v) for k, v in row.items()})
    return out


def quality(iv: pl.DataFrame | pl.LazyFrame) -> dict:
    """Readings per common quality code, and the estimated and failed-validation shares."""
    frame = iv.lazy().select("quality_code")
    codes = frame.drop_nulls().group_by("quality_code").len().sort("quality_code").collect()
    shares = (
        frame.select(n=pl.len(), estimated=is_estimated().sum(), failed=is_failed().sum())
        .collect()
        .row(0, named=True)
    )
    n = shares["n"]
    return {
        "codes": {str(int(k)): int(v) for k, v in codes.iter_rows()},
        "estimated_share": float(shares["estimated"] / n) if n else None,
        "failed_validation_share": float(shares["failed"] / n) if n else None,
    }


def time_range(iv: pl.DataFrame | pl.LazyFrame, month: str) -> dict:
    """First start and last end (UTC), and rows whose local day is outside ``month`` (a
    row without a local day counts as outside)."""
    year, mon = (int(x) for x in month.split("-"))
    day = pl.col("local_date")
    out = (
        iv.lazy()
        .select(
            n=pl.len(),
            first=pl.col("start_utc").min(),
            last=pl.col("end_utc").max(),
            outside=(day.dt.year().ne_missing(year) | day.dt.month().ne_missing(mon)).sum(),
        )
        .collect()
        .row(0, named=True)
    )
    if not out["n"]:
        return {"first_start_utc": None, "last_end_utc": None, "rows_outside_month": 0}
    return {
        "first_start_utc": out["first"].isoformat(),
        "last_end_utc": out["last"].isoformat(),
        "rows_outside_month": int(out["outside"]),
    }


def _examples(sample: pl.DataFrame | None, columns: list[str], pii: bool, n: int = 3) -> list[str]:
    """Example failing keys a steward can quote, unless the registry tags them as PII."""
    if pii or sample is None or sample.is_empty():
        return []
    return ["|".join(str(v) for v in row) for row in sample.select(columns).head(n).iter_rows()]


def orphans(store: Warehouse, utility: str, month: str) -> list[dict]:
    """Referential integrity of the delivered data: every silver foreign key (V8)."""
    out = []
    for key, spec in data_tables().items():
        if spec.layer != "silver" or not spec.foreign_keys or not store.exists(key, utility, month):
            continue
        for fk in spec.foreign_keys:
            buckets = store.iter_buckets(key, utility, month, columns=list(fk.columns))
            tallies = [rules.orphan_tally(bucket, fk) for bucket in buckets]
            parent_spec = TABLES[fk.ref_table]
            parent = (
                store.read_pl(fk.ref_table, utility, month, columns=list(fk.ref_columns))
                if parent_spec.partitioned and fk.same_partition
                else store.read_pl(fk.ref_table, columns=list(fk.ref_columns))
            )
            res = rules.orphans_found(tallies, parent, fk)
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
                    "examples": _examples(res.sample, list(fk.columns), pii),
                }
            )
    return out


def _filled(col: str, dtype: pl.DataType) -> pl.Expr:
    """A value is there: not null, and not NaN in a float column (as pandas counts it)."""
    c = pl.col(col)
    return (c.is_not_null() & ~c.is_nan()) if dtype.is_float() else c.is_not_null()


def completeness(store: Warehouse, utility: str, month: str) -> list[dict]:
    out = []
    for key, cols in CRITICAL_FIELDS.items():
        if not store.exists(key, utility, month):
            continue
        rows, filled = 0, dict.fromkeys(cols, 0)  # summed bucket by bucket
        for df in store.iter_buckets(key, utility, month, columns=list(cols)):
            rows += df.height
            counts = df.select(_filled(c, df.schema[c]).sum().alias(c) for c in cols).row(0)
            filled = {c: filled[c] + int(n) for c, n in zip(cols, counts, strict=False)}
        for col, n in filled.items():
            out.append(
                {
                    "table": key,
                    "column": col,
                    "rows": rows,
                    "filled": n,
                    "share": n / rows if rows else None,
                }
            )
    return out


def accounting(
    store: Warehouse, utility: str, month: str, rejects: pl.DataFrame | None
) -> list[dict]:
    """Row accounting per silver table (``checks.rules.accounting``, as the blocking
    ``conservation__accounting`` check computes it)."""
    rows = []
    for key, spec in data_tables().items():
        if spec.layer != "silver" or not spec.source or not store.exists(key, utility, month):
            continue
        source = _source_of(utility, spec)
        kept = sum(
            delivered_count(bucket)
            for bucket in store.iter_buckets(key, utility, month, columns=["source_row"])
        )
        acc = rules.accounting(
            store.row_count(f"bronze/{source}", utility, month), kept, rejects, spec.name
        )
        gap = unaccounted(acc)
        rows.append(
            {
                "table": key,
                "source": f"bronze/{source}",
                **acc,
                "unaccounted": gap,
                "reconciles": gap == 0,
                "rejects_by_reason": rules.rejects_by_reason(rejects, spec.name),
            }
        )
    return rows


def rejects_detail(rejects: pl.DataFrame | None) -> list[dict]:
    """Set-aside rows per target table and reason, with the first one (by source file and
    row) as an example."""
    if rejects is None or rejects.is_empty():
        return []
    keys = ["target_table", "reason_code", "category"]
    groups = (
        rejects.lazy()
        .drop_nulls(keys)
        .sort(["source_file", "source_row"], nulls_last=True, maintain_order=True)
        .group_by(keys)
        .agg(
            pl.len().alias("rows"),
            pl.col("source_file", "source_row", "column_name", "detail").first(),
        )
        .sort(keys)
        .collect()
    )
    return [
        {
            "table": f"silver/{g['target_table']}",
            "reason_code": g["reason_code"],
            "category": g["category"],
            "rows": int(g["rows"]),
            "example_file": g["source_file"],
            "example_row": int(g["source_row"]),
            "column": g["column_name"],
            "detail": g["detail"],
        }
        for g in groups.iter_rows(named=True)
    ]


def flags(store: Warehouse, utility: str, month: str) -> dict[str, dict[str, int]]:
    """Rows per rule id (``rule_ids``) of each silver table: what was resolved or flagged.
    Distinct ``rule_ids`` values are counted first, then split: a partition has millions of
    rows and a handful of rule combinations."""
    out = {}
    for key, spec in data_tables().items():
        if spec.layer != "silver" or "rule_ids" not in spec.column_names:
            continue
        scan = store.scan(key, utility, month)
        if scan is None:
            continue
        counts = (
            scan.select(pl.col("rule_ids").drop_nulls())
            .group_by("rule_ids")
            .len()
            .with_columns(pl.col("rule_ids").str.split(";"))
            .explode("rule_ids")
            .filter(pl.col("rule_ids") != "")
            .group_by("rule_ids")
            .agg(pl.col("len").sum())
            .sort("rule_ids")
            .collect()
        )
        if counts.height:
            out[key] = {str(k): int(v) for k, v in counts.iter_rows()}
    return out


def _intervals(store: Warehouse, utility: str, month: str) -> pl.LazyFrame:
    """The partition's intervals as a lazy scan (each figure reads only its columns), or an
    empty frame of the registry's types when the partition was never written."""
    scan = store.scan("silver/intervals", utility, month)
    if scan is not None:
        return scan.select(INTERVAL_COLUMNS)
    schema = polars_schema(table("silver/intervals"))
    return pl.LazyFrame(schema={c: schema[c] for c in INTERVAL_COLUMNS})


def profile_partition(store: Warehouse, utility: str, month: str) -> dict:
    """Every fact the scorecard needs about one partition, as JSON-ready values."""
    tables = data_tables()
    rows = {
        k: store.row_count(k, utility, month) for k in tables if store.exists(k, utility, month)
    }
    missing = sorted(expected_tables(utility, set(rows)) - set(rows))
    rejects = store.read_pl("silver/rejects", utility, month, columns=REJECT_COLUMNS)
    u = _utility(utility)
    tz = u.timezone if u is not None else "UTC"
    iv = _intervals(store, utility, month)
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
        "coverage": month_coverage(
            store.iter_buckets("silver/intervals", utility, month, columns=COVERAGE_COLUMNS),
            month,
            tz,
        ),
        "quality": quality(iv),
        "time_range": time_range(iv, month),
        "flags": flags(store, utility, month),
    }
