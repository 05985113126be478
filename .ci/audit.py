"""Audit the installed dependency set (the effective lock: `pip freeze` of .venv) for known
vulnerabilities with pip-audit.

Exit 1 when a vulnerability is found. When no vulnerability service can be reached (this
workplace reaches package indexes only), pip-audit marks every package "could not be
audited": that is reported loudly as an audit NOT performed, not as a pass, and exits 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AUDIT_VENV = ROOT / ".venv-audit"


def main() -> int:
    pip_audit = AUDIT_VENV / "bin" / "pip-audit"
    if not pip_audit.exists():
        subprocess.run([sys.executable, "-m", "venv", str(AUDIT_VENV)], check=True)
        subprocess.run(
            [str(AUDIT_VENV / "bin" / "pip"), "install", "--quiet", "pip-audit>=2.7,<3"], check=True
        )
    frozen = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "pip"), "freeze", "--exclude-editable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.TemporaryDirectory() as tmp:
        req, out = Path(tmp) / "requirements.txt", Path(tmp) / "audit.json"
        req.write_text(frozen)
        subprocess.run(
            [
                str(pip_audit),
                "-r",
                str(req),
                "--no-deps",
                "--disable-pip",
                "--format",
                "json",
                "--output",
                str(out),
            ],
            check=False,
            capture_output=True,
        )
        if not out.exists():
            print("dependency audit NOT performed: pip-audit produced no report")
            return 0
        deps = json.loads(out.read_text())["dependencies"]
    code, lines = verdict(deps)
    print("\n".join(lines))
    return code


def verdict(deps: list[dict]) -> tuple[int, list[str]]:
    """Exit code and report lines for pip-audit's JSON ``dependencies``."""
    vulns = [(d["name"], d.get("version", "?"), v["id"]) for d in deps for v in d.get("vulns", [])]
    skipped = [d["name"] for d in deps if "skip_reason" in d]
    lines = [f"VULNERABLE {name} {version}: {vid}" for name, version, vid in vulns]
    if vulns:
        return 1, lines
    if len(skipped) == len(deps):
        return 0, [
            f"dependency audit NOT performed: none of the {len(deps)} packages could "
            "be audited (no vulnerability service reachable from this machine)"
        ]
    return 0, [
        f"dependency audit: {len(deps) - len(skipped)} packages audited, no known "
        f"vulnerability; {len(skipped)} could not be audited"
    ]


if __name__ == "__main__":
    sys.exit(main())
