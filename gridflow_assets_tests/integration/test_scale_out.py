"""Scale-out: the same code location on a PostgreSQL Dagster instance, partitions fanned
out as independent runs in separate processes.

The suite starts a real PostgreSQL server (``initdb`` + ``pg_ctl``, on 127.0.0.1 and a free
port, in a temporary folder) and points ``DAGSTER_HOME`` at a ``dagster.yaml`` whose
storage is ``postgres``: exactly what a deployment with several machines uses (each
machine's ``dagster.yaml`` names the same database). Skipped, saying why, where no
PostgreSQL server binaries are installed.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import dagster as dg
import pytest

from gridflow_assets.dq.history import check_history
from gridflow_assets.generate.ny import generate_utility1, generate_utility2
from gridflow_assets.silver.vee import delivered_count
from gridflow_assets.warehouse import Warehouse

pytest.importorskip("dagster_postgres", reason="dagster-postgres is not installed")

UTILITIES = ("UTILITY1", "UTILITY2")
MONTH = "2025-03"


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the ``postgres`` account then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server for this module; yields its URL; stopped and removed afterwards.

    Its folder is outside pytest's (mode 0700, root's) so the server account can use it.
    """
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    root = Path(tempfile.mkdtemp(prefix="gridflow-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        for path in (root, sockets):
            shutil.chown(path, "postgres")
    port = _free_port()
    try:
        _run(
            _as_server_user(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ]
            )
        )
        opts = f"-p {port} -c listen_addresses=127.0.0.1 -k {sockets} -c fsync=off"
        _run(
            _as_server_user(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    opts,
                    "-l",
                    str(root / "server.log"),
                    "-w",
                    "start",
                ]
            )
        )
        _run(
            [
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "dagster",
            ]
        )
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/dagster"
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _gridflow(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gridflow_assets.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_partitions_fan_out_as_concurrent_runs_on_a_postgres_instance(postgres, tmp_path):
    home, landing, warehouse, reports = (
        tmp_path / n for n in ("home", "landing", "warehouse", "reports")
    )
    home.mkdir()
    (home / "dagster.yaml").write_text(
        f"telemetry:\n  enabled: false\nstorage:\n  postgres:\n    postgres_url: {postgres}\n"
    )
    generate_utility1(landing, [MONTH], meters=6, seed=3)
    generate_utility2(landing, [MONTH], meters=6, seed=3)
    env = {
        **os.environ,
        "PYTHONPATH": os.getcwd(),
        "DAGSTER_HOME": str(home),
        "GRIDFLOW_LANDING": str(landing),
        "GRIDFLOW_WAREHOUSE": str(warehouse),
        "GRIDFLOW_REPORTS": str(reports),
    }

    # Two processes, one partition each, sharing one instance: what two machines (or two
    # Kubernetes pods / Celery workers) running `gridflow run --utility U` would do.
    procs = [_gridflow(["run", "--utility", u], env) for u in UTILITIES]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert set(instance.get_dynamic_partitions("utility")) == set(UTILITIES)
        runs = instance.get_runs(dg.RunsFilter(job_name="partition_job"))
        assert sorted(r.tags["dagster/partition"] for r in runs) == sorted(
            f"{MONTH}|{u}" for u in UTILITIES
        )
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        history = check_history(instance)

    # Every check of both partitions is in the shared instance; on Postgres the
    # evaluation ids are global, not per run as on the default SQLite storage.
    per_partition = (
        history.drop_duplicates(["partition_key", "asset", "check_name"])
        .groupby("partition_key")
        .size()
    )
    assert set(per_partition.index) == {f"{MONTH}|{u}" for u in UTILITIES}
    assert per_partition.min() > 50
    assert history.evaluation_id.is_unique

    store = Warehouse(warehouse)
    for utility in UTILITIES:
        rejects = store.read("silver/rejects", utility, MONTH)
        kept = delivered_count(store.read("silver/intervals", utility, MONTH))
        assert (
            store.row_count("bronze/readings", utility, MONTH)
            == kept + (rejects.target_table == "intervals").sum()
            > 0
        )

    # The steward's snapshot reads the same check history from Postgres.
    dq = subprocess.run(
        [sys.executable, "-m", "gridflow_assets.cli", "dq", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert dq.returncode == 0, dq.stderr
    snap = json.loads(dq.stdout)
    assert {(p["utility"], p["month"]) for p in snap["partitions"]} == {
        (u, MONTH) for u in UTILITIES
    }
    assert len(snap["checks"]) == history.is_latest.sum()  # the latest of every check
