"""What IESCO's legacy billing export does not carry, derived from reference data.

Each function returns two Polars expressions over the columns it is given: the derived
value, and the name of the rule that set it (a key of its ``..._RULES``, whose values say
what each rule does). A district or consumer type that cannot be derived is ``UNKNOWN``
with an ``..._UNKNOWN`` rule, never dropped. The reference
tables are CSV beside this module, read through ``reference.reference_table``:

* district: ``iesco_areas.csv`` (divisions and sub-divisions the platform knows) and
  ``iesco_operation_areas.csv`` (operation divisions and sub-divisions as the legacy export
  names them), then the city at the end of the address (``iesco_areas.csv`` cities and the
  district names of ``iesco_districts.csv``);
* consumer type: ``iesco_consumer_type_rules.csv`` (tariff code or NEPRA sub-category and a
  sanctioned-load band ``(load_kw_above, load_kw_upto]`` → consumer type).
"""

from __future__ import annotations

import math
from functools import cache

import polars as pl

from gridflow_assets.domain.billing import UNKNOWN_CONSUMER_TYPE as UNKNOWN
from gridflow_assets.domain.reference import lower_bound, reference_table, upper_bound

# rule name → meaning, in the order the rules are tried
DISTRICT_RULES = {
    "DISTRICT_FROM_SUB_DIVISION": "district of the sub-division in the area tables "
    "(iesco_areas.csv, iesco_operation_areas.csv)",
    "DISTRICT_FROM_DIVISION": "district of the division in the area tables, when the "
    "sub-division decides nothing",
    "DISTRICT_FROM_ADDRESS_CITY": "district of the city that ends the address (…, "
    "<SUB_DIVISION>, <CITY>), when neither area name is known",
    "DISTRICT_UNKNOWN": f"none of the above: district is {UNKNOWN}",
}
CONSUMER_TYPE_RULES = {
    "CONSUMER_TYPE_FROM_TARIFF_LOAD": "consumer type of the tariff sub-category and "
    "sanctioned-load band (iesco_consumer_type_rules.csv)",
    "CONSUMER_TYPE_UNKNOWN": f"no rule holds the code and load: consumer type is {UNKNOWN}",
}
BILL_ID_RULES = {
    "BILL_ID_FROM_METER_MONTH": "BILL-<meter_number>-<YYYYMM> of the billing month; a bill "
    "without meter number or month is rejected (MISSING_REQUIRED)",
}


def not_derivable(value: pl.Expr, original: pl.Expr) -> pl.Expr:
    """A value the delivered variant lacked and no rule could derive (UNKNOWN, not as
    delivered)."""
    return original.is_null() & (value == UNKNOWN)


def _table(name: str) -> pl.DataFrame:
    return reference_table("gridflow_assets.domain", name)


def name_key(text: pl.Expr) -> pl.Expr:
    """A place name as compared: upper case, single spaces, no surrounding blanks."""
    return text.str.to_uppercase().str.replace_all(r"\s+", " ").str.strip_chars()


def _unique(pairs: pl.DataFrame) -> dict[str, str]:
    """name → district for the names that point at exactly one district."""
    pairs = pairs.select(name_key(pl.col("name")).alias("name"), "district").filter(
        pl.col("name") != ""
    )
    one = pairs.unique().group_by("name").agg(pl.col("district").first(), n=pl.len())
    one = one.filter(pl.col("n") == 1).sort("name")
    return dict(zip(one["name"].to_list(), one["district"].to_list(), strict=False))


@cache
def district_lookups() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(sub-division → district, division → district, city → district); a name that two
    districts share is left out (it decides nothing)."""
    areas = _table("iesco_areas.csv")
    ops = _table("iesco_operation_areas.csv")
    both = pl.concat([areas.select("division", "sub_division", "district"), ops.drop("note")])
    districts = _table("iesco_districts.csv")
    cities = pl.concat(
        [
            areas.select(name="city", district="district"),
            districts.select(name="district", district="district"),
            districts.select(name="title", district="district"),
        ]
    )
    return (
        _unique(both.select(name="sub_division", district="district")),
        _unique(both.select(name="division", district="district")),
        _unique(cities),
    )


def address_city(address: pl.Expr) -> pl.Expr:
    """The last comma-separated part of an address (``…, MORGHAH, RAWALPINDI`` → RAWALPINDI)."""
    return name_key(address.str.split(",").list.last())


def district(division: pl.Expr, sub_division: pl.Expr, address: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """District from the sub-division, else the division, else the address's city."""
    by_sub, by_div, by_city = district_lookups()
    from_sub, from_div, from_city, unknown = DISTRICT_RULES
    steps = (
        (name_key(sub_division), by_sub, from_sub),
        (name_key(division), by_div, from_div),
        (address_city(address), by_city, from_city),
    )
    found = [
        key.replace_strict(table, default=None, return_dtype=pl.String) for key, table, _ in steps
    ]
    value = pl.coalesce(*found, pl.lit(UNKNOWN))
    rule = pl.coalesce(
        *(
            pl.when(f.is_not_null()).then(pl.lit(name))
            for f, (_, _, name) in zip(found, steps, strict=False)
        ),
        pl.lit(unknown),
    )
    return value, rule


@cache
def consumer_type_rules() -> tuple[tuple[str, float, float, str], ...]:
    """(tariff code, load above, load up to, consumer type) in file order."""
    return tuple(
        (
            r["tariff_code"],
            lower_bound(r["load_kw_above"]),
            upper_bound(r["load_kw_upto"]),
            r["consumer_type"],
        )
        for r in _table("iesco_consumer_type_rules.csv").to_dicts()
    )


def consumer_type(tariff_code: pl.Expr, load_kw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Consumer type from the tariff code and the sanctioned load (kW, a number): the first
    rule whose code matches and whose load band holds the load. A rule with an open band
    needs no load; a banded one does (an unknown load derives nothing)."""
    code = tariff_code.str.strip_chars()
    value = pl.lit(None, pl.String)
    for tc, above, upto, ctype in reversed(consumer_type_rules()):
        hit = code == tc
        if not math.isinf(above):
            hit = hit & (load_kw > above)
        if not math.isinf(upto):
            hit = hit & (load_kw <= upto)
        value = pl.when(hit.fill_null(False)).then(pl.lit(ctype)).otherwise(value)
    derived, unknown = CONSUMER_TYPE_RULES
    rule = pl.when(value.is_null()).then(pl.lit(unknown)).otherwise(pl.lit(derived))
    return value.fill_null(UNKNOWN), rule


def bill_id(meter_number: pl.Expr, month: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``BILL-<meter_number>-<YYYYMM>`` from the meter and the billing month (a date);
    null when either is missing (the bill is then rejected with the reason)."""
    meter = meter_number.str.strip_chars()
    value = pl.when(meter != "").then(
        pl.concat_str([pl.lit("BILL-"), meter, pl.lit("-"), month.dt.strftime("%Y%m")])
    )
    (rule,) = BILL_ID_RULES
    return value, pl.when(value.is_not_null()).then(pl.lit(rule))
