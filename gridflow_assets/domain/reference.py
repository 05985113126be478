"""Reference data shipped as CSV beside the code: utility code tables, the tariff, consumer
types. One loader for all of them: every column as text, exactly as written (an empty field
is an empty string), so each caller types what it reads and nothing is guessed."""

from __future__ import annotations

import math
from functools import cache
from importlib import resources

import polars as pl


@cache
def reference_table(package: str, *path: str) -> pl.DataFrame:
    """The CSV file at ``path`` inside ``package`` (installed package data), all text."""
    with resources.files(package).joinpath(*path).open("rb") as fh:
        return pl.read_csv(fh, infer_schema=False).with_columns(pl.all().fill_null(""))


def lower_bound(text: str) -> float:
    """A band's lower bound as written: an empty field is open (minus infinity)."""
    return -math.inf if text.strip() == "" else float(text)


def upper_bound(text: str) -> float:
    """A band's upper bound as written: an empty field is open (infinity)."""
    return math.inf if text.strip() == "" else float(text)
