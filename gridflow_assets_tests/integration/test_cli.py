"""The sensor-free CLI path: `gridflow run` and `gridflow dq`, what they print, exit codes,
JSON shape, help texts, and the instance bound to the warehouse."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gridflow_assets.app.cli import main
from gridflow_assets.app.dev import commands
from gridflow_assets.store.settings import BINDING_FILE, bound_warehouse
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets_tests.crafted import land_utility1, land_utility2

ACCOUNTING = ("landed", "kept", "duplicates_exact", "duplicates_conflicting", "rejected")
FIGURES = (*ACCOUNTING, "estimated")  # the run summary's columns, in order
RUN_LINE = re.compile(
    r"(?P<partition>\S+/\d{4}-\d\d) ✓ [\d.]+s: (?P<landed>[\d,]+) readings landed, "
    r"(?P<kept>[\d,]+) kept · "
)


def run_summary_figures(out: str) -> dict[str, dict[str, int]]:
    """The readings' accounting `gridflow run` printed for each partition: the closing
    table's row, whose landed and kept the partition's line says too."""
    figures = {}
    for m in filter(None, map(RUN_LINE.search, out.splitlines())):
        p = m["partition"]
        row = next(x for x in out.splitlines() if x.startswith(f"{p} "))
        figures[p] = dict(
            zip(FIGURES, (int(x.replace(",", "")) for x in row.split()[2:8]), strict=True)
        )
        assert (figures[p]["landed"], figures[p]["kept"]) == (
            int(m["landed"].replace(",", "")),
            int(m["kept"].replace(",", "")),
        ), row
    return figures


def test_run_then_dq_json_reconciles(env, capsys):
    land_utility1(env[0])
    land_utility2(env[0])
    assert main(["run", "--workers", "1"]) == 0  # (workers are the fault tests' subject)
    out = capsys.readouterr().out
    assert "[1/2] UTILITY1/2025-03 ✓" in out and "[2/2] UTILITY2/2025-03 ✓" in out
    assert "2 partition(s): 0 ok · 2 with warnings · 0 blocked · 0 failed." in out
    row = next(line for line in out.splitlines() if line.startswith("UTILITY1/2025-03 "))
    # landed, kept, exact, conflicting, rejected, estimated: the readings' accounting only
    assert row.split()[1:8] == ["warnings", "10", "5", "1", "1", "3", "6"]
    summary = run_summary_figures(out)
    # `gridflow run` refreshes the DQ tables after the partitions, as the refresh sensor does
    assert "DQ tables refreshed" in out
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
    # the run summary's figures, line and table, are dq's accounting of silver/intervals;
    # estimated: its rows that are not kept (VEE's, not landed)
    rows = {(t["table"], t["utility"], t["month"]): t["rows"] for t in snap["tables"]}
    assert summary == {
        f"{a['utility']}/{a['month']}": {
            **{k: a[k] for k in ACCOUNTING},
            "estimated": rows[(a["table"], a["utility"], a["month"])] - a["kept"],
        }
        for a in snap["accounting"]
        if a["table"] == "silver/intervals"
    }
    assert set(summary) == {"UTILITY1/2025-03", "UTILITY2/2025-03"}
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
    assert "UTILITY2/2025-03" in out and "UTILITY1/2025-03" not in out


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
    out = capsys.readouterr().out
    assert "no adapter registered for utility 'ACME'" in out
    assert "add an adapter for the utility" in out
    # a true summary: the drop that failed, not "no partitions in the warehouse yet"
    assert "1 partition(s): 0 ok · 0 with warnings · 0 blocked · 1 failed." in out
    assert "No partitions" not in out


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


@pytest.mark.parametrize("command", [["run"], ["dq"], ["history", "gold/fact_bills"]])
def test_every_command_refuses_a_utility_typo_and_names_the_closest(env, capsys, command):
    """The same check everywhere: exit 2, the known ids, the closest id; a lowercase id is
    named in upper case. (``history`` knows the utilities the table holds: none yet.)"""
    month = ["--month", "2025-03"] if command[0] == "history" else []
    assert main([*command, "--utility", "UTILTY1", *month]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown utility 'UTILTY1'" in err
    if command[0] != "history":
        assert "(known: IESCO, UTILITY1, UTILITY2); did you mean 'UTILITY1'?" in err
    with pytest.raises(SystemExit) as exc:
        main([*command, "--utility", "iesco", *month])
    assert exc.value.code == 2
    assert "did you mean 'IESCO'?" in capsys.readouterr().err


def test_output_cut_short_by_the_reader_is_not_an_error():
    """`gridflow dictionary | true`: the reader is gone before gridflow writes (as `| head`
    is after its lines); no traceback, exit 0."""
    run = subprocess.run(
        f"{sys.executable} -m gridflow_assets.app.cli dictionary | true; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "BrokenPipeError" not in run.stderr


BAD_RUN_LINES = 15


def test_a_bad_drop_prints_a_short_block_and_its_stack_trace_goes_to_the_log(env):
    """One drop without a column among good ones: a few plain lines name the drop, file and
    column and say what to do; Dagster's log and the trace are in the log file. Piped, so
    no progress bar control characters either."""
    folder = land_utility1(env[0])
    (folder / "utility1_meters.csv").write_text("meter_id,meter_timestamp\nMTR-1,x")
    land_utility2(env[0])
    run = subprocess.run(
        [sys.executable, "-m", "gridflow_assets.app.cli", "run", "--workers", "1"],
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) <= BAD_RUN_LINES, run.stdout
    assert run.stderr == ""
    out = run.stdout
    assert "drop UTILITY1/2025-03, file utility1_meters.csv, column meter_duration" in out
    assert "re-deliver utility1_meters.csv with column `meter_duration`" in out
    assert "Traceback" not in out and "Stack Trace" not in out and "dagster - " not in out
    assert not re.search(r"[\x1b\r]", out)  # no cursor movement or colours in a pipe
    assert "2 partition(s): 0 ok · 1 with warnings · 0 blocked · 1 failed." in out
    log = Path(re.search(r"^log +(\S+)", out, re.MULTILINE).group(1))
    trace = log.read_text()
    assert "Stack Trace" in trace and "DropError: drop UTILITY1/2025-03" in trace
    assert log.parent.parent == Path(os.environ["DAGSTER_HOME"])


def _help(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_help_texts_are_plain_and_explain_every_option(capsys):
    top = _help(capsys, ["--help"])
    run = _help(capsys, ["run", "--help"])
    for text in (top, run):
        assert "``" not in text and ":func:" not in text  # no reStructuredText
    assert all(cmd in top for cmd in ("generate", "run", "dq", "dictionary"))
    options = re.findall(r"^  (--[a-z]+)", run, re.MULTILINE)
    assert options == ["--landing", "--warehouse", "--utility", "--month", "--workers", "--verbose"]
    for name in ("GRIDFLOW_LANDING", "GRIDFLOW_WAREHOUSE", "GRIDFLOW_REPORTS", "DAGSTER_HOME"):
        assert re.search(rf"^  {name} ", run, re.MULTILINE), name
    assert run.count("(default:") == 5  # every option but the --verbose switch
    assert "<landing>/<UTILITY>/<YYYY-MM>/" in run and "exit codes:" in run


def test_another_warehouse_gets_its_own_instance_and_a_mismatch_is_refused(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    empty = tmp_path / "landing"
    empty.mkdir()
    elsewhere = tmp_path / "elsewhere"
    assert main(["run", "--warehouse", str(elsewhere), "--landing", str(empty)]) == 0
    assert bound_warehouse(elsewhere / ".dagster_home") == str(elsewhere)
    assert not (tmp_path / ".dagster_home").exists()  # the project's instance is untouched
    assert "Nothing ran" in capsys.readouterr().out

    monkeypatch.setenv("DAGSTER_HOME", str(elsewhere / ".dagster_home"))
    third = tmp_path / "third"
    assert main(["run", "--warehouse", str(third), "--landing", str(empty)]) == 2
    err = capsys.readouterr().err
    assert f"records the runs of warehouse {elsewhere}, not {third}" in err
    # `gridflow dq` reads the warehouse's DQ tables only: no instance to mismatch
    assert not (third / ".dagster_home" / BINDING_FILE).exists()


def test_make_dev_serves_the_ui_on_loopback_with_the_supported_commands():
    daemon, web = commands("127.0.0.1", 3000)
    assert Path(daemon[0]).name == "dagster-daemon" and Path(daemon[0]).exists()
    assert Path(web[0]).name == "dagster-webserver" and Path(web[0]).exists()
    assert web[web.index("-h") + 1] == "127.0.0.1"
    makefile = (Path(__file__).parents[2] / "Makefile").read_text()
    dev = makefile.split("\ndev:", 1)[1].split("\n\n", 1)[0]
    assert "gridflow_assets.app.dev" in dev and "dagster dev" not in dev
    assert "DAGSTER_HOST ?= 127.0.0.1" in makefile
