"""Deployment in a box: the production shape on one machine, on 127.0.0.1 only.

A real PostgreSQL server (``initdb`` + ``pg_ctl`` in a temporary folder, a password on
TCP), the instance of ``deploy/dagster.yaml`` (PostgreSQL storage from ``DAGSTER_PG_*``,
``QueuedRunCoordinator``, one run per utility at a time), the code server and
``dagster-daemon run`` over ``deploy/workspace.yaml``, each in its own process group. Drops
land before the daemon starts; its drop sensor requests one run per drop, the queue
launches them within the limits, the code server starts each as its own process (what
``K8sRunLauncher`` does with a pod per run). Then: every run succeeded and was queued
first, no two runs of one utility overlapped, every partition is materialized, and the
check history and the row accounting (``gridflow dq --format json``, which reads the
warehouse) come back complete and reconciling.

The warehouse is a bucket of the local S3 server (moto on 127.0.0.1, the ``warehouse``
fixture): the code server, the daemon, every run process and ``gridflow dq`` find it
through ``GRIDFLOW_WAREHOUSE`` and the standard ``AWS_*`` variables, as pods would. Skipped,
saying why, where no PostgreSQL server binaries are installed.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from gridflow_assets.dq.history import check_history
from gridflow_assets.dq.refresh import build_snapshot
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.generate.ny import generate_utility1
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets_tests.servers import Service, free_port

pytest.importorskip("dagster_postgres", reason="dagster-postgres is not installed")

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
# Two IESCO months (they must queue behind each other) and one UTILITY1 month.
DROPS = {("IESCO", "2025-06"), ("IESCO", "2025-07"), ("UTILITY1", "2025-03")}
PARTITION_TAG = "dagster/partition"
UTILITY_TAG = "dagster/partition/utility"  # what deploy/dagster.yaml limits runs by
TABLES = ("bronze/readings", "silver/intervals", "gold/fact_readings")
RUNS_TIMEOUT_S = 420  # daemon start and three runs on a loaded 2-core machine, with margin
PG_USER, PG_DB = "gridflow", "dagster"


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the ``postgres`` account then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout}{done.stderr}"


def _add_login(sockets: Path, port: int, password: str) -> None:
    """The role's password and the database, over the server's local socket (trusted).

    md5 rather than scram-sha-256 on TCP: dagster-postgres opens a connection for every
    stored event (~200 a partition run), and a SCRAM handshake measured ~12 ms more per
    connection on this machine.
    """
    conn = psycopg2.connect(host=str(sockets), port=port, user=PG_USER, dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET password_encryption = 'md5'")
            cur.execute(f"ALTER ROLE {PG_USER} PASSWORD %s", (password,))
            cur.execute(f"CREATE DATABASE {PG_DB}")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server for this module on 127.0.0.1 (a password on TCP); yields the
    ``DAGSTER_PG_*`` variables ``deploy/dagster.yaml`` reads; stopped and removed after.

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
    port = free_port()
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        _run(
            _as_server_user(
                [str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, "--no-sync"]
                + ["--auth-local=trust", "--auth-host=md5"]
            )
        )
        opts = f"-p {port} -c listen_addresses=127.0.0.1 -k {sockets} -c fsync=off"
        _run(_as_server_user([*pg_ctl, "-o", opts, "-l", str(root / "server.log"), "-w", "start"]))
        password = os.urandom(12).hex()
        _add_login(sockets, port, password)
        yield {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(port),
            "DAGSTER_PG_DB": PG_DB,
            "DAGSTER_PG_USERNAME": PG_USER,
            "DAGSTER_PG_PASSWORD": password,
        }
    finally:
        subprocess.run(
            _as_server_user([*pg_ctl, "-m", "fast", "-w", "stop"]), check=False, capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def warehouse(s3) -> dict[str, str]:
    """Where the deployment's warehouse is, as the environment every process gets: a bucket
    of the local S3 server (moto, on 127.0.0.1), its endpoint and credentials in the
    standard ``AWS_*`` variables, and the one pseudonymisation key every writer of a URL
    warehouse must share: the same shape as production."""
    return {
        "GRIDFLOW_WAREHOUSE": f"s3://{s3.bucket()}/warehouse",
        "GRIDFLOW_PII_SECRET": "deployment-in-a-box-test-key",
        **s3.env(),
    }


def _partition_runs(instance: dg.DagsterInstance) -> list[dg.RunRecord]:
    return list(instance.get_run_records(dg.RunsFilter(job_name="partition_job")))


def _wait_for_runs(instance: dg.DagsterInstance, services: list[Service]) -> list[dg.RunRecord]:
    """The partition runs, once one per drop exists and all have ended."""
    deadline = time.monotonic() + RUNS_TIMEOUT_S
    while time.monotonic() < deadline:
        for service in services:
            service.assert_alive()
        records = _partition_runs(instance)
        if len(records) == len(DROPS) and all(r.dagster_run.is_finished for r in records):
            return records
        time.sleep(1)
    seen = {r.dagster_run.tags.get(PARTITION_TAG): r.dagster_run.status.value for r in records}
    logs = "\n".join(s.tail() for s in services)
    pytest.fail(
        f"the {len(DROPS)} partition runs did not all finish within {RUNS_TIMEOUT_S} s "
        f"(runs so far: {seen or 'none'})\n{logs}"
    )


def _overlaps(records: list[dg.RunRecord]) -> list[tuple[str, str]]:
    """Pairs of runs of the same utility whose start…end intervals overlap."""
    found = []
    by_utility: dict[str, list[dg.RunRecord]] = {}
    for r in records:
        by_utility.setdefault(r.dagster_run.tags[UTILITY_TAG], []).append(r)
    for runs in by_utility.values():
        runs.sort(key=lambda r: r.start_time)
        for a, b in itertools.pairwise(runs):
            if b.start_time < a.end_time:
                found.append((a.dagster_run.tags[PARTITION_TAG], b.dagster_run.tags[PARTITION_TAG]))
    return found


def _services(env: dict, logs: Path) -> tuple[Service, Service]:
    """The code server (serving once it listens), then the daemon over the workspace."""
    bin_dir = Path(sys.executable).parent
    port = env["GRIDFLOW_CODE_SERVER_PORT"]
    code_server = Service(
        "code server",
        [str(bin_dir / "dagster"), "api", "grpc", "-m", "gridflow_assets.defs.definitions"]
        + ["--location-name", "gridflow", "-h", "127.0.0.1", "-p", port],
        env,
        logs / "code_server.log",
    )
    try:
        code_server.wait_for_port(int(port), timeout=180)
        daemon = Service(
            "daemon",
            [str(bin_dir / "dagster-daemon"), "run", "-w", str(DEPLOY / "workspace.yaml")],
            env,
            logs / "daemon.log",
        )
    except BaseException:
        code_server.stop()
        raise
    return code_server, daemon


def test_daemon_launches_queued_partition_runs_within_the_utility_limit(
    postgres, warehouse, tmp_path, monkeypatch, capsys
):
    home, landing, reports = (tmp_path / n for n in ("home", "landing", "reports"))
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    generate_iesco(landing, ["2025-06", "2025-07"], meters=20, seed=3)
    generate_utility1(landing, ["2025-03"], meters=6, seed=3)
    deployment = {
        **postgres,
        "DAGSTER_HOME": str(home),
        **warehouse,
        "GRIDFLOW_LANDING": str(landing),
        "GRIDFLOW_REPORTS": str(reports),
        "GRIDFLOW_MAX_CONCURRENT_RUNS": "2",
        "GRIDFLOW_CODE_SERVER_PORT": str(free_port()),
    }
    for name, value in deployment.items():  # this process opens the same instance
        monkeypatch.setenv(name, value)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    expected_keys = {f"{month}|{utility}" for utility, month in DROPS}

    with dg.DagsterInstance.from_config(str(home)) as instance:
        # Opened first, so the schema is created once, before the services would race to.
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        code_server, daemon = _services(env, tmp_path)
        with code_server, daemon:
            records = _wait_for_runs(instance, [code_server, daemon])
            daemon.stop()  # nothing new is launched while the results are read
        runs = [r.dagster_run for r in records]
        assert {(r.tags[UTILITY_TAG], r.tags["dagster/partition/month"]) for r in runs} == DROPS
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}, [
            (r.tags[PARTITION_TAG], r.status) for r in runs
        ]
        # Requested by the drop sensor (its tags), and queued before they were launched.
        assert all("gridflow/fingerprint" in r.tags for r in runs)
        for r in runs:
            enqueued = instance.get_records_for_run(
                r.run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED
            ).records
            assert enqueued, f"run {r.tags[PARTITION_TAG]} was launched without being queued"
        assert _overlaps(records) == [], "runs of one utility overlapped"
        for key in TABLES:
            materialized = instance.get_materialized_partitions(dg.AssetKey(key.split("/")))
            assert materialized == expected_keys, key
        history = check_history(instance)

    per_partition = (
        history.drop_duplicates(["partition_key", "asset", "check_name"])
        .groupby("partition_key")
        .size()
    )
    assert set(per_partition.index) == expected_keys
    assert per_partition.min() > 50
    assert history.evaluation_id.is_unique  # on PostgreSQL, ids are global

    # The steward's snapshot (what the DQ refresh stores): check history from PostgreSQL,
    # row accounting from the warehouse, every table of every partition reconciling.
    snap = build_snapshot(Warehouse(os.environ["GRIDFLOW_WAREHOUSE"]), history)
    assert {(p["utility"], p["month"]) for p in snap["partitions"]} == DROPS
    landed = {
        (a["utility"], a["month"]): a["landed"]
        for a in snap["accounting"]
        if a["table"] == "silver/intervals"
    }
    assert set(landed) == DROPS and min(landed.values()) > 0
    for row in snap["accounting"]:
        assert row["landed"] == (
            row["kept"] + row["duplicates_exact"] + row["duplicates_conflicting"] + row["rejected"]
        ), row
    assert len(snap["checks"]) == history.is_latest.sum()  # the latest of every check
