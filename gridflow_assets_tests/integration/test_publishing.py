"""Publishing: only approved partitions reach external/, without PII, and they leave it again
when a decision is sent back or void.

One IESCO month (bills, payments, names and national ids in its drop) and one UTILITY1
month through the runner behind `gridflow run`, then `gridflow export`, `gridflow publish`,
the publish sensor's requests and the withdrawal.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import dagster as dg
import polars as pl
import pytest

from gridflow_assets.app.cli import main
from gridflow_assets.app.runner import run_drops
from gridflow_assets.defs.definitions import build_defs
from gridflow_assets.defs.publishing import PUBLISH_SENSOR, requests
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.registry import TABLES
from gridflow_assets.registry.partitions import partition_key
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets_tests import worlds
from gridflow_assets_tests.crafted import land_utility1

EXTERNAL = ("usage_daily", "usage_intervals", "billing_summary")
MONTH = "2025-06"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with worlds.world(tmp_path_factory, "publishing", "gb") as (dirs, instance, _):
        generate_iesco(dirs["landing"], [MONTH], meters=4, seed=5)
        land_utility1(dirs["landing"])
        run_drops(instance, str(dirs["landing"]), str(dirs["warehouse"]), out=lambda _: None)
        yield SimpleNamespace(dirs=dirs, instance=instance, store=Warehouse(dirs["warehouse"]))


def _main(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    got = capsys.readouterr()
    return code, got.out, got.err


def _external(world, name: str) -> pl.DataFrame:
    path = world.dirs["warehouse"] / "external" / name
    return pl.read_delta(str(path)) if path.exists() else pl.DataFrame()


def _partitions(world, name: str) -> set[tuple[str, str]]:
    frame = _external(world, name)
    return set(frame.select("utility", "month").unique().rows()) if len(frame) else set()


def _green_button(world) -> list[str]:
    folder = world.dirs["warehouse"] / "external" / "green_button"
    return sorted(p.name for p in folder.glob(f"utility=IESCO/month={MONTH}/*.xml"))


def test_nothing_leaves_before_a_steward_approves(world, capsys):
    code, _, err = _main(
        capsys,
        "export",
        "green-button",
        "--utility",
        "IESCO",
        "--month",
        MONTH,
        "--out",
        str(world.dirs["gb"]),
    )
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "IESCO 2025-06 is not approved (awaiting): a data steward must approve it" in err
    defs = build_defs()
    refused = defs.resolve_job_def("publish_job").execute_in_process(
        instance=world.instance, partition_key=partition_key("IESCO", MONTH), raise_on_error=False
    )
    assert not refused.success
    assert not (world.dirs["warehouse"] / "external" / "usage_daily").exists()
    assert requests(world.store) == []


def test_approved_partitions_are_published_once_without_pii(world, capsys):
    approve = ("signoff", "approve", "IESCO", MONTH, "--by", "Ana", "--reason", "ok")
    assert _main(capsys, *approve, "--waive", "all")[0] == 0
    code, out, _ = _main(capsys, "publish")
    assert code == 0 and "1 run(s) done, 0 failed" in out
    for name in EXTERNAL:
        assert _partitions(world, name) == {("IESCO", MONTH)}, name  # UTILITY1 awaits
    # the sensor asks for the same run key: the daemon would not run it again, nor would
    # `gridflow publish`
    (req,) = requests(world.store)
    runs = world.instance.get_run_records(dg.RunsFilter(tags={"dagster/run_key": req.run_key}))
    assert len(runs) == 1 and runs[0].dagster_run.is_success
    assert "0 run(s) done, 0 failed, 1 decision(s) published before" in _main(capsys, "publish")[1]

    # no PII-tagged column, and no value of one, anywhere in external/
    pii = {c.name for t in TABLES.values() for c in t.columns if c.pii}
    values = set()
    for key in (
        "silver/service_points",
        "gold/dim_service_point",
        "silver/meters",
        "gold/fact_bills",
    ):
        frame = world.store.read_pl(key, "IESCO", MONTH)
        for col in frame.columns if frame is not None else []:
            if TABLES[key].column(col).pii and frame[col].dtype == pl.String:
                values |= {v for v in frame[col].drop_nulls().to_list() if len(v) > 3}
    assert values and any("IESCO:" in v for v in values)  # ids, names, addresses, CNICs
    for name in EXTERNAL:
        frame = _external(world, name)
        assert not pii & set(frame.columns), name
        for col in frame.columns:
            if frame[col].dtype == pl.String:
                assert not values & set(frame[col].drop_nulls().to_list()), (name, col)
    daily = _external(world, "usage_daily")
    keys = set(daily["service_point_key"])
    assert daily["district"].null_count() < len(daily)  # aggregated geography kept
    files = _green_button(world)
    assert files and {f.removesuffix(".xml") for f in files} <= keys
    event = world.instance.get_latest_materialization_event(
        dg.AssetKey(["external", "green_button"])
    )
    meta = event.asset_materialization.metadata
    assert meta["files"].value == len(files) and meta["approved_by"].value == "Ana"


def test_green_button_export_of_an_approved_partition(world, capsys):
    key = _green_button(world)[0].removesuffix(".xml")
    code, out, _ = _main(
        capsys,
        "export",
        "green-button",
        "--utility",
        "IESCO",
        "--month",
        MONTH,
        "--service-point",
        key,
        "--out",
        str(world.dirs["gb"]),
    )
    assert code == 0 and "1 Green Button file(s) of IESCO 2025-06 (approved by Ana)" in out
    assert [p.name for p in world.dirs["gb"].iterdir()] == [f"{key}.xml"]


def test_sent_back_partitions_are_withdrawn(world, capsys):
    published = world.store.version("external/usage_daily")
    back = ("signoff", "send-back", "IESCO", MONTH, "--by", "Ana", "--reason", "tariff wrong")
    assert _main(capsys, *back)[0] == 0
    defs = build_defs()
    sensor = defs.get_sensor_def(PUBLISH_SENSOR)
    paths = {"paths": defs.resources["paths"]}
    with dg.build_sensor_context(
        instance=world.instance, definitions=defs, resources=paths
    ) as context:
        tick = sensor.evaluate_tick(context)
    (req,) = tick.run_requests
    assert req.job_name == "withdraw_job" and req.run_key.startswith("withdraw:IESCO/2025-06@")
    code, out, _ = _main(capsys, "publish")
    assert code == 0 and "1 run(s) done" in out
    for name in EXTERNAL:
        assert _partitions(world, name) == set(), name
    assert _green_button(world) == []
    gone = world.instance.get_latest_materialization_event(
        dg.AssetKey(["external", "green_button"])
    )
    assert gone.asset_materialization.metadata["withdrawn"].value is True
    # one commit per table took the partition out
    assert world.store.version("external/usage_daily") == published + 1
    history = world.store.history("external/usage_daily", "IESCO", MONTH)
    assert json.loads(json.dumps(history[0], default=str))["rows_added"] in (0, "0")
    with dg.build_sensor_context(
        instance=world.instance, definitions=defs, cursor=tick.cursor, resources=paths
    ) as context:
        again = sensor.evaluate_tick(context)
    assert again.run_requests == [] and "no new decision" in again.skip_message
