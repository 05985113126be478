"""The commands of the Delta Lake warehouse: `gridflow migrate` (a warehouse of the old
pointer layout converted in place, and refused until it is), `gridflow history`,
`gridflow vacuum` and its daily schedule, `gridflow dq --as-of`."""

import json
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from gridflow_assets.app import cli
from gridflow_assets.app.cli import main
from gridflow_assets.defs.schedules import VACUUM_JOB, VACUUM_SCHEDULE
from gridflow_assets.registry import table
from gridflow_assets.registry.derive import to_arrow
from gridflow_assets.store.migrate import MARKER, POINTER, unconverted
from gridflow_assets.store.storage import StorageError
from gridflow_assets.store.warehouse import Warehouse

BILLS = "gold/fact_bills"
DATES = "gold/dim_date"


def frame(key: str, rows: int, seed: int = 0) -> pa.Table:
    """``rows`` rows of a registry table, every column filled, as the warehouse stores them."""
    values = {
        "string": lambda r: f"S{seed}-{r}",
        "int": lambda r: seed * 1000 + r,
        "float": lambda r: seed + r * 1.5,
        "bool": lambda r: r % 2 == 0,
        "timestamp": lambda r: datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=r + seed),
        "date": lambda r: date(2025, 3, 1) + timedelta(days=r + seed),
    }
    spec = table(key)
    cols = {c.name: [values[c.dtype](r) for r in range(rows)] for c in spec.columns}
    return to_arrow(pl.DataFrame(cols), spec)


def old_partition(
    folder: Path, files: list[pa.Table], buckets: list[int] | None = None, junk: int = 1
) -> None:
    """A partition as gridflow wrote it before Delta Lake: the current version's files under
    ``v=<id>/``, the pointer naming them, and ``junk`` other versions (superseded, or never
    published)."""
    version = uuid.uuid4().hex
    for _ in range(junk):
        other = folder / f"v={uuid.uuid4().hex}"
        other.mkdir(parents=True)
        pq.write_table(files[0].slice(0, 1), other / "part-0.parquet")
    (folder / f"v={version}").mkdir(parents=True)
    for i, part in enumerate(files):
        pq.write_table(part, folder / f"v={version}" / f"part-{i}.parquet")
    pointer = {
        "version": version,
        "files": [{"name": f"part-{i}.parquet", "rows": t.num_rows} for i, t in enumerate(files)],
        "rows": sum(t.num_rows for t in files),
        "written_at": "2026-11-30T10:00:00.000000Z",
        "superseded": [],
    }
    if buckets:
        pointer["buckets"] = buckets
    (folder / POINTER).write_text(json.dumps(pointer, indent=1))


@pytest.fixture
def old_warehouse(env) -> dict:
    """gold/fact_bills in two partitions (UTILITY1's in two meter buckets, one file each)
    and gold/dim_date, unpartitioned, each with superseded versions beside the current
    one. Returns the current rows of each partition."""
    wh = env[1]
    current = {
        (BILLS, "UTILITY1", "2025-03"): [frame(BILLS, 3, 1), frame(BILLS, 2, 2)],
        (BILLS, "UTILITY2", "2025-03"): [frame(BILLS, 4, 3)],
        (DATES, None, None): [frame(DATES, 5, 4)],
    }
    for (key, utility, month), files in current.items():
        folder = wh / key
        if utility:
            folder = folder / f"utility={utility}" / f"month={month}"
        buckets = [t.num_rows for t in files] if len(files) > 1 else None
        old_partition(folder, files, buckets, junk=2 if utility == "UTILITY2" else 1)
    return {k: pa.concat_tables(v) for k, v in current.items()}


def err_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def leftovers(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.name in (POINTER, MARKER) or p.name.startswith("v=")
    )


def delta_rows(store: Warehouse, key: str, utility: str | None, month: str | None) -> pl.DataFrame:
    scan = pl.scan_delta(store.table_uri(key))
    if utility:
        scan = scan.filter(pl.col("utility") == utility, pl.col("month") == month)
    return scan.collect()


# --- migrate ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [["run"], ["dq"], ["vacuum"], ["history", BILLS], ["history", DATES]]
)
def test_a_warehouse_of_the_old_layout_is_refused_naming_migrate(old_warehouse, capsys, argv):
    assert main(argv) == 2
    line = err_line(capsys)
    assert line.startswith(f"gridflow {argv[0]}: ") and "gridflow migrate" in line
    assert "old pointer layout" in line


def test_migrate_converts_in_place_and_is_idempotent(old_warehouse, env, capsys):
    wh = env[1]
    assert unconverted(Warehouse(wh)) == [DATES, BILLS]
    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert f"{BILLS}: 2 partition(s) converted (9 rows), 3 superseded version" in out
    assert f"{DATES}: 1 partition(s) converted (5 rows), 1 superseded version" in out
    assert "converted 2 table(s), 3 partition(s)" in out
    # pointers, marker and every version folder gone; the current files moved, not copied
    assert leftovers(wh) == []
    assert unconverted(Warehouse(wh)) == []
    store = Warehouse(wh)
    for (key, utility, month), want in old_warehouse.items():
        want = pl.from_arrow(want)
        assert pl.from_arrow(store.read_arrow(key, utility, month)).equals(want), key
        assert store.row_count(key, utility, month) == want.height
        # a Delta reader outside gridflow reads the same rows
        got = delta_rows(store, key, utility, month)
        cols = [c for c in want.columns if c in got.columns]
        assert got.select(cols).equals(want.select(cols)), key
    # a partition whose files were its meter buckets keeps them
    assert store.bucket_rows(BILLS, "UTILITY1", "2025-03") == [3, 2]
    assert [b.height for b in store.iter_buckets(BILLS, "UTILITY1", "2025-03")] == [3, 2]
    assert store.partitions(BILLS) == [("UTILITY1", "2025-03"), ("UTILITY2", "2025-03")]
    (commit,) = store.history(BILLS, "UTILITY2", "2025-03")
    assert (commit["rows_added"], commit["rows_removed"]) == (4, 0)

    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.startswith("nothing to do: ")
    # and the converted warehouse is accepted: a rerun replaces a migrated partition
    store.write(BILLS, frame(BILLS, 6, 9), "UTILITY2", "2025-03")
    assert Warehouse(wh).row_count(BILLS, "UTILITY2", "2025-03") == 6
    assert main(["history", BILLS, "--utility", "UTILITY2", "--month", "2025-03"]) == 0


def test_an_unpartitioned_table_keeps_its_month_column_for_delta_readers(old_warehouse, env):
    assert main(["migrate"]) == 0
    assert "month" in delta_rows(Warehouse(env[1]), DATES, None, None).columns


@pytest.mark.parametrize(
    ("landed", "says"),
    [
        # the commit failed: its files were moved already, and are found under their new names
        (False, f"{BILLS}: 1 partition(s) converted (4 rows), 2 superseded"),
        # the commit landed but its answer was lost: not committed twice
        (True, f"{BILLS}: 0 partition(s) converted (0 rows), 1 already in Delta, 2 superseded"),
    ],
)
def test_a_migration_cut_short_is_still_refused_and_finished_by_running_it_again(
    old_warehouse, env, capsys, monkeypatch, landed, says
):
    real = Warehouse.commit
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 3:  # dim_date, fact_bills UTILITY1, then UTILITY2
            if landed:
                real(self, *args, **kwargs)
            raise StorageError("commit refused (test)")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Warehouse, "commit", failing)
    assert main(["migrate"]) == 1
    line = err_line(capsys)
    assert "commit refused (test)" in line and "gridflow migrate" in line
    assert unconverted(Warehouse(env[1])) == [BILLS]  # the marker says: not finished
    assert main(["dq"]) == 2 and "gridflow migrate" in err_line(capsys)

    monkeypatch.setattr(Warehouse, "commit", real)
    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert says in out and DATES not in out
    assert leftovers(env[1]) == []
    store = Warehouse(env[1])
    for (key, utility, month), want in old_warehouse.items():
        assert pl.from_arrow(store.read_arrow(key, utility, month)).equals(pl.from_arrow(want))
    assert len(store.history(BILLS)) == 3  # create + one commit per partition, none twice


def test_migrate_finishes_a_table_that_got_delta_commits_before_it_was_converted(env, capsys):
    """A partition written in Delta (a run on a warehouse nobody converted) wins over its
    old pointer; the table's other old partitions are converted all the same."""
    wh = env[1]
    part = wh / BILLS / "utility={}" / "month=2025-03"
    old_partition(Path(str(part).format("UTILITY1")), [frame(BILLS, 3, 1)])
    old_partition(Path(str(part).format("UTILITY2")), [frame(BILLS, 4, 2)])
    newer = frame(BILLS, 6, 3)
    Warehouse(wh).write(BILLS, newer, "UTILITY2", "2025-03")
    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert f"{BILLS}: 1 partition(s) converted (3 rows), 1 already in Delta" in out
    assert leftovers(wh) == []
    store = Warehouse(wh)
    assert store.row_count(BILLS, "UTILITY1", "2025-03") == 3
    got = pl.from_arrow(store.read_arrow(BILLS, "UTILITY2", "2025-03"))
    assert got.equals(pl.from_arrow(newer))


def test_a_pointer_naming_a_missing_file_fails_with_one_line(old_warehouse, env, capsys):
    folder = env[1] / BILLS / "utility=UTILITY2" / "month=2025-03"
    version = json.loads((folder / POINTER).read_text())["version"]
    (folder / f"v={version}" / "part-0.parquet").unlink()
    assert main(["migrate"]) == 1
    line = err_line(capsys)
    assert "part-0.parquet: named by its partition's pointer, but gone" in line


# --- history ---------------------------------------------------------------------------


@pytest.fixture
def written_twice(env) -> Warehouse:
    store = Warehouse(env[1])
    store.commit_info = {"run_id": "run-1", "drop_fingerprint": "fp-1"}
    store.write(BILLS, frame(BILLS, 3, 1), "UTILITY1", "2025-03")
    store.commit_info = {"run_id": "run-2", "drop_fingerprint": "fp-2"}
    store.write(BILLS, frame(BILLS, 5, 2), "UTILITY1", "2025-03")
    store.write(BILLS, frame(BILLS, 2, 3), "UTILITY2", "2025-03")
    return store


def test_history_lists_versions_newest_first_as_text_and_json(written_twice, capsys):
    assert main(["history", BILLS]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{BILLS}: 4 version(s), newest first")
    assert lines[1].split() == [
        "version", "time", "(UTC)", "operation", "partition", "run", "id", "drop", "rows",
        "added", "rows", "removed",
    ]  # fmt: skip
    assert lines[2].split()[0] == "3" and lines[2].split()[3:] == [
        "UTILITY2/2025-03", "run-2", "fp-2", "2", "0",
    ]  # fmt: skip
    assert lines[3].split()[3:] == ["UTILITY1/2025-03", "run-2", "fp-2", "5", "3"]
    assert lines[4].split()[3:] == ["UTILITY1/2025-03", "run-1", "fp-1", "3", "0"]
    assert lines[5].split()[0] == "0" and "CREATE" in lines[5]

    assert main(["history", BILLS, "--utility", "UTILITY1", "--month", "2025-03", "--format",
                 "json"]) == 0  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert doc["table"] == BILLS and doc["uri"] == written_twice.table_uri(BILLS)
    versions = doc["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert [(v["run_id"], v["rows_added"], v["rows_removed"]) for v in versions] == [
        ("run-2", 5, 3),
        ("run-1", 3, 0),
    ]
    assert set(versions[0]) == {
        "version", "time", "operation", "partition", "run_id", "drop_fingerprint",
        "gridflow_version", "rows_added", "rows_removed",
    }  # fmt: skip
    when = datetime.fromisoformat(versions[0]["time"])
    assert versions[0]["time"].endswith("Z") and abs(datetime.now(UTC) - when) < timedelta(
        minutes=5
    )


def test_history_of_a_table_never_written(env, capsys):
    assert main(["history", DATES]) == 0
    assert capsys.readouterr().out.startswith(f"{DATES}: no versions in ")
    assert main(["history", DATES, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["versions"] == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["history", "gold/nope"], "unknown table 'gold/nope' (known: bronze/service_points"),
        (["history", BILLS, "--utility", "UTILITY1"], "--utility and --month go together"),
        (["history", DATES, "--utility", "UTILITY1", "--month", "2025-03"], "not partitioned"),
    ],
)
def test_history_bad_arguments_exit_2_with_one_line(env, capsys, argv, says):
    assert main(argv) == 2
    assert says in err_line(capsys)


@pytest.mark.parametrize(
    "argv",
    [["history", BILLS, "--utility", "../x", "--month", "2025-03"], ["history", BILLS,
     "--month", "2025-13", "--utility", "UTILITY1"], ["history", BILLS, "--format", "xml"]],
)  # fmt: skip
def test_history_names_from_outside_are_validated(env, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_history_does_not_import_dagster(written_twice):
    code = (
        "import sys\n"
        "from gridflow_assets.app.cli import main\n"
        f"rc = main(['history', {BILLS!r}, '--warehouse', {written_twice.location!r}])\n"
        "heavy = sorted(m for m in ('dagster', 'gridflow_assets.store.warehouse') if m in sys.modules)\n"
        "print('IMPORTED', heavy)\n"
        "sys.exit(rc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "IMPORTED []" in run.stdout and "run-2" in run.stdout


# --- vacuum ----------------------------------------------------------------------------


def test_vacuum_dry_run_lists_then_vacuum_deletes(written_twice, env, capsys, monkeypatch):
    # the option beats the environment: at 30 days nothing is old enough
    monkeypatch.setenv("GRIDFLOW_RETENTION_DAYS", "0")
    assert main(["vacuum", "--retention-days", "30", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("would delete 0 file(s)")
    with pytest.raises(SystemExit) as exc:
        main(["vacuum", "--retention-days", "-1"])
    assert exc.value.code == 2 and "a number >= 0" in capsys.readouterr().err
    first = [f for f in (env[1] / BILLS / "utility=UTILITY1" / "month=2025-03").iterdir()]
    current = set(Warehouse(env[1]).files(BILLS, "UTILITY1", "2025-03"))
    (gone,) = [str(f) for f in first if str(f) not in current]
    assert main(["vacuum", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:-1] == [gone]
    assert out[-1].startswith("would delete 1 file(s) from ") and "retention 0 days" in out[-1]
    assert Path(gone).exists()
    assert main(["vacuum"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("deleted 1 file(s) from ") and "retention 0 days" in out
    assert not Path(gone).exists()
    assert Warehouse(env[1]).row_count(BILLS, "UTILITY1", "2025-03") == 5
    monkeypatch.setenv("GRIDFLOW_RETENTION_DAYS", "soon")
    assert main(["vacuum"]) == 2 and "GRIDFLOW_RETENTION_DAYS" in err_line(capsys)


def test_the_vacuum_schedule_runs_daily_and_its_job_vacuums_the_warehouse(
    defs, folders, monkeypatch
):
    schedule = defs.resolve_schedule_def(VACUUM_SCHEDULE)
    assert schedule.cron_schedule == "30 3 * * *" and schedule.execution_timezone == "UTC"
    assert schedule.job_name == VACUUM_JOB
    tick = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 12, 8, 3, 30))
    (request,) = schedule.evaluate_tick(tick).run_requests
    assert request.run_key == "vacuum:2026-12-08"

    monkeypatch.setenv("GRIDFLOW_RETENTION_DAYS", "0")
    store = Warehouse(folders[1])
    store.write(DATES, frame(DATES, 3, 1))
    store.write(DATES, frame(DATES, 4, 2))
    result = defs.resolve_job_def(VACUUM_JOB).execute_in_process()
    assert result.success
    (mat,) = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT
    ]  # the op's one output, with what it did
    meta = mat.event_specific_data.metadata
    assert meta["files_deleted"].value == 1 and meta["retention_days"].value == 0.0
    assert len(list((folders[1] / DATES).glob("*.parquet"))) == 1

    old_partition(folders[1] / "gold" / "dim_time", [frame("gold/dim_time", 2)])
    result = defs.resolve_job_def(VACUUM_JOB).execute_in_process(raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "gridflow migrate" in str(failure.event_specific_data.error)


# --- dq --as-of ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("2026-12-07T10:00:00Z", datetime(2026, 12, 7, 10, tzinfo=UTC)),
        ("2026-12-07 10:00", datetime(2026, 12, 7, 10, tzinfo=UTC)),
        ("2026-12-07", datetime(2026, 12, 7, tzinfo=UTC)),
        ("2026-12-07T12:00:00+02:00", datetime(2026, 12, 7, 10, tzinfo=UTC)),
    ],
)
def test_as_of_takes_iso_8601_in_utc(text, when):
    assert cli._instant(text) == when


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "07/12/2026", ""])
def test_dq_as_of_a_bad_value_exits_2_with_one_line(env, capsys, text):
    assert main(["dq", "--as-of", text]) == 2
    line = err_line(capsys)
    assert line.startswith("gridflow dq: --as-of") and "ISO 8601" in line
    assert capsys.readouterr().out == ""


def test_dq_as_of_reads_the_dq_tables_as_of_that_instant(written_twice, env, capsys, monkeypatch):
    """The snapshot is the DQ tables (scorecards, check results, deliveries, sign-offs) as
    they stood then, and "now" for the partitions' states is that instant."""
    seen = {}

    def stored(store, utility=None, month=None, now=None):
        seen.update(store=store, now=now)
        return {"partitions": []}

    monkeypatch.setattr("gridflow_assets.app.steward.stored_snapshot", stored)
    assert main(["dq", "--as-of", "2026-12-07", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2026-12-07T00:00:00Z"
    assert seen["store"].as_of == datetime(2026, 12, 7, tzinfo=UTC)
    assert seen["now"] == datetime(2026, 12, 7, tzinfo=UTC)


def test_dq_as_of_an_instant_before_the_warehouse_existed(written_twice, env, capsys):
    assert main(["dq", "--as-of", "2020-01-01", "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    assert snap["as_of"] == "2020-01-01T00:00:00Z" and snap["partitions"] == []


def test_migrate_a_warehouse_in_object_storage(old_warehouse, env, s3, capsys):
    bucket = s3.bucket()
    url = f"s3://{bucket}/wh"
    fs = Warehouse(url).loc.fs
    pafs.copy_files(str(env[1]), f"{bucket}/wh", destination_filesystem=fs)
    assert main(["dq", "--warehouse", url]) == 2 and "gridflow migrate" in err_line(capsys)
    assert main(["migrate", "--warehouse", url]) == 0
    assert "converted 2 table(s), 3 partition(s)" in capsys.readouterr().out
    keys = s3.keys(bucket)
    assert not [k for k in keys if POINTER in k or MARKER in k or "/v=" in k], keys
    store = Warehouse(url)
    assert unconverted(store) == []
    for (key, utility, month), want in old_warehouse.items():
        assert pl.from_arrow(store.read_arrow(key, utility, month)).equals(pl.from_arrow(want))
    assert store.bucket_rows(BILLS, "UTILITY1", "2025-03") == [3, 2]
    assert main(["migrate", "--warehouse", url]) == 0
    assert capsys.readouterr().out.startswith("nothing to do: ")


def test_the_drop_sensor_waits_for_an_unconverted_warehouse(old_warehouse, env):
    """The daemon's path refuses too: no run writes Delta beside pointer partitions."""
    from gridflow_assets.defs.definitions import build_defs
    from gridflow_assets.defs.sensors import DROP_SENSOR

    landing, warehouse, reports = env
    defs = build_defs(str(landing), str(warehouse), str(reports))
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, definitions=defs, resources={"paths": defs.resources["paths"]}
        )
        data = defs.get_sensor_def(DROP_SENSOR).evaluate_tick(context)
        assert not data.run_requests and "gridflow migrate" in data.skip_message
        assert main(["migrate"]) == 0
        data = defs.get_sensor_def(DROP_SENSOR).evaluate_tick(context)
        assert "gridflow migrate" not in (data.skip_message or "")
