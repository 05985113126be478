"""The steward's month: every expected partition has a state, and a decision on it is data.

Crafted drops through the runner behind `gridflow run` (an in-memory instance), with now
injected as 2025-05-20 (``GRIDFLOW_NOW``):

* UTILITY1 2025-03: delivered on time, ready with warnings; 2025-04: a drop rejected (a
  required column missing); 2025-05: not yet due;
* UTILITY2 2025-03: delivered late (after its due day, 12 April); 2025-04: missing and
  overdue; 2025-05: not yet due;
* LOSSY 2025-03: an adapter that loses a row, blocked.

Then sign-offs from the CLI and from the Dagster ``signoff`` job, a rerun that changes
nothing (the approval holds) and a re-delivery that changes the data (the approval is void,
the trail keeps it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from types import SimpleNamespace

import polars as pl
import pytest
from deltalake import DeltaTable

from gridflow_assets.app.cli import main
from gridflow_assets.app.runner import run_drops
from gridflow_assets.defs.definitions import build_defs
from gridflow_assets.silver.adapters import register, unregister
from gridflow_assets_tests import worlds
from gridflow_assets_tests.browser import needs_chromium, render
from gridflow_assets_tests.crafted import (
    U1_INTERVALS,
    U1_METERS,
    land_utility1,
    land_utility2,
    lossy_utility,
)

NOW = "2025-05-20T12:00:00Z"


def _at(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    register(lossy_utility())
    with worlds.world(tmp_path_factory, "steward") as (dirs, instance, mp):
        mp.setenv("GRIDFLOW_NOW", NOW)
        landing = dirs["landing"]
        land_utility1(landing)
        (landing / "UTILITY1").rename(landing / "LOSSY")
        land_utility1(landing)
        headless = U1_METERS.replace("meter_duration,", "").replace(",900,", ",")
        land_utility1(landing, month="2025-04", utility1_meters__csv=headless)
        late = land_utility2(landing)
        os.utime(late / "_SUCCESS", (_at("2025-04-20T09:00:00+00:00"),) * 2)
        outcome = run_drops(instance, str(landing), str(dirs["warehouse"]), out=lambda _: None)
        try:
            yield SimpleNamespace(dirs=dirs, instance=instance, outcome=outcome, mp=mp)
        finally:
            unregister("LOSSY")


def _rerun(world, utility: str, month: str) -> None:
    """``gridflow run --utility U --month M`` on the module's instance."""
    run_drops(
        world.instance,
        str(world.dirs["landing"]),
        str(world.dirs["warehouse"]),
        utility=utility,
        month=month,
        out=lambda _: None,
    )


def _run(capsys, *args: str, code: int = 0) -> tuple[str, str]:
    capsys.readouterr()
    assert main(list(args)) == code
    got = capsys.readouterr()
    return got.out, got.err


def _snap(capsys, *args: str) -> dict:
    return json.loads(_run(capsys, "dq", "--format", "json", *args)[0])


def _states(snap: dict) -> dict[tuple[str, str], dict]:
    return {(s["utility"], s["month"]): s for s in snap["states"]}


def test_every_expected_partition_has_a_state(world, capsys):
    snap = _snap(capsys)
    states = {k: s["state"] for k, s in _states(snap).items()}
    assert states == {
        ("LOSSY", "2025-03"): "blocked",
        ("LOSSY", "2025-04"): "missing and overdue",
        ("LOSSY", "2025-05"): "not yet due",
        ("UTILITY1", "2025-03"): "ready with warnings",
        ("UTILITY1", "2025-04"): "drop rejected",
        ("UTILITY1", "2025-05"): "not yet due",
        ("UTILITY2", "2025-03"): "delivered late",
        ("UTILITY2", "2025-04"): "missing and overdue",
        ("UTILITY2", "2025-05"): "not yet due",
    }
    assert snap["partitions"] == [{"utility": u, "month": m} for u, m in sorted(states)]
    assert snap["summary"]["drop rejected"] == 1 and snap["summary"]["missing and overdue"] == 2
    rejected = _states(snap)[("UTILITY1", "2025-04")]["delivery"]
    assert rejected["outcome"] == "drop rejected"
    assert (rejected["file"], rejected["column"], rejected["row"]) == (
        "utility1_meters.csv",
        "meter_duration",
        None,  # the header lacks it: no data row is at fault
    )
    assert rejected["reason"].startswith("required column missing")
    late = _states(snap)[("UTILITY2", "2025-03")]["delivery"]
    assert late["arrived_at"] == "2025-04-20T09:00:00Z" and late["due_at"] == "2025-04-13T04:00:00Z"
    # the month that never arrived and the rejected drop are tickets for their utility
    tickets = {t["utility"]: [i["text"] for i in t["issues"]] for t in snap["tickets"]}
    assert any(t.startswith("No drop for 2025-04: it was due by") for t in tickets["UTILITY2"])
    assert any("Drop rejected (file utility1_meters.csv" in t for t in tickets["UTILITY1"])
    assert any(t.startswith("Drop delivered late") for t in tickets["UTILITY2"])


def test_a_rejected_month_says_why(world, capsys):
    out, _ = _run(capsys, "dq", "--utility", "UTILITY1", "--month", "2025-04")
    line = next(x for x in out.splitlines() if x.startswith("UTILITY1  2025-04"))
    assert (
        "drop rejected" in line and "utility1_meters.csv, meter_duration: required column" in line
    )
    one = _snap(capsys, "--utility", "UTILITY1", "--month", "2025-04")
    assert one["partitions"] == [{"utility": "UTILITY1", "month": "2025-04"}]
    assert one["scorecard"] == [] and one["states"][0]["state"] == "drop rejected"


def test_deliveries_are_an_append_only_delta_table_any_reader_reads(world):
    table = str(world.dirs["warehouse"] / "dq" / "deliveries")
    rows = pl.scan_delta(table).sort("drop_name").collect()
    assert rows.select("drop_name", "outcome").rows() == [
        ("LOSSY/2025-03", "landed"),
        ("UTILITY1/2025-03", "landed"),
        ("UTILITY1/2025-04", "drop rejected"),
        ("UTILITY2/2025-03", "landed"),
    ]
    assert rows["fingerprint"].null_count() == 0 and rows["run_id"].null_count() == 0
    assert DeltaTable(table).metadata().configuration["delta.appendOnly"] == "true"


def test_arguments_are_checked_like_run(world, capsys):
    _, err = _run(capsys, "dq", "--utility", "UTILTY1", code=2)
    assert "unknown utility 'UTILTY1'" in err and "did you mean 'UTILITY1'?" in err
    _, err = _run(
        capsys, "signoff", "approve", "NOBODY", "2025-03", "--by", "a", "--reason", "b", code=2
    )
    assert "unknown utility 'NOBODY'" in err and "known: " in err


def test_one_refresh_feeds_the_tables_dq_and_the_dashboard(world, capsys):
    snap = _snap(capsys)
    latest = (
        pl.scan_delta(str(world.dirs["warehouse"] / "dq" / "check_results"))
        .filter(pl.col("is_latest"))
        .collect()
    )
    reference = pl.read_delta(str(world.dirs["warehouse"] / "dq" / "reference_checks"))
    reference = reference.filter(pl.col("is_latest"))
    passed = int(latest["passed"].sum()) + int(reference["passed"].sum())
    failed = len(latest) + len(reference) - passed
    assert (snap["summary"]["checks_passed"], snap["summary"]["checks_failed"]) == (passed, failed)
    page = (world.dirs["reports"] / "dq_dashboard.html").read_text(encoding="utf-8")
    headline = re.search(r"checks ([\d,]+) passing, ([\d,]+) failing", page)
    assert headline.groups() == (f"{passed:,}", f"{failed:,}")
    text, _ = _run(capsys, "dq")
    assert f"checks {passed:,} passing, {failed:,} failing" in text
    cards = pl.read_delta(str(world.dirs["warehouse"] / "dq" / "partition_scorecard"))
    assert sorted(zip(cards["utility"], cards["month"], cards["status"], strict=True)) == sorted(
        (c["utility"], c["month"], c["status"]) for c in snap["scorecard"]
    )


def test_the_verdict_fits_in_25_lines(world, capsys):
    out, _ = _run(capsys, "dq", "--brief")
    lines = out.rstrip("\n").splitlines()
    assert len(lines) <= 25
    assert lines[1].startswith("9 partitions: 0 ready · 1 ready with warnings · 1 blocked")
    assert "1. LOSSY 2025-03  F blocked" in out
    assert "UTILITY2 2025-04  missing and overdue" in out
    assert "Awaiting sign-off, oldest first: UTILITY1 2025-03, UTILITY2 2025-03" in out


def _decisions(world) -> pl.DataFrame:
    return pl.read_delta(str(world.dirs["warehouse"] / "dq" / "signoffs")).sort("decided_at_utc")


def test_signoff_approve_refusals_rerun_and_void(world, capsys):
    signoff = ("signoff", "approve", "UTILITY1", "2025-03", "--by", "Ana Steward")
    # every failing check must be waived
    _, err = _run(capsys, *signoff, "--reason", "fine", code=1)
    assert "failing check(s) not waived: " in err and "silver/intervals:vee__coverage" in err
    _, err = _run(capsys, *signoff, "--reason", "fine", "--waive", "nope", code=1)
    assert "--waive nope: not a failing check of UTILITY1 2025-03" in err
    # a blocked partition cannot be approved, a blocking check cannot be waived
    lossy = ("signoff", "approve", "LOSSY", "2025-03", "--by", "Ana", "--reason", "x")
    _, err = _run(capsys, *lossy, "--waive", "conservation__accounting", code=1)
    assert "silver/intervals:conservation__accounting of LOSSY 2025-03 is blocking" in err
    _, err = _run(capsys, *lossy, "--waive", "all", code=1)
    assert "LOSSY 2025-03 is blocked and cannot be approved" in err
    assert not (world.dirs["warehouse"] / "dq" / "signoffs").exists()  # nothing recorded

    out, _ = _run(capsys, *signoff, "--reason", "usual defects, ticket raised", "--waive", "all")
    assert out.startswith("UTILITY1 2025-03 approved by Ana Steward (")
    shown = _states(_snap(capsys))[("UTILITY1", "2025-03")]["signoff"]
    assert shown["status"] == "approved" and shown["steward"] == "Ana Steward"
    assert "silver/intervals:vee__coverage" in shown["waived_checks"]
    text, _ = _run(capsys, "dq")
    assert re.search(r"UTILITY1\s+2025-03\s+ready with warnings .* approved by Ana Steward", text)

    _run(capsys, "signoff", "send-back", "UTILITY2", "2025-03", "--by", "Ana", "--reason", "late")
    # a rerun of the same data writes the same bytes: the approval holds
    _rerun(world, "UTILITY1", "2025-03")
    assert _states(_snap(capsys))[("UTILITY1", "2025-03")]["signoff"]["status"] == "approved"
    assert _decisions(world)["decision"].to_list() == ["approved", "sent back"]

    # a re-delivery with one value changed: the approval is void, the trail keeps it
    land_utility1(world.dirs["landing"], utility1_intervals__csv=U1_INTERVALS.replace("0.5", "0.6"))
    _rerun(world, "UTILITY1", "2025-03")
    snap = _snap(capsys)
    shown = _states(snap)[("UTILITY1", "2025-03")]["signoff"]
    assert shown["status"] == "void" and shown["needs"].startswith("needs sign-off again")
    assert {"utility": "UTILITY1", "month": "2025-03", "state": "ready with warnings"} in snap[
        "queue"
    ]
    trail = _decisions(world)
    assert trail["decision"].to_list() == ["approved", "sent back", "void"]
    approved, _, void = trail.to_dicts()
    assert void["voids"] == approved["decision_id"] and void["steward"] == "gridflow"
    assert void["content_digest"] != approved["content_digest"]
    assert approved["os_user"] and approved["host"] and approved["via"] == "cli"


def test_signoff_from_the_launchpad_job(world, capsys):
    defs = build_defs(
        str(world.dirs["landing"]), str(world.dirs["warehouse"]), str(world.dirs["reports"])
    )
    job = defs.resolve_job_def("signoff")

    def launch(**config):
        run_config = {"ops": {"record_signoff": {"config": config}}}
        return job.execute_in_process(
            run_config=run_config, instance=world.instance, raise_on_error=False
        )

    base = {"utility": "UTILITY1", "month": "2025-03", "steward": "Bo", "reason": "ok"}
    refused = launch(**base, decision="approve")
    assert not refused.success
    failure = next(e for e in refused.all_events if e.event_type_value == "STEP_FAILURE")
    assert "failing check(s) not waived" in failure.event_specific_data.error.message
    done = launch(**base, decision="approve", waived_checks=["all"])
    assert done.success
    observed = done.asset_observations_for_node("record_signoff")[0]
    assert observed.metadata["decision"].value == "approved"
    row = _decisions(world).row(-1, named=True)
    assert (row["decision"], row["steward"], row["via"]) == ("approved", "Bo", "dagster")
    assert _states(_snap(capsys))[("UTILITY1", "2025-03")]["signoff"]["steward"] == "Bo"


@needs_chromium
def test_dashboard_shows_every_state_and_the_queue(world, capsys, tmp_path):
    _run(capsys, "dq", "--format", "html")
    dom = render((world.dirs["reports"] / "dq_dashboard.html").as_uri(), tmp_path / "d.png")
    for state in ("drop rejected", "missing and overdue", "delivered late", "not yet due"):
        assert state in dom
    assert 'id="signoff"' in dom and "required column missing" in dom
