"""The DQ snapshot: what a steward needs to sign a month off, computed from the warehouse
itself (row counts, accounting, rejects) and the Dagster instance (check evaluations)."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pandas as pd

from gridflow_assets.checks.rules import accounting
from gridflow_assets.registry import TABLES
from gridflow_assets.warehouse import Warehouse

CHECK_COLUMNS = ["asset", "check", "kind", "utility", "month", "passed", "severity",
                 "failed_count", "run_id", "evaluated_at", "sample"]


def check_history(instance: dg.DagsterInstance) -> pd.DataFrame:
    """Every asset-check evaluation the instance holds, oldest first (the history)."""
    records = instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION),
        ascending=True)
    rows = []
    for rec in records:
        ev = rec.event_log_entry.dagster_event.event_specific_data
        meta = ev.metadata
        value = lambda k: meta[k].value if k in meta else None  # noqa: E731
        rows.append({
            "asset": "/".join(ev.asset_key.path), "check": ev.check_name,
            "kind": value("kind") or ev.check_name.split("__")[0],
            "utility": value("utility"), "month": value("month"),
            "passed": bool(ev.passed), "severity": ev.severity.value,
            "failed_count": int(value("failed_count") or 0),
            "run_id": rec.event_log_entry.run_id,
            "evaluated_at": dt.datetime.fromtimestamp(rec.timestamp, dt.UTC).isoformat(),
            "sample": value("sample"),
        })
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def latest_checks(history: pd.DataFrame) -> pd.DataFrame:
    if history.empty:
        return history
    keys = ["asset", "check", "utility", "month"]
    return history.groupby(keys, dropna=False, sort=True).tail(1).reset_index(drop=True)


def _source_of(utility: str, spec) -> str:
    from gridflow_assets.utilities import get_utility

    try:
        return get_utility(utility).source_of(spec.name, spec.source)
    except KeyError:  # a partition of a utility no longer registered: registry default
        return spec.source


def build_snapshot(store: Warehouse, history: pd.DataFrame, utility: str | None = None,
                   month: str | None = None) -> dict:
    """The snapshot of interfaces.md (``gridflow dq --format json``)."""
    want = lambda u, m: (utility is None or u == utility) and (month is None or m == month)  # noqa: E731
    partitions = sorted({p for key in TABLES for p in store.partitions(key)
                         if TABLES[key].partitioned and want(*p)})
    tables, acc_rows = [], []
    for key, spec in TABLES.items():
        if not spec.partitioned:
            continue
        for u, m in store.partitions(key):
            if want(u, m):
                tables.append({"table": key, "utility": u, "month": m,
                               "rows": store.row_count(key, u, m)})
    for u, m in partitions:
        rejects = store.read("silver/rejects", u, m, columns=["target_table", "category",
                                                               "reason_code"])
        for key, spec in TABLES.items():
            if spec.layer != "silver" or not spec.source or not store.exists(key, u, m):
                continue
            source = _source_of(u, spec)
            acc = accounting(store.row_count(f"bronze/{source}", u, m),
                             store.row_count(key, u, m), rejects, spec.name)
            by_reason = {}
            if rejects is not None:
                mine = rejects[rejects.target_table == spec.name]
                by_reason = {str(k): int(v) for k, v in mine.reason_code.value_counts().items()}
            acc_rows.append({"table": key, "utility": u, "month": m, **acc,
                             "reconciles": acc["landed"] == acc["kept"] + acc["duplicates_exact"]
                             + acc["duplicates_conflicting"] + acc["rejected"],
                             "rejects_by_reason": by_reason})
    latest = latest_checks(history)
    checks = []
    for row in latest.itertuples(index=False):
        if row.utility is not None and not want(row.utility, row.month):
            continue
        if row.utility is None and (utility or month):
            continue
        checks.append({"asset": row.asset, "check": row.check, "kind": row.kind,
                       "utility": row.utility, "month": row.month, "passed": row.passed,
                       "severity": row.severity, "failed_count": row.failed_count,
                       "evaluated_at": row.evaluated_at, "run_id": row.run_id})
    status = []
    for u, m in partitions:
        mine = [c for c in checks if c["utility"] == u and c["month"] == m]
        blocked = any(not c["passed"] and c["severity"] == "ERROR" for c in mine)
        warned = any(not c["passed"] for c in mine)
        unreconciled = any(not a["reconciles"] for a in acc_rows
                           if a["utility"] == u and a["month"] == m)
        status.append({"utility": u, "month": m,
                       "status": "blocked" if blocked or unreconciled else
                       "ready with warnings" if warned else "ready",
                       "failed_checks": sorted(f"{c['asset']}:{c['check']}" for c in mine
                                               if not c["passed"])})
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "partitions": [{"utility": u, "month": m} for u, m in partitions],
        "tables": tables, "accounting": acc_rows, "checks": checks, "status": status,
    }


def render(snapshot: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(snapshot, indent=2, default=str)
    if fmt == "markdown":
        return _markdown(snapshot)
    if fmt == "html":
        from gridflow_assets.dq.html import render_html

        return render_html(snapshot)
    return _text(snapshot)


def _frame(rows: list[dict], cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)


def _text(s: dict) -> str:
    out = [f"gridflow DQ snapshot — {s['generated_at']}", ""]
    if not s["partitions"]:
        return "\n".join(out + ["No partitions in the warehouse yet: run `gridflow run`."])
    st = _frame(s["status"], ["utility", "month", "status", "failed_checks"])
    st["failed_checks"] = st.failed_checks.map(lambda x: ", ".join(x) if x else "—")
    out += ["Partitions", st.to_string(index=False), ""]
    acc = _frame(s["accounting"], ["table", "utility", "month", "landed", "kept",
                                   "duplicates_exact", "duplicates_conflicting", "rejected",
                                   "reconciles"])
    out += ["Row accounting (landed = kept + exact dup + conflicting dup + rejected)",
            acc.to_string(index=False), ""]
    reasons = [{"table": a["table"], "utility": a["utility"], "month": a["month"],
                "reason": r, "rows": n} for a in s["accounting"]
               for r, n in a["rejects_by_reason"].items()]
    if reasons:
        out += ["Rejects by reason", _frame(reasons, list(reasons[0])).to_string(index=False),
                ""]
    failing = [c for c in s["checks"] if not c["passed"]]
    ck = _frame(failing, ["asset", "check", "utility", "month", "severity", "failed_count"])
    passed = sum(c["passed"] for c in s["checks"])
    out += [f"Checks: {passed} passed, {len(failing)} failing"]
    if failing:
        out.append(ck.to_string(index=False))
    return "\n".join(out)


def _markdown(s: dict) -> str:
    def table(rows: list[dict], cols: list[str]) -> str:
        if not rows:
            return "_none_"
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
        return "\n".join(lines)
    return "\n\n".join([
        f"# gridflow DQ snapshot\n\nGenerated {s['generated_at']}.",
        "## Partitions\n\n" + table(s["status"], ["utility", "month", "status"]),
        "## Row accounting\n\n" + table(s["accounting"], [
            "table", "utility", "month", "landed", "kept", "duplicates_exact",
            "duplicates_conflicting", "rejected", "reconciles"]),
        "## Failing checks\n\n" + table([c for c in s["checks"] if not c["passed"]], [
            "asset", "check", "utility", "month", "severity", "failed_count"]),
    ])
