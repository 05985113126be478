"""Where the platform's folders are: the defaults under the working directory, and the
environment variables that override them. Free of Dagster, so the CLI reads them without
loading the orchestration."""

from __future__ import annotations

import os
import re
from pathlib import Path

DEFAULTS = {"landing": "data/landing", "warehouse": "data/warehouse", "reports": "data/reports"}
ENV = {
    "landing": "GRIDFLOW_LANDING",
    "warehouse": "GRIDFLOW_WAREHOUSE",
    "reports": "GRIDFLOW_REPORTS",
}


# "scheme:" at the start: a URL (s3://bucket/prefix), never a local folder of that name.
URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def is_url(location: str) -> bool:
    return bool(URL_RE.match(location))


def default_path(kind: str) -> str:
    """The environment variable if set, else the default under the working directory; a
    URL (the warehouse in object storage) as it is."""
    value = os.environ.get(ENV[kind], DEFAULTS[kind])
    return value if is_url(value) else str(Path(value).resolve())
