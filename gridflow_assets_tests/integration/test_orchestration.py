"""Orchestration: the drop sensor, the refresh after drop runs, backfills through
``gridflow run``, onboarding a utility through the sensor path, and drop freshness."""

import datetime as dt
import os
import uuid
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from gridflow_assets.app.runner import run_drops
from gridflow_assets.defs.definitions import PARTITION_JOB
from gridflow_assets.defs.downstream import REFRESH_JOB, REFRESH_SENSOR
from gridflow_assets.defs.drops import DROP_TAG, FINGERPRINT_TAG
from gridflow_assets.defs.freshness import (
    FRESHNESS_CHECK,
    FRESHNESS_JOB,
    Delivery,
    Freshness,
    deadline,
    delivery_calendar,
)
from gridflow_assets.defs.schedules import FRESHNESS_SCHEDULE, freshness_day
from gridflow_assets.defs.sensors import DROP_SENSOR, DropCursor
from gridflow_assets.dq.history import check_history
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.registry.partitions import partition_key
from gridflow_assets.silver.adapters import get_utility, register, unregister
from gridflow_assets.silver.adapters.base import Utility
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets_tests.crafted import land_utility1, land_utility2

UTC = dt.UTC


def tick(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    cursor: str | None = None,
    name: str = DROP_SENSOR,
):
    """Evaluate a sensor as the daemon does, and apply its new partitions to the instance."""
    context = dg.build_sensor_context(
        instance=instance,
        instance_ref=instance.get_ref(),
        definitions=defs,
        cursor=cursor,
        resources={"paths": defs.resources["paths"]},
    )
    data = defs.get_sensor_def(name).evaluate_tick(context)
    for request in data.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
    return data


def added_utilities(data) -> list[str]:
    return [k for r in data.dynamic_partitions_requests for k in r.partition_keys]


# --- drop sensor -------------------------------------------------------------------------


def test_sensor_targets_partition_job_and_starts_running(defs):
    sensor = defs.get_sensor_def(DROP_SENSOR)
    assert sensor.job_name == PARTITION_JOB
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.get_sensor_def(REFRESH_SENSOR).default_status == dg.DefaultSensorStatus.RUNNING


def test_asset_graph_draws_silver_intervals_from_what_it_reads(defs):
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["silver", "intervals"])).parent_keys
    assert {"/".join(k.path) for k in parents} == {
        "bronze/readings",
        "silver/service_points",
        "silver/meters",
    }


def test_complete_drop_gives_one_request_and_adds_its_utility(defs, folders, instance):
    land_utility1(folders[0])
    data = tick(defs, instance)
    assert [r.partition_key for r in data.run_requests] == [partition_key("UTILITY1", "2025-03")]
    request = data.run_requests[0]
    assert request.run_key.startswith("UTILITY1/2025-03@")
    assert request.tags[DROP_TAG] == "UTILITY1/2025-03"
    assert added_utilities(data) == ["UTILITY1"]
    assert instance.get_dynamic_partitions("utility") == ["UTILITY1"]
    # A known utility is not added again.
    land_utility1(folders[0], month="2025-04")
    assert added_utilities(tick(defs, instance, data.cursor)) == []


def test_drop_without_success_marker_is_not_requested(defs, folders, instance):
    (land_utility1(folders[0]) / "_SUCCESS").unlink()
    data = tick(defs, instance)
    assert data.run_requests == [] and data.dynamic_partitions_requests == []
    assert data.skip_message


def test_same_drop_twice_gives_one_request(defs, folders, instance):
    land_utility1(folders[0])
    first = tick(defs, instance)
    second = tick(defs, instance, first.cursor)
    assert len(first.run_requests) == 1 and second.run_requests == []
    # With the cursor lost, the request carries the same run key: the daemon skips it.
    assert tick(defs, instance).run_requests[0].run_key == first.run_requests[0].run_key


def test_redelivered_month_gives_a_new_request(defs, folders, instance):
    land_utility1(folders[0])
    first = tick(defs, instance)
    land_utility1(
        folders[0],
        utility1_intervals__csv="service_delivery_point_id,meter_id,"
        "channel,duration,value,quality,timestamp,last_update_time,exported_at",
    )
    second = tick(defs, instance, first.cursor)
    assert [r.partition_key for r in second.run_requests] == [partition_key("UTILITY1", "2025-03")]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    assert tick(defs, instance, second.cursor).run_requests == []


def test_invalid_folders_and_utilities_without_adapter_are_skipped_with_reason(
    defs, folders, instance, capfd
):
    landing = folders[0]
    for folder in ("bad-name/2025-03", "UTILITY1/2025-13", "ACME/2025-03"):
        (landing / folder).mkdir(parents=True)
        (landing / folder / "_SUCCESS").write_text("")
    land_utility1(landing, month="2023-12")  # before the first partition
    data = tick(defs, instance)
    assert data.run_requests == [] and data.dynamic_partitions_requests == []
    log = capfd.readouterr().err  # the sensor's log, shown on its tick in the UI
    assert "skipped bad-name: not a valid utility id" in log
    assert "skipped UTILITY1/2025-13: not a valid month" in log
    assert "skipped ACME/2025-03: no adapter registered for utility 'ACME'" in log
    assert "skipped UTILITY1/2023-12: month 2023-12 is not a partition (2024-01 …" in log


def test_drop_failing_its_manifest_is_skipped_until_redelivered(defs, folders, instance):
    landing = folders[0]
    folder = generate_iesco(landing, ["2025-03"], meters=5, faults="none")[0]
    with open(folder / "meters.csv", "ab") as fh:
        fh.write(b"tampered\n")
    first = tick(defs, instance)
    assert first.run_requests == []
    assert "IESCO/2025-03" in DropCursor.parse(first.cursor).rejected
    assert tick(defs, instance, first.cursor).run_requests == []
    generate_iesco(landing, ["2025-03"], meters=5, faults="none")
    again = tick(defs, instance, first.cursor)
    assert [r.partition_key for r in again.run_requests] == [partition_key("IESCO", "2025-03")]
    assert DropCursor.parse(again.cursor).rejected == {}


# --- backfill: one run per partition, shared with the sensor ------------------------------


def test_backfill_of_two_partitions_runs_each_and_the_sensor_does_not_repeat_them(
    defs, folders, instance
):
    landing, warehouse, _ = folders
    land_utility1(landing)
    land_utility2(landing)
    outcome = run_drops(instance, str(landing), str(warehouse), out=lambda _: None, refresh=False)
    assert outcome.ok and len({p.run_id for p in outcome.partitions}) == 2
    store = Warehouse(warehouse)
    # refresh=False: the partitions only, the DQ tables left as they were (none yet)
    assert not store.exists("dq/check_results") and not store.exists("dq/partition_scorecard")
    for key in ("silver/intervals", "gold/fact_readings", "experience/daily_summaries"):
        assert store.partitions(key) == [("UTILITY1", "2025-03"), ("UTILITY2", "2025-03")]
    # 5 delivered rows + 6 quarter hours of a 1.5-hour gap interpolated by VEE (E1)
    assert store.row_count("silver/intervals", "UTILITY1", "2025-03") == 11
    assert store.row_count("silver/intervals", "UTILITY2", "2025-03") == 5
    run = instance.get_run_by_id(outcome.partitions[0].run_id)
    assert run.tags[DROP_TAG] == "UTILITY1/2025-03" and FINGERPRINT_TAG in run.tags
    # The sensor sees these exact files were materialized: no second run.
    data = tick(defs, instance)
    assert data.run_requests == []
    assert set(DropCursor.parse(data.cursor).launched) == {"UTILITY1/2025-03", "UTILITY2/2025-03"}


# --- onboarding a utility: adapter + registry entry, then the sensor path ----------------


@pytest.fixture
def utility9():
    """A fourth utility: UTILITY1's adapter and delivered files under another id."""
    u1 = get_utility("UTILITY1")
    register(
        Utility(
            "UTILITY9",
            "Utility 9 (test)",
            "US",
            u1.timezone,
            "USD",
            "service point",
            u1.sources,
            u1.to_silver,
            expected_delivery_day=15,
        )
    )
    yield "UTILITY9"
    unregister("UTILITY9")


def _onboard_through_the_sensor(defs, instance, landing, utility: str):
    """Land a drop of the new utility, tick the sensor, run what it requests."""
    land_utility1(landing)
    (landing / "UTILITY1").rename(landing / utility)
    data = tick(defs, instance)
    assert added_utilities(data) == [utility]
    (request,) = data.run_requests
    return defs.resolve_job_def(PARTITION_JOB).execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        tags=request.tags,
        raise_on_error=False,
    )


def test_new_utility_runs_end_to_end_through_the_sensor(defs, folders, instance, utility9):
    landing, warehouse, _ = folders
    result = _onboard_through_the_sensor(defs, instance, landing, utility9)
    assert result.success
    checks = {
        e.check_name: e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey(["silver", "intervals"])
    }
    assert checks["conservation__accounting"].passed
    store = Warehouse(warehouse)
    for key in (
        "bronze/readings",
        "silver/intervals",
        "gold/fact_readings",
        "experience/daily_summaries",
    ):
        assert store.exists(key, utility9, "2025-03")
    # The drop run finished: one refresh of the reference and DQ tables, then nothing.
    refresh = tick(defs, instance, name=REFRESH_SENSOR)
    assert len(refresh.run_requests) == 1
    assert tick(defs, instance, refresh.cursor, name=REFRESH_SENSOR).run_requests == []


def test_refresh_job_rebuilds_reference_and_dq_tables_and_dashboard(
    defs, folders, instance, utility9
):
    landing, warehouse, reports = folders
    assert _onboard_through_the_sensor(defs, instance, landing, utility9).success
    assert defs.resolve_job_def(REFRESH_JOB).execute_in_process(instance=instance).success
    store = Warehouse(warehouse)
    assert utility9 in set(store.read("gold/dim_utility").utility_id)
    assert utility9 in set(store.read_all("dq/partition_scorecard").utility)
    assert (reports / "dq_dashboard.html").exists()


# --- refresh after drop runs ---------------------------------------------------------------


def _run(instance, status: dg.DagsterRunStatus, job_name: str = PARTITION_JOB) -> dg.DagsterRun:
    return instance.add_run(
        dg.DagsterRun(job_name=job_name, run_id=str(uuid.uuid4()), status=status)
    )


def test_refresh_waits_for_a_batch_of_drop_runs_and_requests_one_refresh(defs, instance):
    assert tick(defs, instance, name=REFRESH_SENSOR).run_requests == []
    _run(instance, dg.DagsterRunStatus.SUCCESS)
    running = _run(instance, dg.DagsterRunStatus.STARTED)
    waiting = tick(defs, instance, name=REFRESH_SENSOR)
    assert waiting.run_requests == [] and "waiting for 1 drop run" in waiting.skip_message
    instance.report_run_failed(running)  # a failed drop run has check results to show too
    data = tick(defs, instance, name=REFRESH_SENSOR)
    assert [r.run_key for r in data.run_requests] == [f"refresh-after:{running.run_id}"]
    assert tick(defs, instance, data.cursor, name=REFRESH_SENSOR).run_requests == []


def test_refresh_does_not_overlap_a_running_refresh(defs, instance):
    _run(instance, dg.DagsterRunStatus.SUCCESS)
    refreshing = _run(instance, dg.DagsterRunStatus.STARTED, REFRESH_JOB)
    assert tick(defs, instance, name=REFRESH_SENSOR).run_requests == []
    instance.report_run_failed(refreshing)
    assert len(tick(defs, instance, name=REFRESH_SENSOR).run_requests) == 1


# --- freshness: schedule, calendar, check ------------------------------------------------


def test_schedule_runs_after_every_expected_delivery_day_and_judges_last_month(defs):
    calendar = delivery_calendar()
    assert calendar["UTILITY2"] == 12 and freshness_day(calendar) == max(calendar.values()) + 1
    schedule = defs.get_schedule_def(FRESHNESS_SCHEDULE)
    assert schedule.cron_schedule == f"0 12 {freshness_day(calendar)} * *"
    for tick_at, month in (
        (dt.datetime(2025, 4, 13, 12, tzinfo=UTC), "2025-03"),
        (dt.datetime(2025, 1, 13, 12, tzinfo=UTC), "2024-12"),
    ):
        context = dg.build_schedule_context(scheduled_execution_time=tick_at)
        (request,) = schedule.evaluate_tick(context).run_requests
        assert request.run_key == f"freshness:{month}"
        config = request.run_config["ops"]["check_drop_freshness"]["config"]
        assert config == {"month": month, "as_of": tick_at.isoformat()}


def test_deadline_is_the_end_of_the_expected_day_in_the_utility_time_zone():
    assert deadline(get_utility("UTILITY2"), "2025-03") == dt.datetime(
        2025, 4, 13, tzinfo=ZoneInfo("America/New_York")
    )
    assert deadline(get_utility("IESCO"), "2024-12") == dt.datetime(
        2025, 1, 8, tzinfo=ZoneInfo("Asia/Karachi")
    )
    late_day = Utility(
        "LATE", "Late", "US", "UTC", None, "x", {}, lambda inp: None, expected_delivery_day=31
    )
    assert deadline(late_day, "2025-03") == dt.datetime(2025, 5, 1, tzinfo=ZoneInfo("UTC"))


def test_delivery_status():
    due = dt.datetime(2025, 4, 11, tzinfo=UTC)
    before, after = due - dt.timedelta(hours=1), due + dt.timedelta(hours=1)

    def judged(arrived, as_of):
        return Freshness("U", "2025-03", due, arrived, as_of)

    assert judged(before, after).delivery == Delivery.ON_TIME and judged(before, after).passed
    assert judged(after, after).delivery == Delivery.LATE and not judged(after, after).passed
    assert judged(None, after).delivery == Delivery.MISSING and not judged(None, after).passed
    assert judged(None, before).delivery == Delivery.NOT_DUE and judged(None, before).passed


def _arrived(folder, when: dt.datetime) -> None:
    stamp = when.timestamp()
    os.utime(folder / "_SUCCESS", (stamp, stamp))


def test_freshness_run_flags_late_and_missing_drops_as_warnings_the_steward_sees(
    defs, folders, instance
):
    landing = folders[0]
    _arrived(land_utility1(landing), dt.datetime(2025, 4, 5, tzinfo=UTC))
    _arrived(land_utility2(landing), dt.datetime(2025, 4, 20, tzinfo=UTC))
    instance.add_dynamic_partitions("utility", ["IESCO", "UTILITY1", "UTILITY2"])
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2025, 4, 13, 12, tzinfo=UTC)
    )
    (request,) = defs.get_schedule_def(FRESHNESS_SCHEDULE).evaluate_tick(context).run_requests
    result = defs.resolve_job_def(FRESHNESS_JOB).execute_in_process(
        instance=instance, run_config=request.run_config
    )
    assert result.success  # WARN: a late utility blocks nothing
    verdicts = {e.metadata["utility"].value: e for e in result.get_asset_check_evaluations()}
    assert {u: e.metadata["delivery"].value for u, e in verdicts.items()} == {
        "IESCO": Delivery.MISSING.value,
        "UTILITY1": Delivery.ON_TIME.value,
        "UTILITY2": Delivery.LATE.value,
    }
    assert {e.severity for e in verdicts.values()} == {dg.AssetCheckSeverity.WARN}
    assert verdicts["UTILITY2"].partition == partition_key("UTILITY2", "2025-03")
    history = check_history(instance)
    fresh = history[history.check_name == FRESHNESS_CHECK].set_index("utility_id")
    assert fresh.passed.to_dict() == {"IESCO": False, "UTILITY1": True, "UTILITY2": False}
    assert set(fresh.asset) == {"bronze/readings"} and set(fresh.month) == {"2025-03"}
    assert fresh.failed_count.to_dict() == {"IESCO": 1, "UTILITY1": 0, "UTILITY2": 1}
