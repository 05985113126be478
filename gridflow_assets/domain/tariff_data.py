"""IESCO (NEPRA uniform) tariff as effective-dated data: what is in force on a date.

Every rate, slab boundary, charge and threshold lives in the CSV files next to this module
(``iesco_tariff.csv``, ``iesco_fixed_charges.csv``, ``iesco_levies.csv``,
``iesco_tariff_codes.csv``, ``iesco_tariff_subcategories.csv``), each rate and charge row
carrying an ``effective_from`` date. Tariffs change every fiscal year and levies change on
their own dates, so a bill must be priced with the rows in force for *its* month; keeping them as data lets generators and reconciliation
checks share one source of truth and lets a new tariff year be added without code changes.

Effective-dating works per key: for each scheme (energy), category (fixed charges) and
parameter (levies) the rows with the latest ``effective_from`` on or before the date apply.
Slab rows cover units in ``(from_units - 1, to_units]`` (an empty ``to_units`` is open
ended), which reads like the published tables (1-100, 101-200, ...) and still prices
fractional units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import pandas as pd

from gridflow_assets.domain.reference import lower_bound, reference_table, upper_bound

RESIDENTIAL = "residential"
LIFELINE_SCHEME = "residential_lifeline"
PROTECTED_SCHEME = "residential_protected"
UNPROTECTED_SCHEME = "residential_unprotected"

DataDate = date | datetime | pd.Timestamp | str


@dataclass(frozen=True)
class EnergyScheme:
    """One version of one scheme's energy slabs (lows are exclusive, highs inclusive)."""

    effective_from: date
    scheme: str
    method: str
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    rates: tuple[float, ...]

    @property
    def max_units(self) -> float:
        """Units above which the scheme no longer applies (``inf`` when open ended)."""
        return self.highs[-1]


@dataclass(frozen=True)
class Bands:
    """One version of a category's fixed-charge bands."""

    effective_from: date
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    charges: tuple[float, ...]


def _rows(name: str) -> list[dict[str, str]]:
    return reference_table("gridflow_assets.domain", name).to_dicts()


@cache
def _energy_versions() -> dict[str, list[EnergyScheme]]:
    grouped: dict[tuple[str, date], list[dict[str, str]]] = {}
    for row in _rows("iesco_tariff.csv"):
        key = (row["scheme"], date.fromisoformat(row["effective_from"]))
        grouped.setdefault(key, []).append(row)
    versions: dict[str, list[EnergyScheme]] = {}
    for (scheme, eff), rows in grouped.items():
        rows = sorted(rows, key=lambda r: float(r["from_units"]))
        methods = {r["method"] for r in rows}
        if len(methods) != 1 or next(iter(methods)) not in ("slab_wise", "highest_slab", "flat"):
            raise ValueError(f"tariff data: scheme {scheme} {eff} has methods {methods}")
        versions.setdefault(scheme, []).append(
            EnergyScheme(
                effective_from=eff,
                scheme=scheme,
                method=methods.pop(),
                lows=tuple(float(r["from_units"]) - 1 for r in rows),
                highs=tuple(upper_bound(r["to_units"]) for r in rows),
                rates=tuple(float(r["rate_rs_per_kwh"]) for r in rows),
            )
        )
    return {k: sorted(v, key=lambda s: s.effective_from) for k, v in versions.items()}


@cache
def _fixed_versions() -> dict[str, list[Bands]]:
    grouped: dict[tuple[str, date], list[dict[str, str]]] = {}
    for row in _rows("iesco_fixed_charges.csv"):
        key = (row["category"], date.fromisoformat(row["effective_from"]))
        grouped.setdefault(key, []).append(row)
    versions: dict[str, list[Bands]] = {}
    for (category, eff), rows in grouped.items():
        rows = sorted(rows, key=lambda r: float(r["from_units"]))
        versions.setdefault(category, []).append(
            Bands(
                effective_from=eff,
                lows=tuple(float(r["from_units"]) - 1 for r in rows),
                highs=tuple(upper_bound(r["to_units"]) for r in rows),
                charges=tuple(float(r["fixed_charge_rs"]) for r in rows),
            )
        )
    return {k: sorted(v, key=lambda b: b.effective_from) for k, v in versions.items()}


@cache
def _levy_versions() -> dict[str, list[tuple[date, float]]]:
    versions: dict[str, list[tuple[date, float]]] = {}
    for row in _rows("iesco_levies.csv"):
        versions.setdefault(row["parameter"], []).append(
            (date.fromisoformat(row["effective_from"]), float(row["value"]))
        )
    return {k: sorted(v) for k, v in versions.items()}


@dataclass(frozen=True)
class SubCategory:
    """A NEPRA sub-category code (``A-1a``): its tariff code and its sanctioned-load band
    ``[load_kw_from, load_kw_below)`` ("below 5 kW", "5 kW and above"; empty is open)."""

    code: str
    parent: str
    load_kw_from: float
    load_kw_below: float

    def covers(self, load_kw: float) -> bool:
        return self.load_kw_from <= load_kw < self.load_kw_below


@cache
def tariff_subcategories() -> tuple[SubCategory, ...]:
    """NEPRA sub-categories (``iesco_tariff_subcategories.csv``) in file order."""
    return tuple(
        SubCategory(
            r["code"], r["parent"], lower_bound(r["load_kw_from"]), upper_bound(r["load_kw_below"])
        )
        for r in _rows("iesco_tariff_subcategories.csv")
    )


@cache
def tariff_codes() -> dict[str, str]:
    """IESCO tariff code (``A-1``, ``B-2``, ...) or NEPRA sub-category (``A-1a``, ``A-2b``,
    ...) → tariff category name; a sub-category is priced as its tariff code."""
    codes = {row["code"]: row["category"] for row in _rows("iesco_tariff_codes.csv")}
    subs = {s.code: codes[s.parent] for s in tariff_subcategories()}
    clash = set(subs) & set(codes)
    if clash:
        raise ValueError(f"tariff data: {sorted(clash)} both a tariff code and a sub-category")
    return codes | subs


def subcategory(code: str, load_kw: float) -> str:
    """The sub-category a consumer of tariff ``code`` with this sanctioned load is billed
    under; ``code`` itself where the schedule has no sub-categories for it (``B-1``)."""
    for sub in tariff_subcategories():
        if sub.parent == code and sub.covers(load_kw):
            return sub.code
    return code


def earliest_effective_date() -> date:
    """First date for which a complete tariff is in force (bills before it cannot be priced)."""
    firsts = [v[0].effective_from for v in _energy_versions().values()]
    firsts += [v[0][0] for v in _levy_versions().values()]
    return max(firsts)


def as_date(value: DataDate) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _pick(versions: list[Any], when: date, what: str, eff=lambda v: v.effective_from) -> Any:
    chosen = None
    for version in versions:
        if eff(version) <= when:
            chosen = version
    if chosen is None:
        raise ValueError(f"no IESCO tariff data for {what} in force on {when.isoformat()}")
    return chosen


def scheme_in_force(scheme: str, when: date) -> EnergyScheme:
    versions = _energy_versions().get(scheme)
    if versions is None:
        raise ValueError(f"unknown tariff scheme {scheme!r}")
    return _pick(versions, when, f"scheme {scheme}")


def category_name(category: str) -> str:
    """Accept an IESCO code (``A-2``), a NEPRA sub-category (``A-2a``) or a category name
    (``commercial``)."""
    codes = tariff_codes()
    if category in codes:
        return codes[category]
    if category in set(codes.values()):
        return category
    raise ValueError(f"unknown IESCO tariff category {category!r}")


def bands_in_force(category: str, when: date) -> Bands | None:
    versions = _fixed_versions().get(category)
    if not versions or versions[0].effective_from > when:
        return None
    return _pick(versions, when, f"fixed charges of {category}")


def rates_in_force(billing_month: DataDate) -> dict[str, Any]:
    """Levies and bill factors in force on a date, for generators and reconciliation checks.

    Keys: ``gst_rate``, ``electricity_duty_rate``, ``tv_fee_rs``, ``after_due_factor``,
    ``late_surcharge_grace_days``, ``late_surcharge_rate_within_grace``,
    ``late_surcharge_rate_after_grace`` (floats) and ``energy_rates_effective_from`` (the date
    of the residential unprotected slab version in force, i.e. the tariff year).
    """
    when = as_date(billing_month)
    rates: dict[str, Any] = {
        name: _pick(versions, when, name, eff=lambda v: v[0])[1]
        for name, versions in _levy_versions().items()
    }
    rates["energy_rates_effective_from"] = scheme_in_force(UNPROTECTED_SCHEME, when).effective_from
    return rates
