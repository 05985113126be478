"""The checks in Dagster's own UI after real runs: a partition run evaluates every table's
checks inside its layer step (``checks.factory.report_checks``) instead of in check steps,
and the UI must still show each table's checks per partition, with the status and severity
each evaluation had.

One small warehouse on a persistent SQLite instance (as ``gridflow run`` and ``make dev``
use): the crafted NY drops (UTILITY1, UTILITY2) and a 12-meter IESCO month with realistic
faults (its ``silver/payments`` fails ``reconcile__payments``, a WARN check), run by the
runner behind ``gridflow run``. Then ``dagster-webserver`` on that instance, asked what the
UI asks (the UI's GraphQL queries ``AssetChecksQuery`` and ``AssetCheckDetailsQuery``), and
the asset's Checks page rendered in headless Chromium (skipped without Chromium; the
GraphQL part does not need it).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest

from gridflow_assets.app.runner import run_drops
from gridflow_assets.checks.factory import plans_for
from gridflow_assets.defs.instance import ensure_instance_yaml
from gridflow_assets.dq import assess
from gridflow_assets.dq.history import check_history
from gridflow_assets.dq.refresh import build_snapshot
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.registry import table
from gridflow_assets.registry.partitions import partition_key
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets_tests.browser import needs_chromium, render
from gridflow_assets_tests.crafted import land_utility1, land_utility2

MONTH = "2025-03"
STATUS = {True: "SUCCEEDED", False: "FAILED"}  # an evaluation's `passed` as the UI reads it

# What the Checks page asks for (the UI's AssetChecksQuery, reduced to what is asserted).
CHECKS_QUERY = """
query($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    __typename
    ... on AssetNode {
      assetChecksOrError {
        __typename
        ... on AssetChecks {
          checks {
            name
            blocking
            partitionDefinition { description }
            executionForLatestMaterialization { status partition evaluation { severity } }
            partitionStatuses {
              ... on AssetCheckMultiPartitionStatuses {
                ranges {
                  primaryDimStartKey
                  primaryDimEndKey
                  secondaryDim {
                    ... on AssetCheckDefaultPartitionStatuses {
                      succeededPartitions failedPartitions executionFailedPartitions
                      inProgressPartitions skippedPartitions
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}"""

# A check's executions (the UI's AssetCheckDetailsQuery: Execution history and the
# Partitions tab), one alias per check and partition.
EXECUTION = """
  {alias}: assetCheckExecutions(assetKey: {{path: {path}}}, checkName: "{check}",
                                partition: "{partition}", limit: 1) {{
    status partition stepKey
    evaluation {{ success severity partition description }}
  }}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _default_signals() -> None:
    """The webserver's signals as a terminal gives them: a process started in the
    background from a script inherits SIGINT ignored, and would not stop on it."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


class Webserver:
    """``dagster-webserver`` on the test instance, in its own process group."""

    def __init__(self, dirs: dict[str, Path], log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DAGSTER_HOME": str(dirs["home"]),
            "GRIDFLOW_LANDING": str(dirs["landing"]),
            "GRIDFLOW_WAREHOUSE": str(dirs["warehouse"]),
            "GRIDFLOW_REPORTS": str(dirs["reports"]),
        }
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dagster_webserver",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-m",
                    "gridflow_assets.defs.definitions",
                    "--read-only",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_default_signals,  # noqa: PLW1509 (the child has no threads yet)
            )

    def gql(self, query: str, variables: dict | None = None) -> dict:
        req = urllib.request.Request(
            f"{self.url}/graphql",
            json.dumps({"query": query, "variables": variables or {}}).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = json.load(resp)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def wait_ready(self, timeout: float = 90) -> float:
        """Seconds until the code location answers (the asset graph is loaded)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster-webserver exited:\n{self.log.read_text()[-3000:]}")
            try:
                node = self.gql(CHECKS_QUERY, {"assetKey": {"path": ["silver", "intervals"]}})
                if node["assetNodeOrError"]["__typename"] == "AssetNode":
                    return time.monotonic() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"dagster-webserver did not answer:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(wait)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
        assert self.proc.poll() is not None


def _evaluations(instance: dg.DagsterInstance) -> dict[tuple[str, str, str], SimpleNamespace]:
    """The latest check evaluation the runs logged, by (asset, check, partition or "")."""
    latest = {}
    for record in instance.get_run_records():
        for rec in instance.get_records_for_run(
            record.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records:
            entry = rec.event_log_entry
            ev = entry.dagster_event.event_specific_data
            key = (ev.asset_key.to_user_string(), ev.check_name, ev.partition or "")
            if key not in latest or latest[key].timestamp < entry.timestamp:
                latest[key] = SimpleNamespace(
                    timestamp=entry.timestamp,
                    passed=ev.passed,
                    severity=ev.severity.value,
                    step=entry.step_key,
                )
    return latest


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    dirs = {name: root / name for name in ("landing", "warehouse", "reports", "home")}
    for d in dirs.values():
        d.mkdir()
    land_utility1(dirs["landing"])
    land_utility2(dirs["landing"])
    generate_iesco(dirs["landing"], [MONTH], meters=12, seed=7, faults="realistic")
    yaml = ensure_instance_yaml(dirs["home"])
    # Dagster's "join the community" dialog would cover the page in the screenshots.
    yaml.write_text(yaml.read_text() + "nux:\n  enabled: false\n")
    started = time.monotonic()
    with dg.DagsterInstance.from_config(str(dirs["home"])) as instance:
        outcome = run_drops(
            instance, str(dirs["landing"]), str(dirs["warehouse"]), out=lambda _: None
        )
        evaluations = _evaluations(instance)
    run_seconds = time.monotonic() - started
    assert outcome.ok and len(outcome.partitions) == 3, outcome
    server = Webserver(dirs, root / "webserver.log")
    try:
        ready = server.wait_ready()
        yield SimpleNamespace(
            server=server,
            evaluations=evaluations,
            dirs=dirs,
            run_seconds=run_seconds,
            ready_seconds=ready,
        )
    finally:
        server.stop()


def _checks(server: Webserver, key: str) -> dict[str, dict]:
    data = server.gql(CHECKS_QUERY, {"assetKey": {"path": key.split("/")}})
    checks = data["assetNodeOrError"]["assetChecksOrError"]
    assert checks["__typename"] == "AssetChecks", checks
    return {c["name"]: c for c in checks["checks"]}


def _executions(server: Webserver, key: str, pairs: list[tuple[str, str]]) -> dict:
    """The latest execution of each (check, partition) of asset ``key``, in one request."""
    path = json.dumps(key.split("/"))
    fields = "".join(
        EXECUTION.format(alias=f"e{i}", path=path, check=check, partition=partition)
        for i, (check, partition) in enumerate(pairs)
    )
    data = server.gql("query {" + fields + "\n}")
    return {pair: data[f"e{i}"] for i, pair in enumerate(pairs)}


def _partition_statuses(check: dict) -> dict[str, str]:
    """The per-partition status the Partitions tab shows, by partition key."""
    out = {}
    for rng in (check["partitionStatuses"] or {}).get("ranges", []):
        assert rng["primaryDimStartKey"] == rng["primaryDimEndKey"] == MONTH
        for field, keys in rng["secondaryDim"].items():
            status = field.removesuffix("Partitions")
            out.update({f"{MONTH}|{utility}": status for utility in keys})
    return out


def test_the_runs_evaluated_checks_of_every_layer_in_their_layer_steps(ui):
    layers = {key.split("/")[0] for key, _, _ in ui.evaluations}
    assert {"bronze", "silver", "gold", "experience"} <= layers
    steps = {e.step for (key, _, part), e in ui.evaluations.items() if part}
    assert steps == {"bronze_tables", "silver_tables", "gold_tables", "experience_tables"}
    assert ui.ready_seconds < 60


@pytest.mark.parametrize(
    "key, utility", [("silver/intervals", "UTILITY1"), ("silver/payments", "IESCO")]
)
def test_asset_lists_every_planned_check_with_this_partitions_result(ui, key, utility):
    """The example of the issue, spelled out: the Checks page of the asset lists every
    check the factory plans for the table, and each has an execution for the partition
    with the status and severity the run evaluated."""
    partition = partition_key(utility, MONTH)
    planned = {p.name: p for p in plans_for(table(key))}
    checks = _checks(ui.server, key)
    assert set(checks) == set(planned)
    runs = _executions(ui.server, key, [(name, partition) for name in planned])
    for name, plan in planned.items():
        evaluated = ui.evaluations[(key, name, partition)]
        shown = runs[(name, partition)]
        assert len(shown) == 1, (name, shown)
        shown = shown[0]
        assert shown["partition"] == partition and shown["stepKey"] == f"{key.split('/')[0]}_tables"
        assert shown["status"] == STATUS[evaluated.passed], name
        assert shown["evaluation"]["severity"] == evaluated.severity, name
        assert shown["evaluation"]["description"] == plan.description
        assert checks[name]["blocking"] == plan.blocking
        assert checks[name]["partitionDefinition"] is not None
        assert _partition_statuses(checks[name])[partition] == (
            "succeeded" if evaluated.passed else "failed"
        )


def test_payments_fault_is_a_failed_warn_check(ui):
    """The faulty IESCO month: a failed WARN check, as the UI reads it."""
    shown = _executions(
        ui.server, "silver/payments", [("reconcile__payments", partition_key("IESCO", MONTH))]
    )
    (execution,) = next(iter(shown.values()))
    assert execution["status"] == "FAILED"
    assert execution["evaluation"]["success"] is False
    assert execution["evaluation"]["severity"] == "WARN"


def test_every_evaluation_of_every_partition_is_in_the_ui(ui):
    """Not only the two examples: every check evaluation the runs logged is, in the UI, the
    latest execution of its check for its partition, with its status and severity; and
    every asset lists exactly the checks the factory plans for it."""
    by_asset: dict[str, list] = {}
    for (key, check, partition), ev in ui.evaluations.items():
        by_asset.setdefault(key, []).append(((check, partition), ev))
    assert len(by_asset) > 20
    for key, items in sorted(by_asset.items()):
        assert set(_checks(ui.server, key)) == {p.name for p in plans_for(table(key))}, key
        shown = _executions(ui.server, key, [pair for pair, _ in items])
        for pair, ev in items:
            assert [(e["status"], e["evaluation"]["severity"]) for e in shown[pair]] == [
                (STATUS[ev.passed], ev.severity)
            ], (key, pair)


def test_no_check_is_left_skipped_or_in_progress(ui):
    """A table a utility does not deliver (NY: no bills, no payments) has no check results
    for that partition, rather than planned-and-skipped ones: the UI counts a check with
    any skipped partition as not passed ("0 / 6 Passed"), and a WARN check failed in
    another partition turns red, as its latest execution then has no severity."""
    for key in sorted({key for key, _, _ in ui.evaluations}):
        for name, check in _checks(ui.server, key).items():
            statuses = set(_partition_statuses(check).values())
            assert statuses <= {"succeeded", "failed"}, (key, name, statuses)
            latest = check["executionForLatestMaterialization"]
            if statuses:
                assert latest["evaluation"]["severity"] in ("WARN", "ERROR"), (key, name)
    payments = _checks(ui.server, "silver/payments")
    assert {part for check in payments.values() for part in _partition_statuses(check)} == {
        partition_key("IESCO", MONTH)
    }


def _ui_status(check: dict) -> str:
    """The status Dagster 1.13's UI gives a partitioned check in the Checks list, its status
    tag and the asset's "N / M Passed" (ui-core's aggregate check status, read in
    dagster-webserver 1.13.27's bundle): if any partition failed, "WARN" (yellow
    warning_outline) or "ERROR" (red cancel) by the severity of the check's
    ``executionForLatestMaterialization``, and ERROR when that is null; else in progress,
    skipped, succeeded, not evaluated. Only SUCCEEDED counts as passed."""
    stats: dict[str, int] = {}
    for rng in (check["partitionStatuses"] or {}).get("ranges", []):
        for field, keys in rng["secondaryDim"].items():
            stats[field] = stats.get(field, 0) + len(keys)
    latest = check["executionForLatestMaterialization"]
    warn = ((latest or {}).get("evaluation") or {}).get("severity") == "WARN"
    if not any(stats.values()):  # not partitioned (or no partition evaluated): the latest
        status = (latest or {}).get("status", "NOT_EVALUATED")
        if status == "FAILED":
            return "WARN" if warn else "ERROR"
        return "ERROR" if status == "EXECUTION_FAILED" else status
    if stats.get("failedPartitions") or stats.get("executionFailedPartitions"):
        return "WARN" if warn else "ERROR"
    for field, status in (
        ("inProgressPartitions", "IN_PROGRESS"),
        ("skippedPartitions", "SKIPPED"),
        ("succeededPartitions", "SUCCEEDED"),
    ):
        if stats.get(field):
            return status
    raise AssertionError(stats)


def test_severities_read_right_in_the_ui(ui):
    """Issue 15's example: silver/payments' reconcile__payments, a WARN check failed in the
    IESCO month, reads as a warning (yellow), not as a red failure, and the asset passes
    every other check ("5 / 6 Passed", not "0 / 6"). For every asset: a check failed only
    with WARN reads WARN, only with ERROR reads ERROR, a check that never failed reads
    SUCCEEDED, and the asset's passed count is the checks that never failed. That needs
    every evaluation to carry its severity and to target the materialization of its
    partition (else ``executionForLatestMaterialization`` is null and the UI paints red),
    and no partition left skipped (a skipped partition is not passed)."""
    payments = _checks(ui.server, "silver/payments")
    assert _ui_status(payments["reconcile__payments"]) == "WARN"
    statuses = [_ui_status(c) for c in payments.values()]
    assert statuses.count("SUCCEEDED") == len(payments) - 1
    for key in sorted({key for key, _, _ in ui.evaluations}):
        checks = _checks(ui.server, key)
        for name, check in checks.items():
            failed = {
                ev.severity
                for (k, c, _), ev in ui.evaluations.items()
                if (k, c) == (key, name) and not ev.passed
            }
            if len(failed) == 1:  # (a check failed WARN here and ERROR there reads either)
                assert _ui_status(check) == failed.pop(), (key, name)
            elif not failed:
                assert _ui_status(check) == "SUCCEEDED", (key, name)
            assert check["executionForLatestMaterialization"]["evaluation"]["severity"], key
        never_failed = {
            name
            for name in checks
            if all(ev.passed for (k, c, _), ev in ui.evaluations.items() if (k, c) == (key, name))
        }
        passed = {name for name, check in checks.items() if _ui_status(check) == "SUCCEEDED"}
        assert passed == never_failed, key


def test_the_stewards_snapshot_of_the_same_runs_names_the_vee_rules_that_fired(ui):
    """The generated IESCO month (realistic faults) fails ``vee__validation``: its ticket line
    names every validation rule the check counted, with its count; and the snapshot ranks
    the crafted New York months (conflicting duplicates, rejects, orphans in a few rows)
    before it."""
    with dg.DagsterInstance.from_config(str(ui.dirs["home"])) as instance:
        snap = build_snapshot(Warehouse(ui.dirs["warehouse"]), check_history(instance))
    card = next(c for c in snap["scorecard"] if c["utility"] == "IESCO")
    by_rule = card["vee"]["by_rule"]
    fired = {r: n for r, n in by_rule.items() if n and r in assess.VEE_RULES}
    assert fired, by_rule
    (line,) = [t for t in card["utility_issues"] if "vee__validation" in t]
    for rule, n in fired.items():
        assert f"{rule} {n:,} {assess.VEE_RULES[rule]}" in line, (rule, line)
    assert [r["utility"] for r in snap["ranking"]][-1] == "IESCO"


def _check_rows(dom: str) -> dict[str, tuple[str, str]]:
    """The Checks page's list of checks: name → (status icon, status text)."""
    rows = re.findall(
        r'aria-label="([a-z_]+)"[^>]*></div></div><span[^>]*>'
        r'<div class="MiddleTruncate_container[^"]*" title="([^"]+)">.*?'
        r"text-transform: capitalize[^>]*>([^<]+)</span>",
        dom,
    )
    return {name: (icon, text) for icon, name, text in rows}


@needs_chromium
@pytest.mark.parametrize(
    "key, selected",
    [("silver/intervals", "vee__coverage"), ("silver/payments", "reconcile__payments")],
)
def test_checks_page_in_headless_chromium(ui, tmp_path, key, selected):
    """The Checks page as a person sees it (route: assetDetailsPathForAssetCheck in the UI,
    ``/assets/<key>?view=checks&checkDetail=<check>``): every planned check listed with
    the status of its partitions (any partition failed → Failed), the selected check's
    latest execution with its partition. Screenshot in pytest's tmp dir."""
    url = f"{ui.server.url}/assets/{key}?view=checks&checkDetail={selected}"
    shot = tmp_path / f"{key.replace('/', '_')}_checks.png"
    dom = render(url, shot, window_size="1600,1200", virtual_time_ms=15_000)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    rows = _check_rows(dom)
    planned = [p.name for p in plans_for(table(key))]
    assert sorted(rows) == sorted(planned)
    for name in planned:
        results = [ev for (k, check, _), ev in ui.evaluations.items() if (k, check) == (key, name)]
        failed = [ev for ev in results if not ev.passed]
        icon, text = rows[name]
        assert text == ("Failed" if failed else "Succeeded"), name
        if not failed:
            assert icon == "check_circle", name
        elif all(ev.severity == "WARN" for ev in results):
            assert icon == "warning_outline", name  # yellow; the text still says "Failed"
    assert f"Checks ({len(planned)})" in dom and "Latest execution" in dom
    # "Latest execution" is the selected check's latest over all partitions (the page has no
    # partition parameter: each partition's result is on the check's Partitions tab).
    latest = max(
        (
            (ev.timestamp, part)
            for (k, check, part), ev in ui.evaluations.items()
            if (k, check) == (key, selected)
        )
    )[1]
    assert latest in dom
    assert "Join the Dagster community" not in dom
