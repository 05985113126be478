"""Checks that only some tables have are declared by table key beside their rules; the
factory adds them and knows no table by name."""

from pathlib import Path

from gridflow_assets.checks import factory, reconcile, vee
from gridflow_assets.checks.factory import plans_for
from gridflow_assets.checks.table_plans import TABLE_PLANS
from gridflow_assets.registry import TABLES


def test_declared_plans_cover_registry_tables():
    assert set(TABLE_PLANS) <= set(TABLES)
    assert set(reconcile.PLANS) | set(vee.PLANS) == set(TABLE_PLANS)


def test_a_table_has_the_plans_declared_for_it_after_the_registry_ones():
    for key, spec in TABLES.items():
        plans = plans_for(spec)
        declared = list(TABLE_PLANS.get(key, ()))
        assert plans[len(plans) - len(declared) :] == declared
        assert not any(p.kind in ("reconcile", "vee") for p in plans[: len(plans) - len(declared)])


def test_check_names_are_unique_per_table():
    for spec in TABLES.values():
        names = [p.name for p in plans_for(spec)]
        assert len(names) == len(set(names)), spec.key


def test_the_factory_names_no_table_with_declared_plans():
    source = Path(factory.__file__).read_text(encoding="utf-8")
    assert not [key for key in TABLE_PLANS if key in source]
