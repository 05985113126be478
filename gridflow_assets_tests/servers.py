"""Server processes a test starts: on 127.0.0.1, each in its own process group, always
stopped (with everything it started) when the test ends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Self


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _default_signals() -> None:
    """Signals as a terminal gives them: a process started in the background from a script
    inherits SIGINT ignored, and would not stop on it."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


class Service:
    """A command run in a new session (its own process group), output to ``log``.

    ``stop`` signals the whole group (SIGINT, then SIGTERM, then SIGKILL), so processes it
    started (run workers of a code server) end with it. Use as a context manager.
    """

    def __init__(self, name: str, cmd: list[str], env: dict, log: Path):
        self.name, self.log = name, log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_default_signals,  # noqa: PLW1509 (the child has no threads yet)
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def tail(self, chars: int = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ({self.log}), last {chars} characters:\n{text[-chars:]}"

    def assert_alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}\n{self.tail()}")

    def wait_for_port(self, port: int, timeout: float) -> None:
        """Until something accepts connections on 127.0.0.1:``port``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive()
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.5)
        raise AssertionError(
            f"{self.name} did not listen on port {port} in {timeout} s\n{self.tail()}"
        )

    def stop(self) -> None:
        """Signal the group until it is gone (the group outlives its leader: processes the
        leader started may still be ending after it exited)."""
        for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            if _gone(self.proc, wait):
                break
        assert self.proc.poll() is not None and not _group_alive(self.proc.pid), (
            f"{self.name} did not stop"
        )


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _gone(proc: subprocess.Popen, timeout: float) -> bool:
    """Whether the leader has exited and its whole group is gone within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None and not _group_alive(proc.pid):
            return True
        time.sleep(0.2)
    return False
