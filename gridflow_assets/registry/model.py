"""The schema registry's vocabulary: columns, foreign keys and tables.

A column is declared once, here, and everything else (pandera schemas, Arrow types, Dagster
column metadata, asset checks, the data dictionary) is generated from the declaration.
"""

from __future__ import annotations

from dataclasses import dataclass

DTYPES = ("string", "int", "float", "bool", "timestamp", "date")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    description: str
    unit: str | None = None
    pii: bool = False
    nullable: bool = True
    ge: float | None = None
    le: float | None = None
    isin: tuple | None = None

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"column {self.name}: unknown dtype {self.dtype!r}")

    @property
    def has_range(self) -> bool:
        return self.ge is not None or self.le is not None or self.isin is not None


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` of this table must exist in ``ref_table``'s ``ref_columns``.

    ``same_partition`` says the parent is looked up in the same month × utility partition
    (snapshots delivered with the drop); otherwise the whole parent table is used.
    """

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    same_partition: bool = True

    @property
    def name(self) -> str:
        return "__".join(self.columns)


@dataclass(frozen=True)
class Table:
    layer: str
    name: str
    description: str
    grain: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    partitioned: bool = True
    source: str | None = None  # bronze table whose rows this silver table accounts for
    external: bool = False  # meant for consumers outside the utility: no PII allowed
    # delivered (bronze) tables this table is built from: a utility that does not deliver
    # all of them has no partition of it (NY utilities send no bills)
    requires: tuple[str, ...] = ()
    # tables (``layer/name``) this one is built from: its asset's deps in Dagster's lineage
    # graph and the parents of its column lineage (bronze: none, it is built from files)
    reads: tuple[str, ...] = ()
    # rows are facts added, never updated or removed (Delta ``delta.appendOnly``)
    append_only: bool = False

    @property
    def key(self) -> str:
        return f"{self.layer}/{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.key} has no column {name!r}")

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]
