"""IESCO's legacy billing export: format variants picked by the header, the derivations of
what the variant lacks (district, consumer type, bill id), NEPRA sub-categories priced by
the reconcile checks, the not-derived check, and the generator's legacy format."""

import json
from datetime import date

import pandas as pd
import polars as pl
import pytest

from gridflow_assets.checks import reconcile
from gridflow_assets.domain import iesco_derive, tariff
from gridflow_assets.domain.billing import consumer_types
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.registry.formats import (
    Derivation,
    FormatVariant,
    NoVariant,
    derivations,
    match_variant,
)
from gridflow_assets.silver.adapters import SilverInput, get_utility
from gridflow_assets.silver.adapters.iesco import BILL_COLUMNS, LEGACY, METER_COLUMNS, SOURCES
from gridflow_assets.silver.derived import RULES, derive_missing, original
from gridflow_assets.store.landing import DropError, find_drop, read_source
from gridflow_assets_tests.polars_frames import frame

MONTH = "2025-06"
# the legacy export: the standard columns, in the same order, without these
LEGACY_METERS = [c for c in METER_COLUMNS if c not in ("consumer_type", "district")]
LEGACY_BILLS = [c for c in BILL_COLUMNS if c != "bill_id"]


def test_the_legacy_variant_requires_the_exported_columns_and_lacks_the_derived_ones():
    assert (len(LEGACY_METERS), len(LEGACY_BILLS)) == (22, 19)
    for name, exported, lacks in (
        ("meters", LEGACY_METERS, {"consumer_type", "district"}),
        ("bills", LEGACY_BILLS, {"bill_id"}),
    ):
        standard, legacy = SOURCES[name].formats
        assert list(legacy.required) == exported
        assert set(legacy.optional) == {d.column for d in legacy.derived} == lacks
        assert not standard.derived and set(standard.required) == set(exported) | lacks


# ----------------------------------------------------------------- variants


def _drop(landing, files: dict[str, str]):
    folder = landing / "IESCO" / MONTH
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "_SUCCESS").write_text("")
    return find_drop(landing, "IESCO", MONTH)


def test_the_header_picks_the_variant_and_bronze_leaves_what_it_lacks_null(folders):
    legacy_row = ",".join(f'"x, {c}"' if c == "address" else c for c in LEGACY_METERS)
    drop = _drop(
        folders[0],
        {
            "meters.csv": ",".join(LEGACY_METERS) + "\n" + legacy_row + "\n",
            "bills.csv": ",".join(BILL_COLUMNS) + "\n" + ",".join(["v"] * 20) + "\n",
        },
    )
    meters = read_source(drop, SOURCES["meters"])
    assert meters.columns[: len(METER_COLUMNS)] == list(METER_COLUMNS)  # as bronze stores it
    assert meters["consumer_type"].to_list() == [None]  # not delivered: null
    assert meters["district"].to_list() == [None]
    assert meters["address"].to_list() == ["x, address"]  # delivered: as delivered
    bills = read_source(drop, SOURCES["bills"])  # the standard variant: nothing null
    assert bills.select(BILL_COLUMNS).null_count().sum_horizontal().item() == 0


def test_a_header_fitting_no_variant_names_drop_file_and_column(folders):
    header = [c for c in LEGACY_METERS if c != "division"]  # legacy, and division missing
    drop = _drop(folders[0], {"meters.csv": ",".join(header) + "\n"})
    with pytest.raises(DropError) as err:
        read_source(drop, SOURCES["meters"])
    e = err.value
    assert (e.drop, e.file, e.column) == (f"IESCO/{MONTH}", "meters.csv", "division")
    assert "required column missing" in str(e) and "closest: legacy" in str(e)


def test_an_unknown_column_names_itself(folders):
    drop = _drop(folders[0], {"bills.csv": ",".join([*LEGACY_BILLS, "rebate"]) + "\n"})
    with pytest.raises(DropError) as err:
        read_source(drop, SOURCES["bills"])
    assert err.value.column == "rebate" and "not in the IESCO format" in str(err.value)


def test_the_first_fitting_variant_wins_and_optional_columns_may_come():
    variants = SOURCES["meters"].formats
    assert match_variant(list(METER_COLUMNS), variants, "IESCO").name == "standard"
    assert match_variant(LEGACY_METERS, variants, "IESCO").name == LEGACY
    assert match_variant([*LEGACY_METERS, "district"], variants, "IESCO").name == LEGACY
    one = (FormatVariant("standard", ("a", "b")),)
    with pytest.raises(NoVariant) as err:
        match_variant(["a"], one, "X")
    assert err.value.column == "b" and "closest" not in str(err.value)  # one variant: as before


def test_every_declared_rule_is_one_the_derivations_set():
    declared = {
        column: set(d.rule_names)
        for spec in SOURCES.values()
        for column, d in derivations(spec.formats).items()
    }
    assert declared == {
        "district": set(iesco_derive.DISTRICT_RULES),
        "consumer_type": set(iesco_derive.CONSUMER_TYPE_RULES),
        "bill_id": set(iesco_derive.BILL_ID_RULES),
    }


# ----------------------------------------------------------------- derivations


def _eval(pair, **columns) -> list[tuple]:
    value, rule = pair
    out = pl.DataFrame(columns).select(value=value, rule=rule)
    return list(zip(out["value"].to_list(), out["rule"].to_list(), strict=False))


def test_district_from_sub_division_then_division_then_the_address_city():
    got = _eval(
        iesco_derive.district(pl.col("div"), pl.col("sub"), pl.col("addr")),
        div=["GULBERG", "SATELLITE TOWN", "WAPDA TOWN", "WAPDA TOWN", "Islamabad-I"],
        sub=["MORGHAH", "NOWHERE", "NOWHERE", "NOWHERE", "g-9  markaz"],
        addr=[
            "H NO 914 Ubaid Manors, MORGHAH, RAWALPINDI",
            "H 1, NOWHERE, RAWALPINDI",
            "H 2, NOWHERE, islamabad ",
            "H 3, NOWHERE, ATLANTIS",
            "H 4, G-9 MARKAZ, ISLAMABAD",
        ],
    )
    assert got == [
        ("RAWALPINDI", "DISTRICT_FROM_SUB_DIVISION"),
        ("RAWALPINDI", "DISTRICT_FROM_DIVISION"),
        ("ISLAMABAD", "DISTRICT_FROM_ADDRESS_CITY"),
        ("UNKNOWN", "DISTRICT_UNKNOWN"),
        ("ISLAMABAD", "DISTRICT_FROM_SUB_DIVISION"),  # case and spacing do not matter
    ]


def test_a_name_two_districts_share_decides_nothing():
    pairs = pl.DataFrame({"name": ["Saddar", "SADDAR", "Taxila"], "district": ["A", "B", "C"]})
    assert iesco_derive._unique(pairs) == {"TAXILA": "C"}


def test_consumer_type_from_sub_category_and_sanctioned_load():
    got = _eval(
        iesco_derive.consumer_type(pl.col("code"), pl.col("kw")),
        code=["A-1a", "A-1a", "A-1a", "A-1b", "A-2b", "B-4", "Z-9", "A-1a"],
        kw=[0.8, 1.0, 3.2, 7.0, None, 9000.0, 2.0, None],
    )
    unknown = ("UNKNOWN", "CONSUMER_TYPE_UNKNOWN")
    derived = "CONSUMER_TYPE_FROM_TARIFF_LOAD"
    assert got == [
        ("RESIDENTIAL_LIFELINE", derived),  # lifeline: 1 kW or less
        ("RESIDENTIAL_LIFELINE", derived),
        ("RESIDENTIAL_BELOW_5KW", derived),
        ("RESIDENTIAL_5KW_AND_ABOVE", derived),
        ("COMMERCIAL_5_TO_500KW", derived),  # an open band needs no load
        ("INDUSTRIAL_ABOVE_5MW", derived),
        unknown,  # no rule for the code
        unknown,  # a banded code without a load
    ]


def test_every_derived_consumer_type_is_priced_and_every_rule_code_is_a_tariff_code():
    types = consumer_types()
    rules = iesco_derive.consumer_type_rules()
    assert {ctype for *_, ctype in rules} <= set(types["consumer_type"])
    assert {code for code, *_ in rules} <= set(tariff.tariff_codes())
    assert types["consumer_type"].is_unique().all()


def test_bill_id_from_meter_and_month():
    got = _eval(
        iesco_derive.bill_id(pl.col("meter"), pl.col("month")),
        meter=["12345678901", " ", "12345678901"],
        month=[date(2024, 1, 1), date(2024, 1, 1), None],
    )
    assert got == [
        ("BILL-12345678901-202401", "BILL_ID_FROM_METER_MONTH"),
        (None, None),  # no meter number
        (None, None),  # no month
    ]


def test_derive_missing_fills_only_what_was_not_delivered_and_flags_it():
    declared = {"x": Derivation("x", (("X_RULE", "meaning"),))}
    how = {"x": lambda: (pl.lit("derived"), pl.lit("X_RULE"))}
    df = pl.DataFrame({"x": ["delivered", None, ""]}, schema={"x": pl.String})
    out = derive_missing(df, declared, how)
    assert out["x"].to_list() == ["delivered", "derived", ""]  # "" was delivered (empty)
    assert out[original("x")].to_list() == ["delivered", None, ""]
    assert out[RULES].to_list() == [None, "X_RULE", None]
    with pytest.raises(ValueError, match="not implemented"):
        derive_missing(df, declared, {})


# ----------------------------------------------------------------- the adapter


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    generate_iesco(landing, [MONTH], meters=60, seed=4, faults="realistic", fmt=LEGACY)
    u = get_utility("IESCO")
    drop = find_drop(landing, "IESCO", MONTH)
    bronze = {name: read_source(drop, src) for name, src in u.sources.items()}
    return bronze, u.to_silver(SilverInput("IESCO", MONTH, u.timezone, bronze))


def test_legacy_silver_derives_flags_and_keeps_the_originals(legacy):
    bronze, out = legacy
    sp, bills = out.tables["service_points"], out.tables["bills"]
    assert sp.height == bronze["meters"].height and bills.height == bronze["bills"].height
    assert sp["district_original"].null_count() == sp.height  # not delivered
    assert sp["consumer_type"].null_count() == sp["district"].null_count() == 0
    assert sp["derived_rules"].str.contains("DISTRICT_").all()
    assert sp["derived_rules"].str.contains("CONSUMER_TYPE_").all()
    unknown = sp.filter(pl.col("consumer_type") == "UNKNOWN")
    assert unknown.height and unknown["derived_rules"].str.contains("CONSUMER_TYPE_UNKNOWN").all()
    gone = sp.filter(pl.col("district") == "UNKNOWN")
    assert gone.height and gone["city"].null_count() == gone.height  # no "Unknown" city
    expected = "BILL-" + bronze["bills"]["meter_number"] + "-202506"
    assert sorted(bills["bill_id"]) == sorted(expected)
    assert bills["bill_id_original"].null_count() == bills.height
    assert (bills["derived_rules"] == "BILL_ID_FROM_METER_MONTH").all()
    assert out.rejects.filter(pl.col("target_table") == "bills").is_empty()


def test_a_legacy_bill_without_a_month_is_rejected_with_its_delivered_record(legacy):
    bronze, _ = legacy
    bad = bronze["bills"].with_columns(
        billing_month=pl.when(pl.col("_source_row") == 1)
        .then(pl.lit("13TH MONTH"))
        .otherwise("billing_month")
    )
    u = get_utility("IESCO")
    out = u.to_silver(SilverInput("IESCO", MONTH, u.timezone, {**bronze, "bills": bad}))
    rejected = out.rejects.filter(pl.col("target_table") == "bills")
    assert rejected["reason_code"].to_list() == ["MISSING_REQUIRED"]
    assert rejected["column_name"].to_list() == ["bill_id"]
    assert "not derivable" in rejected["detail"][0]
    raw = json.loads(rejected["raw_record"][0])
    assert "bill_id" not in raw and raw["billing_month"] == "13TH MONTH"  # as delivered
    assert out.tables["bills"].height + 1 == bad.height  # nothing else lost


# ----------------------------------------------------------------- tariff and checks


def test_sub_categories_price_as_their_tariff_code_and_bands_decide_the_code():
    for sub in tariff.tariff_subcategories():
        assert tariff.tariff_codes()[sub.code] == tariff.tariff_codes()[sub.parent]
        assert tariff.compute_bill(420, sub.code, "2025-06-01") == tariff.compute_bill(
            420, sub.parent, "2025-06-01"
        )
    assert [tariff.subcategory("A-1", kw) for kw in (0.5, 4.9, 5.0, 12.0)] == [
        "A-1a",
        "A-1a",
        "A-1b",
        "A-1b",
    ]
    assert tariff.subcategory("B-2", 100.0) == "B-2"  # no sub-categories of its own


def _priced_bills(codes: list[str], units: list[float]) -> pl.DataFrame:
    priced = [
        tariff.compute_bill(u, c, date(2025, 6, 1)) for c, u in zip(codes, units, strict=False)
    ]
    n = len(codes)
    return frame(
        "silver/bills",
        bill_id=[f"B{i}" for i in range(n)],
        billing_month=[date(2025, 6, 1)] * n,
        units_consumed=units,
        tariff_applied=codes,
        meter_id=[f"IESCO:M{i}" for i in range(n)],
        service_point_id=[f"IESCO:C{i}" for i in range(n)],
        **{col: [p[col] for p in priced] for col in tariff.BILL_COLUMNS},
    )


def _consumers(types: list[str], delivered: bool = False, district: str = "RAWALPINDI"):
    n = len(types)
    return frame(
        "silver/service_points",
        service_point_id=[f"IESCO:C{i}" for i in range(n)],
        consumer_type=types,
        consumer_type_original=types if delivered else [None] * n,
        district=[district] * n,
        district_original=[district] * n if delivered else [None] * n,
    )


def test_reconcile_prices_sub_category_bills_and_finds_a_wrong_energy_charge():
    codes = ["A-2a", "A-2b", "B-4", "A-1b", "D-2a"]
    types = [
        "COMMERCIAL_BELOW_5KW",
        "COMMERCIAL_5_TO_500KW",
        "INDUSTRIAL_ABOVE_5MW",
        "RESIDENTIAL_5KW_AND_ABOVE",
        "AGRICULTURAL_TUBE_WELL",
    ]
    bills, sp = _priced_bills(codes, [80, 900, 50_000, 650, 300]), _consumers(types)
    good = reconcile.bill_arithmetic(bills, sp)
    assert good.passed and good.total == 5
    cheap = bills.with_columns(
        variable_charges=pl.when(pl.col("bill_id") == "B1")
        .then(pl.col("variable_charges") - 100)
        .otherwise(pl.col("variable_charges"))
    )
    bad = reconcile.bill_arithmetic(cheap, sp)
    assert bad.details["energy_vs_tariff"] == 1 and bad.sample["bill_id"].to_list() == ["B1"]


def test_not_derived_check_warns_on_unknown_derived_values_only():
    bills = _priced_bills(["A-1a", "A-1a", "B-1"], [100, 120, 500])
    known = reconcile.not_derived(bills, _consumers(["RESIDENTIAL_BELOW_5KW"] * 3))
    assert known.passed and known.total == 3
    mixed = _consumers(["UNKNOWN", "RESIDENTIAL_BELOW_5KW", "UNKNOWN"]).with_columns(
        district=pl.Series(["RAWALPINDI", "UNKNOWN", "UNKNOWN"])
    )
    found = reconcile.not_derived(bills, mixed)
    assert not found.passed and found.failed_count == 3
    assert found.details == {"consumer_type": 2, "district": 2}
    delivered = reconcile.not_derived(bills, _consumers(["UNKNOWN"] * 3, delivered=True))
    assert delivered.passed  # delivered as UNKNOWN is the utility's value, not a failed rule


# ----------------------------------------------------------------- generator


def test_generator_legacy_format_is_the_standard_month_in_the_legacy_shape(tmp_path):
    std, old = tmp_path / "std", tmp_path / "legacy"
    generate_iesco(std, [MONTH], meters=40, seed=9, faults="none")
    generate_iesco(old, [MONTH], meters=40, seed=9, faults="none", fmt=LEGACY)
    s_m, l_m, s_b, l_b = (
        pd.read_csv(root / "IESCO" / MONTH / f"{name}.csv", dtype=str, keep_default_na=False)
        for root, name in ((std, "meters"), (old, "meters"), (std, "bills"), (old, "bills"))
    )
    assert list(l_m.columns) == LEGACY_METERS and list(l_b.columns) == LEGACY_BILLS
    money = ["units_consumed", *tariff.BILL_COLUMNS]
    assert l_b[money].equals(s_b[money])  # amounts as the standard drop has them
    loads = s_m["sanctioned_load_kw"].astype(float)
    expected = [
        tariff.subcategory(c, kw) for c, kw in zip(s_m["tariff_category"], loads, strict=False)
    ]
    assert l_m["tariff_category"].tolist() == expected == l_b["tariff_applied"].tolist()
    assert (l_m["division"] == s_m["division"].str.upper()).all()
    tails = l_m["address"].str.rsplit(", ", n=2).str[1]
    assert (tails == l_m["sub_division"]).all()  # …, <SUB_DIVISION>, <CITY>
    assert (l_b["reference_no"] != s_b["reference_no"]).any()  # some bills print another
    for name in ("readings.csv", "payments.csv"):  # untouched files: the same bytes
        a, b = (root / "IESCO" / MONTH / name for root in (std, old))
        assert a.read_bytes() == b.read_bytes()
