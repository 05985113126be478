"""What a ``gridflow run`` did, partition by partition: the outcomes the runner returns,
the watcher it tells as runs go, and the one line a partition's summary is. Plain data:
the report and the terminal read it without loading the Dagster definitions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gridflow_assets.defs.failures import BLOCKED, Failure
from gridflow_assets.domain.accounting import ACCOUNTING_KEYS, unaccounted


@dataclass
class PartitionOutcome:
    utility: str
    month: str
    ok: bool
    seconds: float
    message: str = ""
    run_id: str | None = None
    own_seconds: float | None = None  # inside gridflow's step code (the rest is Dagster's)
    failure: Failure | None = None
    # The readings' row accounting (bronze/readings → silver/intervals), in the words of
    # docs/accounting.md (``ACCOUNTING_KEYS``, the equation: ``domain.accounting``)
    landed: int = 0  # rows of bronze/readings
    kept: int = 0  # delivered readings in silver/intervals (not VEE's estimates)
    duplicates_exact: int = 0  # silver/rejects, category duplicate_exact
    duplicates_conflicting: int = 0  # silver/rejects, category duplicate_conflicting
    rejected: int = 0  # silver/rejects, category rejected (with a reason code)
    estimated: int = 0  # readings VEE added: not landed, not in the equation
    # other silver tables' accounting (``dq.profile.accounting`` rows), never in the above
    other_tables: list[dict] = field(default_factory=list)
    warn_failed: int = 0  # failing WARN checks
    error_failed: int = 0  # failing ERROR checks

    @property
    def name(self) -> str:
        return f"{self.utility}/{self.month}"

    @property
    def unaccounted(self) -> int:
        """The readings' accounting gap (``domain.accounting.unaccounted``): 0 when they
        reconcile."""
        return unaccounted({key: getattr(self, key) for key in ACCOUNTING_KEYS})

    @property
    def status(self) -> str:
        """ok, warnings, blocked (a blocking check failed) or failed (no result)."""
        if (self.failure is not None and self.failure.kind == BLOCKED) or self.error_failed:
            return "blocked"
        if not self.ok:
            return "failed"
        return "warnings" if self.warn_failed else "ok"


@dataclass
class RunOutcome:
    partitions: list[PartitionOutcome] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    refreshed: bool = False  # the DQ tables describe this run
    refresh_failure: str = ""
    log: Path | None = None

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.partitions)


class Watcher(Protocol):
    """Told how each partition run goes (the terminal draws it as progress bars)."""

    def queued(self, name: str, steps: int) -> None: ...

    def started(self, name: str) -> None: ...

    def advanced(self, name: str, readings: int | None) -> None: ...

    def finished(self, outcome: PartitionOutcome) -> None: ...


class NoWatcher:
    def queued(self, name: str, steps: int) -> None:
        pass

    def started(self, name: str) -> None:
        pass

    def advanced(self, name: str, readings: int | None) -> None:
        pass

    def finished(self, outcome: PartitionOutcome) -> None:
        pass


def summary_line(out: PartitionOutcome) -> str:
    """``L readings landed, K kept · rate``: the readings' accounting in full is the closing
    table's (docs/accounting.md); a table that does not reconcile is named here."""
    rate = out.landed / out.seconds if out.seconds else 0
    line = f"{out.landed:,} readings landed, {out.kept:,} kept"
    if out.unaccounted:
        line += f", does not reconcile (off by {out.unaccounted:+,})"
    broken = [a["table"] for a in out.other_tables if not a["reconciles"]]
    if broken:
        line += f"; {', '.join(broken)} does not reconcile"
    return f"{line} · {rate:,.0f} readings/s"
