"""The steward's view after real runs: four crafted partitions through the runner behind
`gridflow run`, then `gridflow dq` in every format, the two dq assets, and the dashboard in
a headless browser.

Partitions: UTILITY1 2025-04 is clean (ready), UTILITY1 and UTILITY2 2025-03 carry the
crafted delivery defects (ready with warnings), LOSSY 2025-03 runs an adapter that silently
drops a row (blocked by the conservation check).

The runs use an in-memory instance handed to the CLI (``cli._instance``): the same runs on
a SQLite instance take 8 s per partition instead of 2 (`gridflow run` itself on SQLite is
covered by test_cli.py).
"""

import json
import re
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pandas as pd
import pytest

from gridflow_assets.app.cli import main
from gridflow_assets.app.runner import run_drops
from gridflow_assets.defs.definitions import PARTITION_JOB, build_defs
from gridflow_assets.dq.checklist import stored_history
from gridflow_assets.dq.history import check_history, refreshed_history
from gridflow_assets.dq.refresh import build_snapshot
from gridflow_assets.generate.common import write_drop
from gridflow_assets.registry.partitions import partition_key
from gridflow_assets.silver.adapters import register, unregister
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets_tests import worlds
from gridflow_assets_tests.browser import needs_chromium, render
from gridflow_assets_tests.crafted import (
    CH,
    U1_SP,
    _bytes,
    land_utility1,
    land_utility2,
    lossy_utility,
)

INTERFACE_KEYS = {"generated_at", "partitions", "tables", "accounting", "checks"}
SECTIONS = (
    "verdict",
    "status",
    "ranking",
    "tickets",
    "checks",
    "rejects",
    "trends",
    "coverage",
    "accounting",
    "values",
    "vee",
)
CHECK_KINDS = (
    "schema__",
    "orphans__",
    "duplicates__",
    "range__",
    "conservation__",
    "coverage__",
    "vee__",
    "freshness__",
    "reconcile__",
)


def land_clean_utility1(landing: Path, month: str = "2025-04") -> Path:
    """One service point, one meter, every quarter hour of the month: nothing to raise.
    Values vary: a meter repeating one value is frozen (VEE V6)."""
    starts = pd.date_range(
        f"{month}-01",
        periods=pd.Period(month).days_in_month * 96,
        freq="15min",
        tz="America/New_York",
    )
    header = (
        "service_delivery_point_id,meter_id,channel,duration,value,quality,timestamp,"
        "last_update_time,exported_at"
    )
    rows = [
        f"SP-10001001,MTR-00000001,{CH},900,{0.5 + i % 4 / 10:.1f},VAL,{t.isoformat()},"
        "2025-05-02T00:00:00-04:00,null"
        for i, t in enumerate(starts)
    ]
    sp = (
        U1_SP.splitlines()[0]
        + "\nSP-10001001,10001001,1 Main St,New York,10001,NY,,,2020-01-01,2020-01-01"
    )
    meters = (
        "meter_id,meter_timestamp,meter_duration,meter_value,meter_type,meter_category\n"
        "MTR-00000001,2025-04-01T05:00:00Z,900,120,Company,Periodic"
    )
    return write_drop(
        landing,
        "UTILITY1",
        month,
        {
            "utility1_service_points.csv": _bytes(sp),
            "utility1_meters.csv": _bytes(meters),
            "utility1_intervals.csv": _bytes("\n".join([header, *rows])),
        },
        manifest=False,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    register(lossy_utility())
    with worlds.world(tmp_path_factory, "dq") as (dirs, instance, _):
        landing = dirs["landing"]
        land_utility1(landing)
        (landing / "UTILITY1").rename(landing / "LOSSY")
        land_utility1(landing)
        land_utility2(landing)
        land_clean_utility1(landing)
        # The run refreshes the DQ tables, as `gridflow run` does: `gridflow dq` reads them.
        outcome = run_drops(instance, str(landing), str(dirs["warehouse"]), out=lambda _: None)
        try:
            store = Warehouse(dirs["warehouse"])
            snap = build_snapshot(store, check_history(instance))
            yield SimpleNamespace(
                dirs=dirs,
                instance=instance,
                store=store,
                snap=snap,
                outcome=outcome,
                cards={(c["utility"], c["month"]): c for c in snap["scorecard"]},
            )
        finally:
            unregister("LOSSY")


def _dq(capsys, *args: str) -> str:
    capsys.readouterr()
    assert main(["dq", *args]) == 0
    return capsys.readouterr().out


def test_json_keeps_the_interface_keys_and_adds_the_scorecard(world, capsys):
    snap = json.loads(_dq(capsys, "--format", "json"))
    assert set(snap) == INTERFACE_KEYS | {
        "now",
        "states",
        "queue",
        "status",
        "summary",
        "scorecard",
        "ranking",
        "rejects",
        "value_stats",
        "tickets",
        "thresholds",
    }
    pd.Timestamp(snap["generated_at"])  # ISO-8601
    assert snap["partitions"] == [
        {"utility": "LOSSY", "month": "2025-03"},
        {"utility": "UTILITY1", "month": "2025-03"},
        {"utility": "UTILITY1", "month": "2025-04"},
        {"utility": "UTILITY2", "month": "2025-03"},
    ]
    assert all(set(t) == {"table", "utility", "month", "rows"} for t in snap["tables"])
    acc_keys = {
        "table",
        "utility",
        "month",
        "landed",
        "kept",
        "duplicates_exact",
        "duplicates_conflicting",
        "rejected",
    }
    assert all(acc_keys <= set(a) for a in snap["accounting"])
    check_keys = {"asset", "check", "utility", "month", "passed", "severity", "failed_count"}
    assert all(check_keys <= set(c) for c in snap["checks"])
    assert all(c["check"].startswith(CHECK_KINDS) for c in snap["checks"])
    assert all(c["severity"] in ("WARN", "ERROR") for c in snap["checks"])
    card = snap["scorecard"][0]
    assert {
        "status",
        "trend",
        "issues",
        "totals",
        "coverage",
        "value_stats",
        "orphans",
        "completeness",
        "rejects",
        "quality",
        "time_range",
        "rows_by_layer",
    } <= set(card)
    counts = {
        k: snap["summary"][k] for k in ("partitions", "ready", "ready with warnings", "blocked")
    }
    assert counts == {"partitions": 4, "ready": 1, "ready with warnings": 2, "blocked": 1}


def test_partitions_are_ranked_by_how_much_needs_acting_on(world, capsys):
    """Blocked first; then by score (weighted rows to act on per landed row); the clean
    month last, graded A. JSON, text and the dashboard agree on the order."""
    ranking = world.snap["ranking"]
    order = [(r["utility"], r["month"]) for r in ranking]
    assert order[0] == ("LOSSY", "2025-03") and ranking[0]["grade"] == "F"
    assert order[-1] == ("UTILITY1", "2025-04") and ranking[-1]["grade"] == "A"
    assert ranking[-1]["score"] == 0 and ranking[-1]["main_reasons"] == "nothing to act on"
    assert [r["rank"] for r in ranking] == [1, 2, 3, 4]
    assert {s["rank"] for s in world.snap["status"]} == {1, 2, 3, 4}
    u1 = world.cards[("UTILITY1", "2025-03")]["action"]
    # 2 conflicting duplicates + 4 rejected + 1 orphan + 0.1 x 2 exact, of 18 landed rows
    assert u1["rows"]["duplicates_conflicting"] == 2 and u1["rows"]["rejected"] == 4
    assert u1["score"] > 0.3 and u1["grade"] == "E"
    text = _dq(capsys)
    ranked = text.split("Act on these first")[1].split("Partitions (in rank order)")[0]
    assert re.findall(r"(LOSSY|UTILITY\d)\s+(\d{4}-\d{2})", ranked) == order
    html = _dq(capsys, "--format", "html")
    assert "wrote" in html
    page = (world.dirs["reports"] / "dq_dashboard.html").read_text(encoding="utf-8")
    assert {g for g in "ABCDEF" if f'grade-{g}"' in page} == {r["grade"] for r in ranking}


def test_accounting_totals_on_the_crafted_partition(world):
    acc = {
        a["table"]: a
        for a in world.snap["accounting"]
        if (a["utility"], a["month"]) == ("UTILITY1", "2025-03")
    }
    counts = {
        t: (
            a["landed"],
            a["kept"],
            a["duplicates_exact"],
            a["duplicates_conflicting"],
            a["rejected"],
        )
        for t, a in acc.items()
    }
    assert counts == {
        "silver/service_points": (3, 2, 0, 1, 0),
        "silver/meters": (5, 3, 1, 0, 1),
        "silver/intervals": (10, 5, 1, 1, 3),
    }
    assert acc["silver/intervals"]["rejects_by_reason"] == {
        "CHANNEL_DURATION_MISMATCH": 1,
        "DUP_CONFLICT": 1,
        "DUP_EXACT": 1,
        "INVALID_TIMESTAMP": 1,
        "MALFORMED_ROW": 1,
    }
    for a in world.snap["accounting"]:
        if a["utility"] != "LOSSY":
            assert a["landed"] == (
                a["kept"] + a["duplicates_exact"] + a["duplicates_conflicting"] + a["rejected"]
            )
    totals = world.cards[("UTILITY1", "2025-03")]["totals"]
    assert totals == {
        "landed": 18,
        "kept": 10,
        "duplicates_exact": 2,
        "duplicates_conflicting": 2,
        "rejected": 4,
        "reconciles": True,
        "orphans": 1,
    }


def test_statuses_clean_warnings_blocked(world):
    ok = {(p.utility, p.month): p.ok for p in world.outcome.partitions}
    assert ok == {
        ("LOSSY", "2025-03"): False,
        ("UTILITY1", "2025-03"): True,
        ("UTILITY1", "2025-04"): True,
        ("UTILITY2", "2025-03"): True,
    }
    status = {k: c["status"] for k, c in world.cards.items()}
    assert status == {
        ("UTILITY1", "2025-04"): "ready",
        ("UTILITY1", "2025-03"): "ready with warnings",
        ("UTILITY2", "2025-03"): "ready with warnings",
        ("LOSSY", "2025-03"): "blocked",
    }
    clean = world.cards[("UTILITY1", "2025-04")]
    assert clean["issues"] == [] and clean["checks"]["missing"] == 0
    assert clean["checks"]["failed_warn"] == clean["checks"]["failed_error"] == 0
    assert clean["coverage"] == {
        "interval_coverage": 1.0,
        "day_coverage": 1.0,
        "series": 1,
        "channels_with_gaps": 0,
        "days_in_month": 30,
    }
    # 6: the crafted March month also fails vee__coverage and vee__estimation (WARN)
    assert clean["trend"] == "better" and "failing checks 6 → 0" in clean["trend_notes"]
    blocked = world.cards[("LOSSY", "2025-03")]
    reasons = " ".join(blocked["blocking_reasons"])
    assert "conservation__accounting failed (ERROR)" in reasons
    assert "silver/intervals: 1 row lost without a trace (landed 10 ≠ kept 4" in reasons
    assert "gold/fact_readings" in reasons  # downstream of the blocking check: not built
    assert blocked["totals"]["reconciles"] is False


def test_issues_for_the_utility_are_in_words(world):
    u1 = "\n".join(world.cards[("UTILITY1", "2025-03")]["utility_issues"])
    assert (
        "silver/intervals: 1 row rejected (10.0% of 10 landed), INVALID_TIMESTAMP: A "
        "timestamp or date cannot be parsed; e.g. utility1_intervals.csv row 8, column "
        "timestamp."
    ) in u1
    # 11 rows: 5 delivered + 6 estimated by VEE (E1) across the crafted 1.5-hour gap
    assert "1 of 11 rows reference 1 unknown service_point_id" in u1
    assert "SP-99999999" not in u1  # service point ids are PII in the registry
    u2 = "\n".join(world.cards[("UTILITY2", "2025-03")]["utility_issues"])
    assert "reference 1 unknown meter_id (not in silver/meters). E.g. UTILITY2:555555555." in u2
    assert "1 row flagged QUALITY_UNKNOWN" in u2
    assert "silver/intervals.service_point_id is filled in 80.0% of 5 rows" in u2
    tickets = {t["utility"] for t in world.snap["tickets"]}
    assert tickets == {"LOSSY", "UTILITY1", "UTILITY2"}  # the clean month needs none


def test_values_are_summarised_per_reading_type(world):
    stats = world.cards[("UTILITY2", "2025-03")]["value_stats"]
    by_kind = {s["reading_kind"]: s for s in stats}
    assert set(by_kind) == {"interval", "register"}
    # Daily reads of the 23-hour 9 March and of 24-hour days are one type; the failed
    # validation (code 51 → 10) is counted and left out of the values.
    assert by_kind["interval"] == {
        **by_kind["interval"],
        "interval_s": 86_400,
        "rows": 4,
        "failed_validation": 1,
        "sum": 35.0,
        "max": 20.0,
    }
    assert by_kind["register"]["max"] == 999_120 and by_kind["register"]["sum"] is None


def test_text_is_a_terminal_table_per_unit_and_utility(world, capsys):
    out = _dq(capsys)
    assert "4 partitions: 1 ready · 2 ready with warnings · 1 blocked" in out
    assert "Blocked — fix in the pipeline before sign-off" in out
    values = out.split("Values per reading type")[1].split("VEE rules")[0]
    rows = [line.split() for line in values.splitlines()[3:] if line.strip()]
    register_ = [
        r for r in rows if r[:5] == ["UTILITY2", "2025-03", "kWh", "delivered", "register"]
    ]
    assert [r[5:11] for r in register_] == [["1", "day", "kWh", "1", "1", "999,120"]]
    assert {r[7] for r in rows} == {"kWh"}  # every reading type states its unit
    one = _dq(capsys, "--utility", "UTILITY2", "--month", "2025-03", "--format", "json")
    assert json.loads(one)["partitions"] == [{"utility": "UTILITY2", "month": "2025-03"}]
    vee = out.split("VEE rules")[1].split("Failing checks")[0]
    head, *rows = [line.split() for line in vee.splitlines()[1:] if line.strip()]
    assert head[:4] == ["utility", "month", "V1", "V2"] and head[-1] == "E4"
    u1 = dict(zip(head, next(r for r in rows if r[:2] == ["UTILITY1", "2025-03"]), strict=True))
    # The crafted 1.5-hour gap: 6 quarter hours interpolated (E1) and flagged (E4); the
    # rest of the sparse crafted day stays missing (V1), too long to estimate without history
    assert (u1["E1"], u1["E4"]) == ("6", "6") and int(u1["V1"]) > 6
    assert world.cards[("UTILITY1", "2025-03")]["vee"]["by_method"]["interpolated"] == 6
    md = _dq(capsys, "--format", "markdown")
    assert "## Issues to raise with the utility" in md and "### UTILITY2" in md


def test_html_dashboard_is_self_contained(world, capsys):
    out = _dq(capsys, "--format", "html")
    page = world.dirs["reports"] / "dq_dashboard.html"
    assert f"wrote {page}" in out
    html = page.read_text(encoding="utf-8")
    for forbidden in ("http://", "https://", "<script", "<link", "src=", "@import"):
        assert forbidden not in html
    for section in SECTIONS:
        assert f'id="{section}"' in html
    # heat map (failing rows, passing rows), then per utility: rejects, trends, coverage
    assert html.count("<svg") == 2 + 3 * 3


def test_dq_assets_materialize_history_and_scorecard(world):
    defs = build_defs(
        str(world.dirs["landing"]), str(world.dirs["warehouse"]), str(world.dirs["reports"])
    )
    # A rerun: the history keeps both evaluations, only the newer one is latest.
    rerun = defs.resolve_job_def(PARTITION_JOB).execute_in_process(
        instance=world.instance, partition_key=partition_key("UTILITY1", "2025-04")
    )
    assert rerun.success
    keys = [dg.AssetKey(["dq", t]) for t in ("check_results", "reference_checks")]
    keys.append(dg.AssetKey(["dq", "partition_scorecard"]))
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=world.instance, asset_selection=keys
    )
    assert result.success
    history = world.store.read_all("dq/check_results")
    assert not history.duplicated(["run_id", "evaluation_id"]).any()
    clean = history[(history.utility == "UTILITY1") & (history.month == "2025-04")]
    per_check = clean.groupby(["asset", "check_name"])
    assert (per_check.size() == 2).all() and (per_check.is_latest.sum() == 1).all()
    assert clean[clean.is_latest].run_id.unique().tolist() == [rerun.run_id]
    sample = history[
        (history.check_name == "orphans__meter_id")
        & ~history.passed
        & (history.asset == "silver/intervals")
    ].iloc[-1]
    assert json.loads(sample.sample_keys) == [{"meter_id": "UTILITY2:555555555", "rows": "1"}]
    card = world.store.read_all("dq/partition_scorecard").set_index(["utility", "month"])
    assert card.status.to_dict() == {
        ("LOSSY", "2025-03"): "blocked",
        ("UTILITY1", "2025-03"): "ready with warnings",
        ("UTILITY2", "2025-03"): "ready with warnings",
        ("UTILITY1", "2025-04"): "ready",
    }
    assert card.loc[("UTILITY1", "2025-03"), "landed"] == 18
    assert json.loads(card.loc[("UTILITY1", "2025-03"), "rejects_by_reason"])[0]["rows"] == 1
    meta = next(
        m.metadata
        for m in result.asset_materializations_for_node("dq_tables")
        if m.asset_key == dg.AssetKey(["dq", "partition_scorecard"])
    )
    assert meta["partitions_blocked"].value == 1 and meta["partitions_ready"].value == 1
    # only the partition that ran again is profiled again; the others keep their cards
    assert meta["cards_rebuilt"].value == 1
    assert "## Issues to raise with the utility" in meta["summary"].value
    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert {(tuple(e.asset_key.path), e.check_name) for e in evaluations if e.passed} >= {
        (("dq", t), c)
        for t in ("check_results", "reference_checks", "partition_scorecard")
        for c in ("schema__structure", "duplicates__primary_key", "range__values")
    }


@needs_chromium
def test_dashboard_renders_in_headless_chromium(world, capsys, tmp_path):
    _dq(capsys, "--format", "html")
    page = world.dirs["reports"] / "dq_dashboard.html"
    shot = tmp_path / "dashboard.png"
    dom = render(page.as_uri(), shot)
    for section in SECTIONS:
        assert f'id="{section}"' in dom
    assert "1 of 4 partitions are blocked" in dom
    assert 'id="ticket-UTILITY2"' in dom and "no ticket needed" not in dom
    assert dom.count("<svg") == 2 + 3 * 3 and 'class="cell error"' in dom
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


def test_the_stored_history_is_the_instances_and_a_refresh_reads_only_what_is_new(world):
    """The DQ tables hold every evaluation the instance recorded, and the next refresh asks
    the instance only for evaluations after the newest stored (a refresh costs the same
    whatever the history holds)."""
    full = check_history(world.instance)
    stored = stored_history(world.store)

    def keys(df):
        return sorted(zip(df.run_id, df.evaluation_id, strict=True))

    merged, touched = refreshed_history(world.instance, world.store)
    assert keys(merged) == keys(full) and len(full) > 100
    stored_keys = set(keys(stored))
    assert stored_keys <= set(keys(full))
    new = full[[k not in stored_keys for k in zip(full.run_id, full.evaluation_id, strict=True)]]
    assert touched == set(zip(new.utility_id, new.month, strict=True))
    latest = merged[merged.is_latest]
    assert keys(latest) == keys(full[full.is_latest])
    # `since` cuts halfway between two recorded times: exactly the later ones come back
    times = sorted(set(full.evaluated_at_utc))
    middle = len(times) // 2
    cut = (times[middle - 1].timestamp() + times[middle].timestamp()) / 2
    after = check_history(world.instance, since=cut)
    later = full[full.evaluated_at_utc.map(lambda t: t.timestamp() > cut)]
    assert keys(after) == keys(later) and 0 < len(after) < len(full)
