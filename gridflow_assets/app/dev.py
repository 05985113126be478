"""``make dev``: the Dagster UI and daemon on the instance bound to the warehouse.

Dagster 1.13 marks ``dagster dev`` as superseded by ``dg dev``, which lives in
``dagster-dg-cli`` (about 30 more packages: a Dagster+ cloud client, git and GitHub clients,
cryptography) and expects the project laid out for ``dg``. Both only start Dagster's two
long-running services, which the pinned packages ship as their own supported commands:
``dagster-webserver`` (the UI, bound to 127.0.0.1) and ``dagster-daemon run`` (sensors,
schedules, the run queue). This starts both, stops both on Ctrl-C, and stops the other
when one exits.

Runs the daemon launches print INFO and above (the instance's ``python_logs`` level in
``dagster.yaml``), not every DEBUG event.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from gridflow_assets.defs.instance import open_home
from gridflow_assets.store.settings import HOME_ENV, BindingError, default_path

WORKSPACE = "workspace.yaml"


def commands(host: str, port: int, workspace: str = WORKSPACE) -> list[list[str]]:
    """The two services, from the same environment as this interpreter."""
    bin_dir = Path(sys.executable).parent
    return [
        # The daemon reloads its code server every minute and logs a WARNING as the old
        # one stops ("no heartbeat"): routine, so its code servers log errors only.
        [
            str(bin_dir / "dagster-daemon"),
            "run",
            "-w",
            workspace,
            "--code-server-log-level",
            "error",
        ],
        [str(bin_dir / "dagster-webserver"), "-h", host, "-p", str(port), "-w", workspace],
    ]


def serve(host: str, port: int) -> int:
    warehouse = default_path("warehouse")
    try:
        home = open_home(warehouse, record=True)
    except BindingError as exc:
        print(f"make dev: {exc}", file=sys.stderr)
        return 2
    env = {**os.environ, HOME_ENV: str(home)}
    print(f"Dagster UI on http://{host}:{port} · instance {home} · warehouse {warehouse}")
    procs = [subprocess.Popen(cmd, env=env) for cmd in commands(host, port)]
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass  # Ctrl-C reached both services too: they shut down on their own
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    return max(p.returncode or 0 for p in procs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make dev", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    args = p.parse_args(argv)
    return serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
