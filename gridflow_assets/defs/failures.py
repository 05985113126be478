"""Why a partition run failed, in the terms a person can act on.

A failed run's events hold Dagster's error chain: the user's exception wrapped in Dagster's
step error. This module finds the one that matters and says what it means: a drop that
cannot be read (``landing.DropError``: drop, file, column, row, reason, and what to
re-deliver), blocking checks that failed (which ones, and where to read their rows), or any
other error (its class and message; the stack trace is in the run's log).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

REJECTED, BLOCKED, ERROR = "rejected", "blocked", "error"

# landing.DropError's message: "drop U/M[, file F][, column C][, row R]: reason"
_DROP_ERROR = re.compile(
    r"drop (?P<drop>[A-Z0-9_]+/\d{4}-\d{2})"
    r"(?:, file (?P<file>[^,]+?))?"
    r"(?:, column (?P<column>[^,]+?))?"
    r"(?:, row (?P<row>\d+))?"
    r": (?P<reason>.*)",
    re.DOTALL,
)
_BLOCKING = "DagsterAssetCheckFailedError"


@dataclass(frozen=True)
class Failure:
    """What went wrong in one partition run, and what to do about it."""

    kind: str  # REJECTED (the drop cannot be read), BLOCKED (a blocking check), ERROR
    reason: str
    step: str | None = None
    file: str | None = None
    column: str | None = None
    row: int | None = None
    action: str = ""

    @property
    def where(self) -> str:
        """File, column and row as far as known ("" when none is)."""
        parts = []
        if self.file:
            parts.append(f"file {self.file}")
        if self.column:
            parts.append(f"column {self.column}")
        if self.row is not None:
            parts.append("header row" if self.row == 0 else f"row {self.row}")
        return ", ".join(parts)


def parse_drop_error(message: str) -> Failure | None:
    """A ``DropError`` message as a ``Failure`` with its advice; None if it is not one."""
    m = _DROP_ERROR.search(message)
    if m is None:
        return None
    row = int(m["row"]) if m["row"] is not None else None
    file, column, reason = m["file"], m["column"], m["reason"].strip()
    return Failure(
        REJECTED,
        reason,
        file=file,
        column=column,
        row=row,
        action=drop_advice(reason, file, column),
    )


def drop_advice(reason: str, file: str | None, column: str | None) -> str:
    """What the utility (or the operator) does about an unreadable drop."""
    name = file or "the file"
    if reason.startswith("required column missing"):
        return f"re-deliver {name} with column `{column}`"
    if reason.startswith("unexpected column"):
        return f"re-deliver {name} without column `{column}` (or add it to the format)"
    if "UTF-8" in reason:
        return f"re-deliver {name} encoded as UTF-8"
    if reason.startswith("file missing"):
        return f"deliver {name} in the drop, then `_SUCCESS`"
    if reason.startswith("file is empty"):
        return f"re-deliver {name} with its header row"
    if "manifest" in reason or file == "manifest.json":
        return "re-deliver the drop so that manifest.json matches its files"
    if reason.startswith("no adapter registered"):
        return "add an adapter for the utility (docs/operations.md, onboarding a utility)"
    if reason.startswith("month"):
        return "deliver the drop under a month the platform partitions"
    return f"fix {name} and re-deliver the drop"


def blocking_failure(message: str, step: str | None, utility: str, month: str) -> Failure:
    """Blocking ERROR checks failed: Dagster's message lists ``asset: check,check``."""
    checks = [
        f"{asset.strip()} {name}"
        for line in message.splitlines()[1:]
        if ":" in line
        for asset, names in [line.split(":", 1)]
        for name in names.strip().split(",")
    ]
    return Failure(
        BLOCKED,
        "blocking check failed: " + ("; ".join(checks) or message.strip()),
        step=step,
        action=f"run `gridflow dq --utility {utility} --month {month}` for the failing rows",
    )


def failure_of(
    errors: Iterable[tuple[str | None, list[tuple[str, str]]]], utility: str, month: str
) -> Failure:
    """The failure of a run from its failed steps: ``(step, [(class name, message), …])``
    with each step's error chain outermost first."""
    for step, chain in errors:
        for cls_name, message in chain:
            if cls_name == "DropError":
                failure = parse_drop_error(message)
                if failure is not None:
                    return Failure(**{**failure.__dict__, "step": step})
            if cls_name == _BLOCKING:
                return blocking_failure(message, step, utility, month)
        cls_name, message = chain[-1] if chain else ("Error", "run failed")
        return Failure(
            ERROR,
            f"{cls_name}: {message.strip().splitlines()[0] if message.strip() else ''}",
            step=step,
            action="read the log below; `--verbose` prints it here",
        )
    return Failure(ERROR, "run failed", action="read the log below")
