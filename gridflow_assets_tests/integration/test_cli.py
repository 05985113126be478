"""The sensor-free CLI path: `gridflow run` and `gridflow dq`, exit codes, JSON shape."""

import json
import subprocess
import sys

import pytest

from gridflow_assets.cli import main
from gridflow_assets.warehouse import Warehouse
from gridflow_assets_tests.crafted import land_utility1, land_utility2


@pytest.fixture
def env(folders, tmp_path, monkeypatch):
    landing, warehouse, reports = folders
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("GRIDFLOW_LANDING", str(landing))
    monkeypatch.setenv("GRIDFLOW_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("GRIDFLOW_REPORTS", str(reports))
    return folders


def test_run_then_dq_json_reconciles(env, capsys):
    land_utility1(env[0])
    land_utility2(env[0])
    assert main(["run", "--workers", "1"]) == 0  # (workers are the fault tests' subject)
    out = capsys.readouterr().out
    assert "[1/2] UTILITY1/2025-03" in out and "Row accounting" in out
    # `gridflow run` refreshes the DQ tables after the partitions, as the refresh sensor does
    assert "DQ tables: refreshed" in out
    assert Warehouse(env[1]).exists("dq/partition_scorecard")
    assert main(["dq", "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    assert {"generated_at", "partitions", "tables", "accounting", "checks"} <= set(snap)
    assert snap["partitions"] == [
        {"utility": "UTILITY1", "month": "2025-03"},
        {"utility": "UTILITY2", "month": "2025-03"},
    ]
    for row in snap["accounting"]:
        assert row["landed"] == (
            row["kept"] + row["duplicates_exact"] + row["duplicates_conflicting"] + row["rejected"]
        )
    iv = next(
        a
        for a in snap["accounting"]
        if a["table"] == "silver/intervals" and a["utility"] == "UTILITY1"
    )
    assert (iv["landed"], iv["kept"], iv["rejected"]) == (10, 5, 3)
    check = next(
        c
        for c in snap["checks"]
        if c["check"] == "orphans__service_point_id"
        and c["asset"] == "silver/intervals"
        and c["utility"] == "UTILITY1"
    )
    assert check == {
        **check,
        "passed": False,
        "severity": "WARN",
        "failed_count": 1,
        "month": "2025-03",
    }
    assert {s["status"] for s in snap["status"]} == {"ready with warnings"}


def test_run_one_partition_only(env, capsys):
    land_utility1(env[0])
    land_utility2(env[0])
    assert main(["run", "--utility", "UTILITY2", "--month", "2025-03"]) == 0
    out = capsys.readouterr().out
    assert "UTILITY2/2025-03" in out and "UTILITY1/2025-03 …" not in out


def test_bad_drop_exits_1_naming_drop_file_and_column(env, capsys):
    folder = land_utility1(env[0])
    (folder / "utility1_meters.csv").write_text("meter_id,meter_timestamp\nMTR-1,x")
    assert main(["run"]) == 1
    out = capsys.readouterr().out
    assert "drop UTILITY1/2025-03, file utility1_meters.csv, column meter_duration" in out


def test_unknown_utility_is_rejected_with_exit_1(env, capsys):
    land_utility1(env[0])
    (env[0] / "UTILITY1").rename(env[0] / "ACME")
    assert main(["run"]) == 1
    assert "no adapter registered for utility 'ACME'" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--month", "2025-13"],
        ["run", "--utility", "../x"],
        ["generate", "--utility", "NOPE"],
        ["dq", "--format", "xml"],
    ],
)
def test_bad_arguments_exit_2(env, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_run_for_a_utility_without_an_adapter_exits_2_and_says_so(env, capsys):
    assert main(["run", "--utility", "FOO"]) == 2
    err = capsys.readouterr().err
    assert "unknown utility 'FOO'" in err and "IESCO" in err


def test_output_cut_short_by_the_reader_is_not_an_error():
    """`gridflow dictionary | true`: the reader is gone before gridflow writes (as `| head`
    is after its lines); no traceback, exit 0."""
    run = subprocess.run(
        f"{sys.executable} -m gridflow_assets.cli dictionary | true; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "BrokenPipeError" not in run.stderr
