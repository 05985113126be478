"""What one asset check is before Dagster sees it: a name starting with its kind, a declared
severity, a description, the tables it reads besides its own, and the rule it runs on the
partition. The factory turns plans into Dagster check specs and evaluations; the modules of
checks that only some tables have (``reconcile``, ``vee``) declare theirs with these too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

from gridflow_assets.checks.rules import RuleResult
from gridflow_assets.registry.model import Table
from gridflow_assets.warehouse import Warehouse

WARN = dg.AssetCheckSeverity.WARN
ERROR = dg.AssetCheckSeverity.ERROR


@dataclass
class CheckInput:
    store: Warehouse
    spec: Table
    df: pl.DataFrame
    utility: str | None
    month: str | None
    memo: dict = field(default_factory=dict)  # values several checks derive from df
    # tables the same step has just written for this partition, by key, as stored: a check
    # reading one of them takes it from memory rather than reading the file back
    published: dict[str, pl.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckPlan:
    name: str
    kind: str
    severity: dg.AssetCheckSeverity
    description: str
    run: Callable[[CheckInput], RuleResult]
    deps: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        return self.severity == ERROR


def same_partition(
    inp: CheckInput, key: str, columns: list[str] | None = None
) -> pl.DataFrame | None:
    """Another table's partition of the same utility and month (None when not written):
    from memory when the same step has just written it (the frame as stored), else read."""
    frame = inp.published.get(key)
    if frame is not None:
        return frame if columns is None else frame.select(columns)
    return inp.store.read_pl(key, inp.utility, inp.month, columns=columns)
