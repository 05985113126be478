"""Asset specs come from the registry: lineage (what each table reads), owners per layer."""

import dagster as dg

from gridflow_assets.assets.gold import PARENTS
from gridflow_assets.assets.layer import OWNERS, asset_spec, upstream
from gridflow_assets.assets.silver import silver_tables
from gridflow_assets.registry import TABLES

INTERVALS = dg.AssetKey(["silver", "intervals"])


def _keys(deps) -> set[str]:
    return {"/".join(d.asset_key.path) for d in deps}


def test_silver_intervals_depends_on_exactly_what_it_reads():
    reads = {"bronze/readings", "silver/service_points", "silver/meters"}
    assert set(upstream("silver/intervals")) == reads
    assert _keys(silver_tables.specs_by_key[INTERVALS].deps) == reads


def test_every_table_reads_registry_tables_of_its_layer_or_below():
    order = ["bronze", "silver", "gold", "experience", "external"]
    for key, spec in TABLES.items():
        for parent in upstream(key):
            assert parent in TABLES, (key, parent)
            assert order.index(parent.split("/")[0]) <= order.index(spec.layer), (key, parent)


def test_gold_builds_each_table_after_the_gold_tables_it_reads():
    built: set[str] = set()
    for name, parents in PARENTS.items():
        assert parents == upstream(f"gold/{name}")
        assert {p for p in parents if p.startswith("gold/")} <= built, name
        built.add(f"gold/{name}")


def test_owners_are_declared_per_layer():
    assert asset_spec("experience/daily_summaries").owners == [OWNERS["experience"]]
    assert asset_spec("silver/intervals").owners == ["team:data-engineering"]
