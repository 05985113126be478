"""The bench's processes: a function run in a fresh spawned process (none of the bench's
memory), peak resident memory, and a sampler of this process's resident memory."""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
import time
import traceback
from collections.abc import Callable


def peak_rss_mib() -> float:
    """The largest resident size of this process or of any worker process it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, workers) / 1024  # Linux reports KiB


class RssSampler:
    """Samples the process's resident memory every ``every`` seconds on a thread, so that
    each stage's peak can be read off afterwards from the steps' start and end times (the
    in-process executor runs one step at a time)."""

    def __init__(self, every: float = 0.02):
        self.every, self.samples = every, []
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss_mib(self) -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._rss_mib()))
            self._stop.wait(self.every)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float, end: float) -> float:
        inside = [m for t, m in self.samples if start <= t <= end]
        return max(inside, default=0.0)


def in_child(fn: Callable, *args):
    """``fn(*args)`` in a fresh spawned process (none of this one's memory), its result back;
    the child's error is raised here with its traceback."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(send, fn, args))
    child.start()
    send.close()
    try:
        ok, value = receive.recv()
    except EOFError:
        ok, value = False, "the child process died without a result"
    except BaseException:  # interrupted or terminated: the child goes too
        child.kill()
        raise
    child.join()
    if not ok:
        raise SystemExit(f"{getattr(fn, '__name__', fn)} failed in its process:\n{value}")
    return value


def _child_main(send, fn: Callable, args: tuple) -> None:
    try:
        send.send((True, fn(*args)))
    except Exception:
        send.send((False, traceback.format_exc()))
        raise  # and the child exits with an error
