"""The warehouse read as an analyst reads it, outside gridflow: Polars ``scan_delta``,
deltalake → pandas and DuckDB's ``delta_scan``. Nothing here imports gridflow.

Each reader gives, for one Delta table, a ``Read``: rows per partition (``"U/YYYY-MM"``, or
``""`` for a table that is not partitioned), the sum of one numeric column per partition when
asked (``total``), the columns with the reader's type names and the partition columns the
Delta log declares (what an analyst groups by; a table that is not partitioned may still
have a data column named ``month``). A partition with no rows has no group in a ``group
by``, so it is absent from ``rows`` (the tests compare non-empty partitions).

The pandas reader runs in a child process (``pandas_reads``): delta-rs issue 2184 (the
process can abort at exit after ``to_pandas``) must not take a pytest-xdist worker with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import TypedDict

REPO = Path(__file__).resolve().parents[1]


class Read(TypedDict):
    partition_columns: list[str]
    rows: dict[str, int]
    sums: dict[str, float]
    types: dict[str, str]
    # pandas only: each integer column of the Delta schema, its pandas dtype and its nulls
    int_columns: dict[str, tuple[str, int]]


def _key(*values: str) -> str:
    """A partition as ``"U/YYYY-MM"``."""
    return "/".join(values)


def _read(
    keys: list[str], rows: dict[str, int], sums: dict[str, float], types: dict[str, str]
) -> Read:
    return {
        "partition_columns": keys,
        "rows": rows,
        "sums": sums,
        "types": types,
        "int_columns": {},
    }


def partition_columns(uri: str) -> list[str]:
    """The partition columns the table's Delta log declares."""
    from deltalake import DeltaTable

    return list(DeltaTable(uri).metadata().partition_columns)


# -- Polars -----------------------------------------------------------------------------------


def polars_read(uri: str, version: int | datetime | None = None, total: str | None = None) -> Read:
    import polars as pl

    lf = pl.scan_delta(uri, version=version)
    schema = lf.collect_schema()
    keys = partition_columns(uri)
    aggs = [pl.len().alias("_rows")]
    if total:
        aggs.append(pl.col(total).sum().alias("_sum"))
    out = (lf.group_by(keys).agg(aggs) if keys else lf.select(aggs)).collect()
    rows, sums = {}, {}
    for rec in out.iter_rows(named=True):
        key = _key(*(rec[c] for c in keys)) if keys else ""
        if rec["_rows"]:
            rows[key] = int(rec["_rows"])
        if "_sum" in rec:
            sums[key] = float(rec["_sum"] or 0.0)
    return _read(keys, rows, sums, {name: str(dtype) for name, dtype in schema.items()})


# -- deltalake → pandas -------------------------------------------------------------------------


def pandas_read(uri: str, as_of: int | datetime | None = None, total: str | None = None) -> Read:
    import pandas as pd
    import pyarrow as pa
    from deltalake import DeltaTable

    dt = DeltaTable(uri)
    if as_of is not None:
        dt.load_as_version(as_of)
    df = dt.to_pandas(types_mapper=pd.ArrowDtype)
    keys = list(dt.metadata().partition_columns)
    rows, sums = {}, {}
    if keys:
        for part, n in df.groupby(keys, observed=True).size().items():
            rows[_key(*part)] = int(n)
        if total:
            for part, s in df.groupby(keys, observed=True)[total].sum().items():
                sums[_key(*part)] = float(s)
    else:
        if len(df):
            rows[""] = len(df)
        if total:
            sums[""] = float(df[total].sum())
    read = _read(keys, rows, sums, {c: str(t) for c, t in df.dtypes.items()})
    ints = [f.name for f in pa.schema(dt.schema()) if pa.types.is_integer(f.type)]
    read["int_columns"] = {c: (str(df[c].dtype), int(df[c].isna().sum())) for c in ints}
    return read


def pandas_reads(
    jobs: dict[str, tuple[str, int | datetime | None, str | None]],
) -> dict[str, Read]:
    """``pandas_read`` of every ``name: (uri, as_of, total)`` job, in one child process."""
    payload = {
        name: [uri, as_of.isoformat() if isinstance(as_of, datetime) else as_of, total]
        for name, (uri, as_of, total) in jobs.items()
    }
    run = subprocess.run(
        [sys.executable, "-c", "from gridflow_assets_tests.readers import _child; _child()"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
        check=False,
    )
    # the answer is printed before the interpreter exits: an abort at exit (issue 2184)
    # after it is tolerated, anything else is a failure
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, f"pandas reader failed (exit {run.returncode}):\n{run.stderr[-3000:]}"
    return json.loads(lines[-1])


def _child() -> None:
    jobs = json.loads(sys.stdin.read())
    out = {}
    for name, (uri, as_of, total) in jobs.items():
        when = datetime.fromisoformat(as_of) if isinstance(as_of, str) else as_of
        out[name] = pandas_read(uri, when, total)
    print(json.dumps(out), flush=True)


# -- DuckDB -----------------------------------------------------------------------------------


def duckdb_connection():
    """A DuckDB connection with the delta extension of the ``duckdb-ext-delta`` wheel loaded
    offline (no download, no autoinstall)."""
    import duckdb
    import duckdb_ext

    ext = os.path.join(duckdb_ext.__path__[0], "extensions")
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    con.execute(f"SET extension_directory='{ext}'")
    con.execute("LOAD delta")
    return con


def duckdb_read(con, uri: str, total: str | None = None) -> Read:
    scan = f"delta_scan('{uri}')"
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
    keys = partition_columns(uri)
    summed = f", sum({total})" if total else ""
    select = ", ".join([*keys, f"count(*){summed}"])
    grouped = " GROUP BY ALL" if keys else ""
    rows, sums = {}, {}
    for rec in con.execute(f"SELECT {select} FROM {scan}{grouped}").fetchall():
        key = _key(*rec[: len(keys)]) if keys else ""
        n = rec[len(keys)]
        if n:
            rows[key] = int(n)
        if summed:
            sums[key] = float(rec[len(keys) + 1] or 0.0)
    return _read(keys, rows, sums, types)
