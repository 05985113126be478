"""IESCO's legacy billing export: the same month written as the smart-billing scripts do.

The consumers, readings, bills and amounts are those of the standard drop of the same
arguments; only the shape differs (docs/formats/iesco.md, format variant ``legacy``):

* ``meters.csv`` lacks ``consumer_type`` and ``district``; division and sub-division are
  upper case and the address ends ``…, <SUB_DIVISION>, <CITY>``;
* ``bills.csv`` lacks ``bill_id``; some bills print a reference number other than the
  meter master's (another bill batch);
* tariff codes are NEPRA sub-categories (``A-1a``, ``A-2b``, …) of the code and the
  sanctioned load, in ``tariff_category`` and ``tariff_applied``.

The columns come from the adapter's declaration of the variant. With faults, a few
consumers' division and sub-division are names no area table knows (the address's city
still gives the district; for some the city is unknown too: district UNKNOWN), and a few
lack the sanctioned load their sub-category needs (consumer type UNKNOWN). Their bills are
delivered like any other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridflow_assets.domain import tariff
from gridflow_assets.domain.iesco_derive import consumer_type_rules
from gridflow_assets.generate.iesco_data import fault_count, stream, tables
from gridflow_assets.generate.iesco_master import Master
from gridflow_assets.silver.adapters.iesco import LEGACY, SOURCES

STANDARD_FORMAT = "standard"
FORMATS = (STANDARD_FORMAT, LEGACY)
REFERENCE_DIFFERS_SHARE = 0.1  # bills printing another batch's reference number


def _columns(source: str) -> list[str]:
    (variant,) = (v for v in SOURCES[source].formats if v.name == LEGACY)
    return list(variant.required)


def _cities(meters: pd.DataFrame) -> np.ndarray:
    areas = tables().areas
    city = dict(
        zip(
            zip(areas["division"], areas["sub_division"], strict=False), areas["city"], strict=False
        )
    )
    return np.array(
        [city[k] for k in zip(meters["division"], meters["sub_division"], strict=False)], object
    )


def _underivable(master: Master, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same consumers every month: (division and sub-division unknown to the area
    tables; of those, the city too; sanctioned load missing where the sub-category needs
    it)."""
    rng = stream(master.seed, "legacy_underivable")
    count = fault_count("underivable_consumers", master.n, master.level)
    rules = consumer_type_rules()
    banded = [code for code, above, upto, _ in rules if np.isfinite([above, upto]).any()]
    order = rng.permutation(master.n)
    no_area, rest = order[: 2 * count], order[2 * count :]
    needs_load = rest[np.isin(codes[rest], banded)]
    return no_area, no_area[count:], needs_load[:count]


def legacy_meters(master: Master, meters: pd.DataFrame) -> pd.DataFrame:
    """meters.csv of the month as the legacy export writes it."""
    out = meters.copy()
    load = out["sanctioned_load_kw"].to_numpy(float)
    codes = np.array(
        [
            tariff.subcategory(code, kw)
            for code, kw in zip(out["tariff_category"], load, strict=False)
        ],
        object,
    )
    out["tariff_category"] = codes
    sub = out["sub_division"].str.upper().to_numpy(object)
    city = np.char.upper(_cities(out).astype(str)).astype(object)
    no_area, no_city, no_load = _underivable(master, codes)
    out["division"] = out["division"].str.upper()
    out.loc[no_area, "division"] = "NEW COLONY"
    sub[no_area] = "PHASE 9"
    city[no_city] = "NEW TOWN"
    out["sub_division"] = sub
    head = out["address"].str.rsplit(", ", n=1).str[0]
    out["address"] = head + ", " + sub + ", " + city
    out.loc[no_load, "sanctioned_load_kw"] = np.nan  # written as an empty field
    return out[_columns("meters")]


def legacy_bills(
    master: Master, bills: pd.DataFrame, meters: pd.DataFrame, year: int, month: int
) -> pd.DataFrame:
    """bills.csv of the month as the legacy export writes it (``meters`` in legacy shape,
    same consumer order)."""
    out = bills.copy()
    out["tariff_applied"] = meters["tariff_category"].to_numpy(object)
    out["address"] = meters["address"].to_numpy(object)
    rng = stream(master.seed, "legacy_reference", year, month)
    other = rng.random(len(out)) < REFERENCE_DIFFERS_SHARE
    batch = out["reference_no"].str.slice(0, 2).astype(int)
    moved = ((batch % 20) + 1).map("{:02d}".format) + out["reference_no"].str.slice(2)
    out["reference_no"] = np.where(other, moved, out["reference_no"])
    return out[_columns("bills")]


def legacy_frames(master: Master, frames: dict, year: int, month: int) -> dict:
    """The month's files (``_month_frames``) in the legacy shape."""
    meters = legacy_meters(master, frames["meters.csv"])
    bills = legacy_bills(master, frames["bills.csv"], meters, year, month)
    return {**frames, "meters.csv": meters, "bills.csv": bills}
