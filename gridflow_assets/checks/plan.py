"""What one asset check is before Dagster sees it: a name starting with its kind, a declared
severity, a description, the tables it reads besides its own, and the rule it runs on the
partition. The factory turns plans into Dagster check specs and evaluations; the modules of
checks that only some tables have (``reconcile``, ``vee``) declare theirs with these too.

A plan made by ``bucket_plan`` is evaluated meter bucket by meter bucket: its ``tally``
keeps what it needs of one bucket (counts, a few sample rows, distinct keys), its
``finish`` makes the result from the tallies of every bucket once the tables it reads are
published; run on a whole frame it is the same plan over one bucket. Any other plan runs
its rule on the whole partition, so it only serves tables written whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import polars as pl

from gridflow_assets.checks.rules import RuleResult
from gridflow_assets.registry.model import Table
from gridflow_assets.store.warehouse import Warehouse

WARN = dg.AssetCheckSeverity.WARN
ERROR = dg.AssetCheckSeverity.ERROR


@dataclass
class CheckInput:
    store: Warehouse
    spec: Table
    df: pl.DataFrame | None  # the partition, or one bucket of it; None in a plan's finish
    utility: str | None
    month: str | None
    memo: dict = field(default_factory=dict)  # values several checks derive from df
    # tables the same step has just written for this partition, by key, as stored: a check
    # reading one of them takes it from memory rather than reading the file back
    published: dict[str, pl.DataFrame] = field(default_factory=dict)
    offset: int = 0  # rows of the partition before ``df`` (a bucket's first row)
    bucketed: bool = False  # ``df`` may be one of several buckets of the partition


@dataclass(frozen=True)
class CheckPlan:
    name: str
    kind: str
    severity: dg.AssetCheckSeverity
    description: str
    run: Callable[[CheckInput], RuleResult]
    deps: tuple[str, ...] = ()
    tally: Callable[[CheckInput], Any] | None = None
    finish: Callable[[CheckInput, list], RuleResult] | None = None
    # what a violation names beyond the result's own figures (``checks/violation.py``): the
    # table (schema), the key (duplicates; none: the whole delivered row), the foreign key
    # (orphans)
    subject: str = ""

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


def bucket_plan(
    name: str,
    kind: str,
    severity: dg.AssetCheckSeverity,
    description: str,
    tally: Callable[[CheckInput], Any],
    finish: Callable[[CheckInput, list], RuleResult],
    deps: tuple[str, ...] = (),
    subject: str = "",
) -> CheckPlan:
    """A plan evaluated bucket by bucket (``tally`` per bucket, ``finish`` over the tallies
    in bucket order); on a whole frame, its finish over that frame's one tally."""
    return CheckPlan(
        name,
        kind,
        severity,
        description,
        lambda inp: finish(inp, [tally(inp)]),
        deps,
        tally,
        finish,
        subject,
    )


def partition_buckets(
    inp: CheckInput, key: str, columns: list[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Another table's partition of the same utility and month, one meter bucket at a time
    (once, whole, when the same step has just written it whole; nothing when not written)."""
    frame = inp.published.get(key)
    if frame is not None:
        yield frame if columns is None else frame.select(columns)
        return
    yield from inp.store.iter_buckets(key, inp.utility, inp.month, columns=columns)
