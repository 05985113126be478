"""The warehouse read outside gridflow, as a BI analyst reads it: Polars ``scan_delta``,
deltalake → pandas and DuckDB's ``delta_scan`` give, for every table and partition, the rows
gridflow counts (``Warehouse.row_count``, from the Delta log) and the billed total gridflow
reads (``Warehouse.read_pl``), also after a month is run again (with the same drop, then with
a new one) and when read as of an earlier instant.

One small warehouse is built once for the module with ``gridflow run`` in process: IESCO
2025-05 and 2025-06 (20 meters), UTILITY1 2025-03 (4 meters); then IESCO 2025-06 is run
again with the same drop (the runner without the DQ refresh), and once more with
``gridflow run`` after it is delivered anew with another seed. DuckDB's ``delta_scan`` has no
time travel (no ``version`` parameter in the 1.4.4 extension): it reads the newest version.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from gridflow_assets.app.cli import main
from gridflow_assets.app.runner import run_drops
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.generate.ny import generate_utility1
from gridflow_assets.registry import table
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets_tests.readers import (
    Read,
    duckdb_connection,
    duckdb_read,
    pandas_reads,
    polars_read,
)

BILLS = "gold/fact_bills"
SUM_COLUMN = "total_amount"  # the bill amount (registry/billing.py)
IESCO_MONTHS = ["2025-05", "2025-06"]
NY_MONTH = "2025-03"
RERUN = ("IESCO", "2025-06")  # the month run again
RERUN_KEY = "/".join(RERUN)
RUN = ["run", "--workers", "1"]
RERUN_ARGS = [*RUN, "--utility", RERUN[0], "--month", RERUN[1]]
# how each reader names a string column
STRING_TYPES = {"String", "string[pyarrow]", "large_string[pyarrow]", "VARCHAR"}


@dataclass
class State:
    """What gridflow says of the warehouse at one instant (after a run)."""

    at: datetime
    versions: dict[str, int]
    rows: dict[str, dict[str, int]]  # table → partition ("U/YYYY-MM", "" unpartitioned) → rows
    sums: dict[str, float]  # partition → sum of fact_bills' bill amount


@dataclass
class Built:
    warehouse: Path
    states: dict[str, State]  # "built", "same" (identical rerun), "changed" (new drop rerun)

    @property
    def now(self) -> State:
        return self.states["changed"]

    def uri(self, key: str) -> str:
        return Warehouse(self.warehouse).table_uri(key)


def gridflow_state(store: Warehouse, at: datetime) -> State:
    rows: dict[str, dict[str, int]] = {}
    for key in store.tables():
        if table(key).partitioned:
            rows[key] = {f"{u}/{m}": store.row_count(key, u, m) for u, m in store.partitions(key)}
        else:
            rows[key] = {"": store.row_count(key)}
    sums = {
        f"{u}/{m}": float(store.read_pl(BILLS, u, m, columns=[SUM_COLUMN])[SUM_COLUMN].sum())
        for u, m in store.partitions(BILLS)
    }
    versions = {key: store.version(key) for key in rows}
    return State(at, versions, rows, sums)


def _settled(warehouse: Path) -> State:
    """gridflow's state now, at an instant strictly between the last commit and the next."""
    time.sleep(0.02)
    at = datetime.now(UTC)
    time.sleep(0.02)
    return gridflow_state(Warehouse(warehouse), at)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    base = tmp_path_factory.mktemp("outside_readers")
    landing, warehouse, reports = (base / n for n in ("landing", "warehouse", "reports"))
    for folder in (landing, warehouse, reports):
        folder.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(base / "dagster_home"))
        mp.setenv("GRIDFLOW_LANDING", str(landing))
        mp.setenv("GRIDFLOW_WAREHOUSE", str(warehouse))
        mp.setenv("GRIDFLOW_REPORTS", str(reports))
        generate_iesco(landing, IESCO_MONTHS, meters=20, seed=3)
        generate_utility1(landing, [NY_MONTH], meters=4, seed=1)
        assert main(RUN) == 0
        states = {"built": _settled(warehouse)}
        # the same drop again, without the DQ refresh `gridflow run` adds (3 s; the last
        # run below refreshes the DQ tables)
        again = run_drops(
            dg.DagsterInstance.get(),
            str(landing),
            str(warehouse),
            utility=RERUN[0],
            month=RERUN[1],
            out=lambda _line: None,
            log=base / "rerun.log",
            refresh=False,
        )
        assert again.ok and len(again.partitions) == 1
        states["same"] = _settled(warehouse)
        generate_iesco(landing, [RERUN[1]], meters=20, seed=4)  # delivered anew
        assert main(RERUN_ARGS) == 0
        states["changed"] = _settled(warehouse)
    return Built(warehouse, states)


@pytest.fixture(scope="module")
def pandas(built) -> dict[str, Read]:
    """deltalake → pandas reads of every table now (``now:<key>``) and as of the instants
    after the first run and after the identical rerun (``built:<key>``, ``same:<key>``)."""
    jobs = {}
    for name, state in (
        ("now", None),
        ("built", built.states["built"]),
        ("same", built.states["same"]),
    ):
        for key in built.now.rows:
            jobs[f"{name}:{key}"] = (
                built.uri(key),
                None if state is None else state.at,
                total(key),
            )
    return pandas_reads(jobs)


def total(key: str) -> str | None:
    """The column whose sum per partition the readers must agree on."""
    return SUM_COLUMN if key == BILLS else None


def disagreements(engine: str, key: str, read: Read, state: State) -> list[str]:
    """How ``read`` differs from gridflow's rows (non-empty partitions: a ``group by`` has no
    group for an empty one) and, for the bills, its billed total per partition."""
    problems = []
    want = {p: n for p, n in state.rows[key].items() if n}
    if read["rows"] != want:
        keys = sorted(set(want) | set(read["rows"]))
        diff = {
            p: (want.get(p), read["rows"].get(p))
            for p in keys
            if want.get(p) != read["rows"].get(p)
        }
        problems.append(f"{engine} {key}: rows (gridflow, {engine}) per partition differ: {diff}")
    if key == BILLS:
        for part, total in state.sums.items():
            got = read["sums"].get(part)
            if got is None or not math.isclose(got, total, rel_tol=1e-12, abs_tol=1e-6):
                problems.append(f"{engine} {key} {part}: {SUM_COLUMN} {got} != gridflow {total}")
    return problems


def test_the_warehouse_has_every_layer_and_the_partitions_built(built):
    keys = set(built.now.rows)
    assert {"bronze/readings", "silver/intervals", BILLS, "dq/partition_scorecard"} <= keys
    assert set(built.now.rows["gold/fact_readings"]) == {
        "IESCO/2025-05",
        "IESCO/2025-06",
        f"UTILITY1/{NY_MONTH}",
    }
    assert set(built.now.sums) == {"IESCO/2025-05", "IESCO/2025-06"}


def test_polars_scan_delta_counts_what_gridflow_counts(built):
    problems = []
    for key in built.now.rows:
        problems += disagreements(
            "polars", key, polars_read(built.uri(key), total=total(key)), built.now
        )
    assert problems == []


def test_pandas_through_deltalake_counts_what_gridflow_counts(built, pandas):
    problems = []
    for key in built.now.rows:
        problems += disagreements("pandas", key, pandas[f"now:{key}"], built.now)
    assert problems == []


def test_duckdb_delta_scan_counts_what_gridflow_counts(built):
    con = duckdb_connection()
    problems = []
    for key in built.now.rows:
        problems += disagreements(
            "duckdb", key, duckdb_read(con, built.uri(key), total(key)), built.now
        )
    con.close()
    assert problems == []


def test_every_reader_sees_the_registry_columns_and_string_partition_columns(built, pandas):
    con = duckdb_connection()
    for key in built.now.rows:
        reads = {
            "polars": polars_read(built.uri(key)),
            "pandas": pandas[f"now:{key}"],
            "duckdb": duckdb_read(con, built.uri(key)),
        }
        spec = table(key)
        partitions = ["utility", "month"] if spec.partitioned else []
        columns = set(spec.column_names) | set(partitions)
        for engine, read in reads.items():
            types = read["types"]
            assert "v" not in types, (engine, key)
            # every registry column (gold/dim_date's and the DQ tables' data column named
            # month too); nothing more but in bronze, which adds each utility's delivered
            # columns
            if spec.layer == "bronze":
                assert columns <= set(types), (engine, key, columns - set(types))
            else:
                assert set(types) == columns, (engine, key, set(types) ^ columns)
            assert read["partition_columns"] == partitions, (engine, key)
            for name in partitions:
                assert types[name] in STRING_TYPES, (engine, key, name, types[name])
    con.close()


def test_pandas_keeps_nullable_integers_as_integers(pandas):
    """Every integer column comes back as an integer Arrow dtype, nulls and all (pandas'
    own int64 would turn a column with a null into float64)."""
    columns = {
        f"{name.split(':', 1)[1]}.{col}": (dtype, nulls)
        for name, read in pandas.items()
        if name.startswith("now:")
        for col, (dtype, nulls) in read["int_columns"].items()
    }
    not_int = {c: d for c, (d, _) in columns.items() if not d.startswith(("int", "uint"))}
    assert not_int == {}
    assert all(d.endswith("[pyarrow]") for d, _ in columns.values())
    with_nulls = [c for c, (_, nulls) in columns.items() if nulls]
    assert with_nulls, "no integer column with nulls in the demo warehouse: nothing was tested"


def test_reruns_replace_the_partition_they_run(built):
    built_, same, changed = (built.states[s] for s in ("built", "same", "changed"))
    partitioned = [k for k in built_.rows if table(k).partitioned]
    # the same drop again: every partition of every table as it was, bills to the paisa
    for key in partitioned:
        assert same.rows[key] == built_.rows[key], key
    assert same.sums == built_.sums
    # a new drop of the month: that month replaced, not added to; the others untouched
    for key in partitioned:
        assert set(changed.rows[key]) == set(built_.rows[key]), key
        others = {p: n for p, n in changed.rows[key].items() if p != RERUN_KEY}
        assert others == {p: n for p, n in built_.rows[key].items() if p != RERUN_KEY}, key
    assert changed.sums[RERUN_KEY] != same.sums[RERUN_KEY]
    assert {p: s for p, s in changed.sums.items() if p != RERUN_KEY} == {
        p: s for p, s in same.sums.items() if p != RERUN_KEY
    }


@pytest.mark.parametrize("name", ["built", "same"])
def test_time_travel_reads_the_warehouse_as_it_stood(built, pandas, name):
    then = built.states[name]
    past = gridflow_state(Warehouse(built.warehouse, as_of=then.at), then.at)
    assert past.rows == then.rows
    assert past.sums == then.sums
    assert past.versions == then.versions
    problems = []
    for key in then.rows:
        read = polars_read(built.uri(key), then.versions[key], total(key))
        problems += disagreements("polars@version", key, read, then)
        problems += disagreements("pandas@as_of", key, pandas[f"{name}:{key}"], then)
    assert problems == []


def test_the_same_drop_again_commits_no_partition(built):
    start, end = built.states["built"].at, built.states["same"].at
    store = Warehouse(built.warehouse)
    committed = {
        key: [e["version"] for e in store.history(key, *RERUN) if start < e["time"] < end]
        for key in built.now.rows
        if table(key).partitioned
    }
    assert {k: v for k, v in committed.items() if v} == {}
