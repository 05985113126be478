"""What the terminal shows while ``gridflow`` works: a progress bar per partition with
readings per second (rich), lines printed above the bars, and the warnings nobody can act
on kept off the console.

rich draws the bars only when stdout is a terminal: piped or in CI, the same calls print
the plain lines alone, with no cursor movement or colour codes. Free of Dagster, so
``gridflow generate`` starts fast.
"""

from __future__ import annotations

import time
import warnings
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

# Libraries whose deprecation notices are about their own next releases, not about
# anything a gridflow user does (pinned versions; the maintainers follow them up).
_LIBRARY_NOISE = r"(pandas|pyarrow|polars|pandera)(\.|$)"


def quiet_library_warnings() -> None:
    """Keep pandas/pyarrow/polars/pandera deprecation and future-change notices off the
    console (each by category and issuing module; every other warning still shows)."""
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module=_LIBRARY_NOISE)


class Bars:
    """One progress bar per partition: steps done, readings landed and readings/s."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.progress = Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[figures]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )
        self._tasks: dict[str, tuple[int, float, int | None]] = {}

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def line(self, text: str = "") -> None:
        """A line of output, above the bars on a terminal, plain anywhere else."""
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def add(self, name: str, total: int, figures: str = "waiting", start: bool = True) -> None:
        """A bar for ``name``; ``start=False``: its clock starts with ``begin``."""
        task = self.progress.add_task(name, total=total, figures=figures, start=start)
        self._tasks[name] = (task, time.perf_counter(), None)

    def begin(self, name: str, figures: str = "") -> None:
        task, _, known = self._tasks[name]
        self._tasks[name] = (task, time.perf_counter(), known)
        self.progress.start_task(task)
        self.progress.update(task, figures=figures)

    def advance(self, name: str, readings: int | None = None, steps: int = 1) -> None:
        """``steps`` more done; ``readings``, once known, gives the rate since the start."""
        task, started, known = self._tasks[name]
        known = readings if readings is not None else known
        self._tasks[name] = (task, started, known)
        self.progress.update(task, advance=steps, figures=rate_text(known, started))

    def done(self, name: str) -> None:
        task, _, _ = self._tasks.pop(name)
        self.progress.remove_task(task)


def rate_text(readings: int | None, started: float) -> str:
    if readings is None:
        return ""
    seconds = max(time.perf_counter() - started, 1e-9)
    return f"{readings:,} readings · {readings / seconds:,.0f} readings/s"
