"""Headless Chromium for the tests that look at a page the way a person does (the DQ
dashboard, Dagster's own UI): the DOM after scripts ran, and a PNG screenshot.

Debian's ``chromium`` (``.ci/run`` installs it); tests that need it are skipped, not failed,
where it is absent (``needs_chromium``). Each call starts a fresh profile, with the
background services off: this network refuses their connections.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="chromium not installed (apt-get install -y chromium)"
)


def render(
    url: str,
    screenshot: Path,
    window_size: str = "1400,2400",
    virtual_time_ms: int | None = None,
    timeout: float = 90,
) -> str:
    """The DOM of ``url`` (``--dump-dom``) and a screenshot of the same page, at
    ``window_size``, written to ``screenshot``: one browser start for both.

    ``virtual_time_ms``: let the page's scripts and requests run that long (virtual time)
    before the DOM is dumped or the picture taken; a single-page app needs it to fetch its
    data and render."""
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=screenshot.parent))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    if virtual_time_ms:
        flags.append(f"--virtual-time-budget={virtual_time_ms}")
    try:
        # One browser start for both: the DOM is dumped, then the same page photographed.
        dom = subprocess.run(
            [
                str(CHROMIUM),
                *flags,
                f"--window-size={window_size}",
                "--dump-dom",
                f"--screenshot={screenshot}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return dom
