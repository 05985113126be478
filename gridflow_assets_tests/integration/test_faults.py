"""Faults: a killed writer, concurrent runs, re-delivered months."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import dagster as dg
import pandas as pd
import polars as pl
import pyarrow.parquet as pq

from gridflow_assets.generate.ny import generate_utility1, generate_utility2
from gridflow_assets.silver.vee import delivered_count
from gridflow_assets.store.warehouse import Warehouse

WRITER = textwrap.dedent("""
    import sys, pandas as pd
    from gridflow_assets.store.warehouse import Warehouse
    store = Warehouse(sys.argv[1])
    n = 0
    while True:
        n += 1
        df = pd.DataFrame({"time_key": range(200_000), "hour": n % 24, "minute": 0,
                           "label": "x" * 20, "day_part": "night"})
        store.write("gold/dim_time", df)
        print(n, flush=True)
""")


def test_killed_writer_never_leaves_a_partial_partition(tmp_path):
    """SIGKILL a process in the middle of rewriting a table, many times over: the Delta log
    always names a complete old or new version (whatever half-written file the kill left
    beside it is never read, by gridflow or by another Delta reader), and the next write
    completes."""
    store = Warehouse(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for attempt in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, env=env
        )
        proc.stdout.readline()  # at least one complete write happened
        time.sleep(0.05 + 0.07 * attempt)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        [visible] = Warehouse(tmp_path).files("gold/dim_time")
        assert visible.endswith(".parquet")
        table = pq.read_table(visible)
        assert table.num_rows == 200_000 == Warehouse(tmp_path).row_count("gold/dim_time")
        assert len(set(table.column("hour").to_pylist())) == 1  # one whole version
        outside = pl.scan_delta(store.table_uri("gold/dim_time")).collect()
        assert outside.height == 200_000 and outside["hour"].n_unique() == 1
    store.write(
        "gold/dim_time",
        pd.DataFrame(
            {"time_key": [0], "hour": [0], "minute": [0], "label": ["00:00"], "day_part": ["night"]}
        ),
    )
    assert store.read("gold/dim_time").shape == (1, 5)


def _gridflow(args, env):
    return subprocess.Popen(
        [sys.executable, "-m", "gridflow_assets.app.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_concurrent_runs_of_different_partitions_do_not_interfere(folders, tmp_path):
    landing, warehouse, reports = folders
    generate_utility1(landing, ["2025-03"], meters=6, seed=1)
    generate_utility2(landing, ["2025-03"], meters=6, seed=1)
    env = {
        **os.environ,
        "PYTHONPATH": os.getcwd(),
        "DAGSTER_HOME": str(tmp_path / "home"),
        "GRIDFLOW_LANDING": str(landing),
        "GRIDFLOW_WAREHOUSE": str(warehouse),
        "GRIDFLOW_REPORTS": str(reports),
    }
    (tmp_path / "home").mkdir()
    # Register both utilities first so the two runs don't race to create the partitions.
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        instance.add_dynamic_partitions("utility", ["UTILITY1", "UTILITY2"])
    procs = [_gridflow(["run", "--utility", u], env) for u in ("UTILITY1", "UTILITY2")]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    store = Warehouse(warehouse)
    for utility in ("UTILITY1", "UTILITY2"):
        bronze = store.row_count("bronze/readings", utility, "2025-03")
        rejects = store.read("silver/rejects", utility, "2025-03")
        kept = delivered_count(store.read("silver/intervals", utility, "2025-03"))
        assert bronze == kept + (rejects.target_table == "intervals").sum() > 0


def test_workers_run_partitions_in_separate_processes_on_one_instance(folders, tmp_path):
    landing, warehouse, reports = folders
    generate_utility1(landing, ["2025-02", "2025-03"], meters=4, seed=5)
    env = {
        **os.environ,
        "PYTHONPATH": os.getcwd(),
        "DAGSTER_HOME": str(tmp_path / "home"),
        "GRIDFLOW_LANDING": str(landing),
        "GRIDFLOW_WAREHOUSE": str(warehouse),
        "GRIDFLOW_REPORTS": str(reports),
    }
    proc = _gridflow(["run", "--workers", "2"], env)
    output = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, output
    assert "2 partitions on 2 worker processes" in output
    done = [
        line
        for line in output.splitlines()
        if line.startswith(("[1/2] UTILITY1/2025-", "[2/2] UTILITY1/2025-"))
    ]
    assert len(done) == 2 and all(" ✓ " in line for line in done), output
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="partition_job"))
        assert sorted(r.tags["dagster/partition"] for r in runs) == [
            "2025-02|UTILITY1",
            "2025-03|UTILITY1",
        ]
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        pids = {
            e.dagster_event.pid
            for r in runs
            for e in instance.all_logs(r.run_id)
            if e.dagster_event is not None
        }
    assert proc.pid not in pids  # the runs executed in the workers, not in `gridflow run`
    bad = _gridflow(["run", "--workers", "0"], env)
    assert bad.wait(timeout=120) == 2


def test_redelivered_month_replaces_the_partition(folders, tmp_path, monkeypatch):
    from gridflow_assets.app.cli import main

    landing, warehouse, _ = folders
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GRIDFLOW_LANDING", str(landing))
    monkeypatch.setenv("GRIDFLOW_WAREHOUSE", str(warehouse))
    generate_utility1(landing, ["2025-03"], meters=4, seed=1)
    assert main(["run"]) == 0
    store = Warehouse(warehouse)
    first = store.read("bronze/readings", "UTILITY1", "2025-03")
    generate_utility1(landing, ["2025-03"], meters=9, seed=2)  # re-delivery
    assert main(["run"]) == 0
    second = store.read("bronze/readings", "UTILITY1", "2025-03")
    delivered = (landing / "UTILITY1" / "2025-03" / "utility1_intervals.csv").read_bytes()
    assert len(second) == delivered.count(b"\n")  # header + rows, no final newline
    assert len(second) != len(first)
    assert store.partitions("bronze/readings") == [("UTILITY1", "2025-03")]
