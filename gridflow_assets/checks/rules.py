"""Data-quality rules as pure functions over DataFrames.

Each returns a ``RuleResult`` (passed, how many failed, a sample a steward can act on, and
counts by detail). Asset checks only wrap these; tests call them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pandera.errors as pe

from gridflow_assets.codes import ACCOUNTING_CATEGORIES
from gridflow_assets.registry.derive import range_schema, structure_schema
from gridflow_assets.registry.model import ForeignKey, Table

SAMPLE_ROWS = 10


@dataclass
class RuleResult:
    passed: bool
    failed_count: int
    total: int
    sample: pd.DataFrame = field(default_factory=pd.DataFrame)
    details: dict = field(default_factory=dict)


def _failure_cases(schema, df: pd.DataFrame) -> pd.DataFrame | None:
    try:
        schema.validate(df, lazy=True)
    except pe.SchemaErrors as exc:
        return exc.failure_cases
    return None


def validate_structure(df: pd.DataFrame, table: Table) -> RuleResult:
    """Columns present (and no others), dtypes and nullability as the registry declares."""
    cases = _failure_cases(structure_schema(table), df)
    if cases is None:
        return RuleResult(True, 0, len(df))
    cases = cases.astype({"failure_case": str})
    details = cases.groupby(["column", "check"], dropna=False).size()
    sample = cases[["column", "check", "failure_case", "index"]].head(SAMPLE_ROWS)
    return RuleResult(False, len(cases), len(df), sample,
                      {f"{c}: {k}": int(n) for (c, k), n in details.items()})


def validate_ranges(df: pd.DataFrame, table: Table) -> RuleResult:
    """Declared value ranges and allowed values; counts rows, lists failures by check."""
    schema = range_schema(table)
    cases = _failure_cases(schema, df) if schema is not None else None
    if cases is None:
        return RuleResult(True, 0, len(df))
    rows = cases["index"].dropna().unique()
    details = cases.groupby(["column", "check"], dropna=False).size()
    sample = df.loc[df.index.isin(rows)].head(SAMPLE_ROWS)
    failing = cases.drop_duplicates("index").set_index("index")
    sample = sample.assign(_failed_column=failing.column.reindex(sample.index),
                           _failed_check=failing.check.reindex(sample.index))
    return RuleResult(False, len(rows), len(df), sample,
                      {f"{c}: {k}": int(n) for (c, k), n in details.items()})


def find_duplicates(df: pd.DataFrame, key: list[str]) -> RuleResult:
    """Rows repeating an earlier row's ``key`` (the first of each key is not counted)."""
    repeats = df.duplicated(subset=key, keep="first")
    n = int(repeats.sum())
    if n == 0:
        return RuleResult(True, 0, len(df))
    dup_keys = df.loc[repeats, key].drop_duplicates()
    counts = df.loc[df.duplicated(subset=key, keep=False)].groupby(key, dropna=False).size()
    sample = counts.rename("rows").reset_index().sort_values("rows", ascending=False)
    return RuleResult(False, n, len(df), sample.head(SAMPLE_ROWS),
                      {"duplicated_keys": len(dup_keys)})


def find_orphans(child: pd.DataFrame, parent: pd.DataFrame | None, fk: ForeignKey) -> RuleResult:
    """Child rows whose (non-null) foreign key is absent from the parent."""
    cols = list(fk.columns)
    present = child[cols].notna().all(axis=1)
    if parent is None:
        parent_keys = pd.DataFrame(columns=list(fk.ref_columns))
    else:
        parent_keys = parent[list(fk.ref_columns)].drop_duplicates()
    parent_keys.columns = cols
    merged = child.loc[present, cols].merge(parent_keys.assign(_found=True), on=cols,
                                            how="left")
    orphan = merged._found.isna().to_numpy()
    n = int(orphan.sum())
    if n == 0:
        return RuleResult(True, 0, len(child))
    orphan_keys = merged.loc[orphan, cols].value_counts().rename("rows").reset_index()
    return RuleResult(False, n, len(child), orphan_keys.head(SAMPLE_ROWS),
                      {"orphan_keys": len(orphan_keys), "parent": fk.ref_table,
                       "parent_missing": parent is None})


def accounting(landed: int, kept: int, rejects: pd.DataFrame | None, target: str) -> dict:
    """Row accounting of one silver table in one partition, by accounting category."""
    counts = {c: 0 for c in ACCOUNTING_CATEGORIES}
    if rejects is not None and len(rejects):
        mine = rejects[rejects.target_table == target]
        for cat, n in mine.category.value_counts().items():
            counts[cat] = int(n)
    return {"landed": int(landed), "kept": int(kept),
            "duplicates_exact": counts["duplicate_exact"],
            "duplicates_conflicting": counts["duplicate_conflicting"],
            "rejected": counts["rejected"]}


def check_conservation(acc: dict) -> RuleResult:
    """landed = kept + duplicates_exact + duplicates_conflicting + rejected."""
    accounted = (acc["kept"] + acc["duplicates_exact"] + acc["duplicates_conflicting"]
                 + acc["rejected"])
    gap = acc["landed"] - accounted
    return RuleResult(gap == 0, abs(gap), acc["landed"], pd.DataFrame([acc]),
                      {**acc, "unaccounted": gap})


def rejects_by_reason(rejects: pd.DataFrame | None, target: str) -> dict:
    if rejects is None or rejects.empty:
        return {}
    mine = rejects[rejects.target_table == target]
    return {str(k): int(v) for k, v in mine.reason_code.value_counts().items()}
