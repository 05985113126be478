"""What `gridflow` tells a person: the failure of a partition from its error chain and the
advice for it, the closing summary, progress bars only on a terminal, the warnings kept off
the console, and which Dagster instance describes which warehouse."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import pytest
from rich.console import Console

from gridflow_assets.app.cli import main
from gridflow_assets.app.outcome import PartitionOutcome, RunOutcome, summary_line
from gridflow_assets.app.report import HEAD, failure_block, partition_line, summary
from gridflow_assets.app.terminal import Bars, quiet_library_warnings
from gridflow_assets.defs.failures import (
    BLOCKED,
    ERROR,
    REJECTED,
    failure_of,
    parse_drop_error,
)
from gridflow_assets.generate import GENERATORS
from gridflow_assets.silver.adapters.utility1 import SOURCES as U1
from gridflow_assets.store.landing import DropError, find_drop, read_source
from gridflow_assets.store.settings import (
    BINDING_FILE,
    BindingError,
    bound_warehouse,
    check_binding,
    instance_home,
)
from gridflow_assets_tests.crafted import U1_METERS, land_utility1

CONTROL = re.compile(r"[\x1b\r]")  # cursor movement, colour, carriage returns


def _drop_failure(folders, text: str | bytes):
    """The failure `gridflow run` reports for utility1_meters.csv delivered as ``text``."""
    folder = land_utility1(folders[0])
    data = text.encode() if isinstance(text, str) else text
    (folder / "utility1_meters.csv").write_bytes(data)
    drop = find_drop(folders[0], "UTILITY1", "2025-03")
    with pytest.raises(DropError) as exc:
        read_source(drop, U1["meters"])
    # as Dagster stores it: the class path, then the message
    chain = [("DagsterExecutionStepExecutionError", "Error occurred while executing op")]
    chain.append(("DropError", f"gridflow_assets.store.landing.DropError: {exc.value}\n"))
    return failure_of([("bronze_tables", chain)], "UTILITY1", "2025-03")


def test_missing_column_names_file_column_and_what_to_redeliver(folders):
    f = _drop_failure(folders, "meter_id,meter_timestamp\nMTR-1,x")
    assert (f.kind, f.step, f.file, f.column) == (
        REJECTED,
        "bronze_tables",
        "utility1_meters.csv",
        "meter_duration",
    )
    assert f.reason.startswith("required column missing")
    assert f.action == "re-deliver utility1_meters.csv with column `meter_duration`"


def test_unexpected_column_and_bad_bytes_get_their_own_advice(folders):
    extra = _drop_failure(folders, U1_METERS.replace("meter_category", "meter_category,x", 1))
    assert extra.column == "x" and "without column `x`" in extra.action
    utf8 = _drop_failure(folders, U1_METERS.encode().replace(b"meter_id", b"meter_\xffid", 1))
    assert utf8.row == 0 and utf8.reason.startswith("header is not UTF-8")
    assert utf8.action == "re-deliver utility1_meters.csv encoded as UTF-8"
    assert utf8.where == "file utility1_meters.csv, header row"


def test_an_error_that_is_no_drop_error_keeps_its_class_and_first_line():
    f = failure_of(
        [("silver_tables", [("Wrapper", "w"), ("KeyError", "'sp_id'\nmore detail")])],
        "UTILITY1",
        "2025-03",
    )
    assert (f.kind, f.reason, f.step) == (ERROR, "KeyError: 'sp_id'", "silver_tables")
    assert parse_drop_error("KeyError: 'sp_id'") is None


def test_blocking_checks_are_named_and_point_at_gridflow_dq():
    message = (
        "2 blocking asset checks failed with ERROR severity:\n"
        "silver/intervals: conservation__accounting,schema__intervals"
    )
    f = failure_of(
        [("silver_tables", [("DagsterAssetCheckFailedError", message)])], "IESCO", "2025-06"
    )
    assert f.kind == BLOCKED
    assert f.reason == (
        "blocking check failed: silver/intervals conservation__accounting; "
        "silver/intervals schema__intervals"
    )
    assert "`gridflow dq --utility IESCO --month 2025-06`" in f.action


def _outcome(**kw) -> PartitionOutcome:
    base = {"utility": "UTILITY2", "month": "2025-03", "ok": True, "seconds": 2.0, "run_id": "r1"}
    return PartitionOutcome(**{**base, **kw})


def test_partition_status_from_the_run_and_its_checks():
    blocked = failure_of([("s", [("DagsterAssetCheckFailedError", "x:\na: c")])], "U", "M")
    assert _outcome().status == "ok"
    assert _outcome(warn_failed=3).status == "warnings"
    assert _outcome(ok=False, failure=blocked, error_failed=1).status == "blocked"
    assert _outcome(ok=False).status == "failed"


def test_failure_block_is_short_and_names_drop_file_column_and_the_run(folders):
    f = _drop_failure(folders, "meter_id,meter_timestamp\nMTR-1,x")
    part = _outcome(utility="UTILITY1", ok=False, failure=f, run_id="abc")
    block = failure_block(part, ui="http://127.0.0.1:3000")
    assert len(block) <= 5
    text = "\n".join(block)
    assert "drop UTILITY1/2025-03, file utility1_meters.csv, column meter_duration" in text
    assert "`gridflow run --utility UTILITY1 --month 2025-03`" in text
    assert "http://127.0.0.1:3000/runs/abc" in text
    assert failure_block(_outcome()) == [failure_block(_outcome())[0]]  # ok: one line


def test_summary_counts_every_status_and_says_where_to_look(tmp_path):
    rejected = failure_of([], "ACME", "2025-03")
    run = RunOutcome(
        partitions=[
            _outcome(landed=10, kept=5, duplicates_exact=1, duplicates_conflicting=1, rejected=3),
            _outcome(utility="IESCO", warn_failed=2),
            _outcome(utility="UTILITY1", ok=False, failure=rejected, run_id=None),
        ],
        refreshed=True,
        log=tmp_path / "run.log",
    )
    lines = summary(run, tmp_path / "reports")
    text = "\n".join(lines)
    assert "3 partition(s): 1 ok · 1 with warnings · 0 blocked · 1 failed." in text
    assert "DQ tables refreshed" in text
    assert str(tmp_path / "reports" / "dq_dashboard.html") in text
    assert f"log     {tmp_path / 'run.log'}" in text
    row = next(line for line in text.splitlines() if line.startswith("UTILITY2/2025-03"))
    # landed, kept, exact, conflicting, rejected, estimated, WARN
    assert row.split()[1:] == ["ok", "10", "5", "1", "1", "3", "0", "0"]
    row = next(line for line in text.splitlines() if line.startswith("UTILITY1/2025-03"))
    assert row.split()[1:3] == ["failed", "—"]  # no figures for a partition that did not run
    run.refreshed, run.refresh_failure = False, "[check_results] boom"
    assert "DQ tables NOT refreshed ([check_results] boom)" in "\n".join(summary(run, "r"))
    assert summary(RunOutcome(), "r") == ["Nothing ran: no complete drop matched."]


def _acc(table: str, landed: int, kept: int, exact=0, conflicting=0, rejected=0) -> dict:
    """A row of ``dq.profile.accounting``."""
    gap = landed - (kept + exact + conflicting + rejected)
    return {
        "table": table,
        "landed": landed,
        "kept": kept,
        "duplicates_exact": exact,
        "duplicates_conflicting": conflicting,
        "rejected": rejected,
        "unaccounted": gap,
        "reconciles": gap == 0,
    }


def test_partition_line_is_short_and_the_readings_only():
    """The line: landed and kept readings (the closing table has the whole accounting of
    docs/accounting.md); another table's set-aside rows never enter the readings' figures."""
    part = _outcome(
        seconds=2.0,
        landed=31_936,
        kept=4_471,
        duplicates_exact=1_141,
        duplicates_conflicting=26_324,
        estimated=9,
        warn_failed=8,
        other_tables=[
            _acc("silver/service_points", 178, 50, conflicting=128),
            _acc("silver/meters", 72, 72),
        ],
    )
    part.message = summary_line(part)
    assert part.unaccounted == 0
    assert partition_line(part, "[2/2]") == (
        "[2/2] UTILITY2/2025-03 ✓ 2.0s: 31,936 readings landed, 4,471 kept · 15,968 "
        "readings/s · 8 WARN check(s) failing"
    )


def test_a_partition_that_does_not_reconcile_says_so():
    part = _outcome(landed=10, kept=5, duplicates_exact=1, rejected=3, estimated=2)
    assert part.unaccounted == 1
    assert summary_line(part).startswith(
        "10 readings landed, 5 kept, does not reconcile (off by +1) · "
    )
    part.other_tables = [_acc("silver/bills", 4, 2, rejected=1)]
    assert "; silver/bills does not reconcile · " in summary_line(part)


def test_summary_table_fits_100_columns_with_millions_of_readings(tmp_path):
    big = _outcome(
        utility="UTILITY1",
        landed=9_999_999,
        kept=9_876_543,
        duplicates_exact=100_000,
        duplicates_conflicting=23_000,
        rejected=456,
        estimated=1_234_567,
        warn_failed=12,
    )
    lines = summary(RunOutcome(partitions=[big, _outcome(warn_failed=3)]), tmp_path)
    table = "\n".join(lines).split("\n2 partition(s):")[0].splitlines()
    assert table[0].startswith("bronze/readings → silver/intervals: landed = kept + exact")
    assert max(len(x) for x in table) <= 100, "\n".join(table)
    assert table[1].split() == HEAD


@pytest.mark.parametrize("terminal", [True, False])
def test_bars_are_drawn_on_a_terminal_only(terminal):
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=100, highlight=False)
    with Bars(console) as bars:
        bars.add("UTILITY1/2025-03", 4, start=False)
        bars.begin("UTILITY1/2025-03")
        bars.advance("UTILITY1/2025-03", readings=1000)
        bars.progress.refresh()
        bars.done("UTILITY1/2025-03")
        bars.line("✓ UTILITY1/2025-03 done")
    text = out.getvalue()
    assert "✓ UTILITY1/2025-03 done" in text
    assert bool(CONTROL.search(text)) is terminal
    assert ("readings/s" in text) is terminal


def test_library_deprecations_are_quiet_and_everything_else_still_shows():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_library_warnings()
        for module in ("pandas.core.frame", "pyarrow.lib", "gridflow_assets.checks.rules"):
            warnings.warn_explicit("old", DeprecationWarning, "x.py", 1, module=module)
        warnings.warn_explicit("later", FutureWarning, "x.py", 1, module="polars.frame")
        warnings.warn_explicit("odd", UserWarning, "x.py", 1, module="pandas.io")
    assert [(w.category, str(w.message)) for w in seen] == [
        (DeprecationWarning, "old"),  # ours: someone can act on it
        (UserWarning, "odd"),
    ]


def test_instance_home_follows_the_warehouse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = tmp_path / ".dagster_home"
    assert instance_home(str(tmp_path / "data/warehouse"), env={}) == (project, False)
    assert instance_home("/srv/wh", env={}) == (Path("/srv/wh/.dagster_home"), False)
    assert instance_home("s3://bucket/wh", env={}) == (project, False)
    assert instance_home("/srv/wh", env={"DAGSTER_HOME": "/x/home"}) == (Path("/x/home"), True)


def test_an_instance_records_its_warehouse_and_refuses_another(tmp_path):
    home = tmp_path / "home"
    check_binding(home, str(tmp_path / "a"), explicit=True, record=False)
    assert not (home / BINDING_FILE).exists()  # reading binds nothing
    check_binding(home, str(tmp_path / "a"), explicit=True, record=True)
    assert bound_warehouse(home) == str(tmp_path / "a")
    check_binding(home, str(tmp_path / "a") + "/", explicit=True, record=True)  # same folder
    with pytest.raises(BindingError) as exc:
        check_binding(home, str(tmp_path / "b"), explicit=True, record=True)
    message = str(exc.value)
    assert f"DAGSTER_HOME={home}" in message
    assert str(tmp_path / "a") in message and str(tmp_path / "b") in message
    assert bound_warehouse(home) == str(tmp_path / "a")  # unchanged


def test_generate_shows_each_drop_and_writes_what_one_call_over_the_months_writes(tmp_path, capsys):
    """`generate` makes one month at a time (a bar each); the files are the generators'
    own output over all months, byte for byte."""
    months = ["2025-06", "2025-07"]
    for gen in GENERATORS.values():
        gen(tmp_path / "whole", months, meters=4, seed=3)
    argv = ["generate", "--utility", "all", "--meters", "4", "--seed", "3"]
    argv += ["--start", months[0], "--end", months[1], "--landing", str(tmp_path / "cli")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    whole = sorted(p.relative_to(tmp_path / "whole") for p in (tmp_path / "whole").rglob("*"))
    cli = sorted(p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*"))
    assert whole == cli
    for rel in whole:
        if (tmp_path / "whole" / rel).is_file():
            assert (tmp_path / "whole" / rel).read_bytes() == (tmp_path / "cli" / rel).read_bytes()
    lines = out.splitlines()
    assert len(lines) == len(GENERATORS) * len(months)
    assert all(
        re.match(r"^[A-Z0-9_]+/2025-0[67]: [\d,]+ readings in .* readings/s\) → ", x) for x in lines
    )
    assert not CONTROL.search(out)
