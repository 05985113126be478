"""A self-contained HTML page of the snapshot (no external assets)."""

from __future__ import annotations

import html

from gridflow_assets.dq.snapshot import _markdown


def render_html(snapshot: dict) -> str:
    body = html.escape(_markdown(snapshot))
    return ("<!doctype html><html><head><meta charset='utf-8'><title>gridflow DQ</title>"
            "<style>body{font-family:sans-serif;margin:2em}pre{white-space:pre-wrap}</style>"
            f"</head><body><h1>gridflow DQ snapshot</h1><pre>{body}</pre></body></html>")
