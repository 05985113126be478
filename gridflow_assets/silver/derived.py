"""Values a format variant does not deliver, derived as its declaration says.

A column a variant lacks arrives null in bronze (a delivered empty field is ``""``). For
each declared ``Derivation`` the adapter supplies how to compute it (a value and the rule
that set it, both Polars expressions); here the value fills only the null rows, the
delivered value stays in ``_<column>_original`` and the rule names go to ``_derived_rules``
(``;``-separated), so a derived value is never mistaken for a delivered one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from gridflow_assets.registry.formats import Derivation

RULES = "_derived_rules"
Rule = Callable[[], tuple[pl.Expr, pl.Expr]]


def original(column: str) -> str:
    return f"_{column}_original"


def delivered_columns(
    df: pl.DataFrame, columns: tuple[str, ...], declared: Mapping[str, Derivation]
) -> list[str]:
    """The columns of ``df`` that were delivered: a derivable column that is null on every
    row is one the file's variant does not carry (what rejects record as delivered)."""
    return [
        c for c in columns if c not in declared or df.height == 0 or df[c].null_count() < df.height
    ]


def derive_missing(
    df: pl.DataFrame, declared: Mapping[str, Derivation], how: Mapping[str, Rule]
) -> pl.DataFrame:
    """``df`` with every declared column filled where it was not delivered, its original
    kept and the rule flagged. ``how`` must implement every declared column."""
    missing = set(declared) - set(how)
    if missing:
        raise ValueError(f"derivations declared but not implemented: {sorted(missing)}")
    rules = pl.col(RULES) if RULES in df.columns else pl.lit(None, pl.String)
    for column in declared:
        value, rule = how[column]()
        absent = pl.col(column).is_null()
        df = df.with_columns(
            pl.col(column).alias(original(column)),
            pl.when(absent).then(value).otherwise(pl.col(column)).alias(column),
            pl.concat_str(
                [rules, pl.when(absent).then(rule)], separator=";", ignore_nulls=True
            ).alias(RULES),
        )
        rules = pl.col(RULES)
    return df.with_columns(pl.when(pl.col(RULES) != "").then(pl.col(RULES)).alias(RULES))
