"""What ``gridflow run`` prints: a line per partition as it ends, a short block for a
partition that failed (drop, file, column, row, reason, what to do, where its run is), and a
closing summary (a table of the readings' row accounting per partition, in the words of
docs/accounting.md, then partitions ok / with warnings / blocked / failed, and where to
look next).

Dagster's own log, with its stack traces, is in the run's log file (its path is printed)
or on the terminal with ``--verbose``.
"""

from __future__ import annotations

from pathlib import Path

from gridflow_assets.app.outcome import PartitionOutcome, RunOutcome
from gridflow_assets.app.terminal import Bars
from gridflow_assets.domain.accounting import ACCOUNTING_KEYS
from gridflow_assets.dq.snapshot import DASHBOARD_FILE
from gridflow_assets.dq.text import text_table

UI = "http://127.0.0.1:3000"  # `make dev` (DAGSTER_HOST, DAGSTER_PORT)
STATUSES = ("ok", "warnings", "blocked", "failed")
_MARK = {"ok": "✓", "warnings": "✓", "blocked": "✗", "failed": "✗"}


def partition_line(p: PartitionOutcome, position: str = "") -> str:
    """``[i/n] U/M ✓ seconds: figures`` (``position`` is ``[i/n]``, or "" for a drop
    rejected before any run)."""
    head = f"{position} {p.name} {_MARK[p.status]}".lstrip()
    if p.ok:
        warn = f" · {p.warn_failed} WARN check(s) failing" if p.warn_failed else ""
        return f"{head} {p.seconds:.1f}s: {p.message}{warn}"
    what = p.failure.kind if p.failure else p.status
    return f"{head} {what}" + (f" after {p.seconds:.1f}s" if p.seconds else "")


def failure_block(p: PartitionOutcome, ui: str = UI, position: str = "") -> list[str]:
    """The partition's line and, for a partition that did not finish clean of ERRORs,
    what went wrong and what to do (at most five lines)."""
    lines = [partition_line(p, position)]
    f = p.failure
    if f is None:
        return lines
    if f.where:
        lines.append(f"    where   drop {p.name}, {f.where}")
    lines.append(f"    reason  {f.reason}")
    rerun = f"`gridflow run --utility {p.utility} --month {p.month}`"
    lines.append(f"    do      {f.action}; then {rerun}")
    if p.run_id:
        lines.append(f"    run     {ui}/runs/{p.run_id} (with `make dev` up)")
    return lines


class RunView:
    """A ``runner.Watcher`` on the terminal: bars while partitions run, then their lines."""

    def __init__(self, bars: Bars) -> None:
        self.bars = bars
        self.order: list[str] = []

    def queued(self, name: str, steps: int) -> None:
        self.order.append(name)
        self.bars.add(name, steps, "waiting", start=False)

    def started(self, name: str) -> None:
        self.bars.begin(name, "reading the drop …")

    def advanced(self, name: str, readings: int | None) -> None:
        self.bars.advance(name, readings)

    def finished(self, outcome: PartitionOutcome) -> None:
        position = ""
        if outcome.name in self.order:  # a drop rejected before any run has no bar
            self.bars.done(outcome.name)
            position = f"[{self.order.index(outcome.name) + 1}/{len(self.order)}]"
        for line in failure_block(outcome, position=position):
            self.bars.line(line)


# The closing table's figures: the readings' row accounting (docs/accounting.md), then the
# failing WARN checks (a blocked partition's ERROR checks are named in its block above).
# Narrow enough for 100 columns with millions of readings a partition.
ACCOUNTING_TITLE = (
    "bronze/readings → silver/intervals: landed = kept + exact + conflicting duplicates + rejected"
)
HEAD = [
    "partition",
    "status",
    "landed",
    "kept",
    "exact",
    "conflicting",
    "rejected",
    "estimated",
    "WARN",
]
FIGURES = (*ACCOUNTING_KEYS, "estimated")


def summary_row(p: PartitionOutcome) -> list[str]:
    """A partition's row of the closing table: no figures for one that did not finish."""
    figures = [f"{getattr(p, f):,}" if p.ok else "—" for f in FIGURES]
    return [p.name, p.status, *figures, str(p.warn_failed) if p.status != "failed" else "—"]


def summary(outcome: RunOutcome, reports: str | Path) -> list[str]:
    """The closing lines: a table of the partitions, the counts by status, where next."""
    parts = outcome.partitions
    if not parts:
        return ["Nothing ran: no complete drop matched."]
    counts = {s: sum(p.status == s for p in parts) for s in STATUSES}
    dq = (
        "DQ tables refreshed"
        if outcome.refreshed
        else f"DQ tables NOT refreshed ({outcome.refresh_failure or 'nothing ran'})"
    )
    lines = [
        ACCOUNTING_TITLE,
        text_table(HEAD, [summary_row(p) for p in parts]),
        f"{len(parts)} partition(s): {counts['ok']} ok · {counts['warnings']} with warnings · "
        f"{counts['blocked']} blocked · {counts['failed']} failed. {dq}.",
        f"next    `gridflow dq` (the DQ snapshot) · {Path(reports) / DASHBOARD_FILE} · "
        f"{UI}/runs (with `make dev` up)",
    ]
    if outcome.log is not None:
        lines.append(f"log     {outcome.log} (Dagster's log and stack traces)")
    return lines
