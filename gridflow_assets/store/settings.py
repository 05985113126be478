"""Where the platform's folders are: the defaults under the working directory, the
environment variables that override them, and which Dagster instance describes which
warehouse. Free of Dagster, so the CLI reads them without loading the orchestration."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

DEFAULTS = {"landing": "data/landing", "warehouse": "data/warehouse", "reports": "data/reports"}
ENV = {
    "landing": "GRIDFLOW_LANDING",
    "warehouse": "GRIDFLOW_WAREHOUSE",
    "reports": "GRIDFLOW_REPORTS",
}
HOME_ENV = "DAGSTER_HOME"
PROJECT_HOME = ".dagster_home"  # the instance of the default warehouse (data/warehouse)
WAREHOUSE_HOME = ".dagster_home"  # the instance kept inside any other local warehouse
BINDING_FILE = "gridflow-binding.json"


# "scheme:" at the start: a URL (s3://bucket/prefix), never a local folder of that name.
URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def is_url(location: str) -> bool:
    return bool(URL_RE.match(location))


def default_path(kind: str) -> str:
    """The environment variable if set, else the default under the working directory; a
    URL (the warehouse in object storage) as it is."""
    value = os.environ.get(ENV[kind], DEFAULTS[kind])
    return value if is_url(value) else str(Path(value).resolve())


class BindingError(ValueError):
    """The Dagster instance records the runs of another warehouse than the one asked for."""


def warehouse_id(warehouse: str) -> str:
    """How a binding names a warehouse: a URL as given, a folder as its absolute path."""
    return warehouse.rstrip("/") if is_url(warehouse) else str(Path(warehouse).resolve())


def instance_home(warehouse: str, env: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """The Dagster instance folder for ``warehouse`` and whether ``DAGSTER_HOME`` chose it.

    ``DAGSTER_HOME`` when set; else ``.dagster_home`` for the default warehouse (and for an
    object-store warehouse, which cannot hold SQLite files); else ``.dagster_home`` inside
    the warehouse folder, so that runs, check history and tables travel together.
    """
    env = os.environ if env is None else env
    if env.get(HOME_ENV):
        return Path(env[HOME_ENV]).resolve(), True
    wid = warehouse_id(warehouse)
    if is_url(wid) or wid == str(Path(DEFAULTS["warehouse"]).resolve()):
        return Path(PROJECT_HOME).resolve(), False
    return Path(wid) / WAREHOUSE_HOME, False


def bound_warehouse(home: Path) -> str | None:
    """The warehouse whose runs the instance in ``home`` records (None: not bound yet)."""
    path = Path(home) / BINDING_FILE
    return json.loads(path.read_text())["warehouse"] if path.exists() else None


def check_binding(home: Path, warehouse: str, explicit: bool, record: bool) -> None:
    """Refuse an instance that records another warehouse's runs; bind an unbound one when
    ``record`` (a run is about to write both). The UI, ``gridflow dq`` and the dashboard
    then always describe the same data."""
    wid = warehouse_id(warehouse)
    bound = bound_warehouse(home)
    if bound is not None and bound != wid:
        how = (
            f"DAGSTER_HOME={home}"
            if explicit
            else f"the instance {home} (the default for this warehouse)"
        )
        raise BindingError(
            f"{how} records the runs of warehouse {bound}, not {wid}: its UI and check "
            f"history would describe other data. Unset DAGSTER_HOME (each warehouse then "
            f"keeps its own instance) or set it to a folder of its own for {wid}."
        )
    if bound is None and record:
        Path(home).mkdir(parents=True, exist_ok=True)
        tmp = Path(home) / f"{BINDING_FILE}.tmp"
        tmp.write_text(json.dumps({"warehouse": wid}, indent=2) + "\n")
        os.replace(tmp, Path(home) / BINDING_FILE)
