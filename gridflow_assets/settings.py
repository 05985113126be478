"""Where the platform's folders are: the defaults under the working directory, and the
environment variables that override them. Free of Dagster, so the CLI reads them without
loading the orchestration."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULTS = {"landing": "data/landing", "warehouse": "data/warehouse", "reports": "data/reports"}
ENV = {
    "landing": "GRIDFLOW_LANDING",
    "warehouse": "GRIDFLOW_WAREHOUSE",
    "reports": "GRIDFLOW_REPORTS",
}


def default_path(kind: str) -> str:
    """The environment variable if set, else the default under the working directory."""
    return str(Path(os.environ.get(ENV[kind], DEFAULTS[kind])).resolve())
