"""The DQ snapshot in the format asked for: ``text``, ``markdown``, ``json`` (docs/architecture.md)
or ``html`` (the dashboard). Each renderer reads the snapshot dict only, never the
warehouse: building the snapshot is ``dq/snapshot.py``."""

from __future__ import annotations

import json

from gridflow_assets.dq.html import render_html
from gridflow_assets.dq.markdown import markdown
from gridflow_assets.dq.text import text


def render(snapshot: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(snapshot, indent=2, default=str, ensure_ascii=False)
    if fmt == "markdown":
        return markdown(snapshot)
    if fmt == "html":
        return render_html(snapshot)
    return text(snapshot)
