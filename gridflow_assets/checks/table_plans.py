"""Checks only some tables have, by table key. Each module of such checks declares the
tables its plans cover (its ``PLANS``); the factory adds them, in this order, to the checks
the schema registry implies for every table, and knows no table by name.
"""

from __future__ import annotations

from gridflow_assets.checks import reconcile, vee
from gridflow_assets.checks.plan import CheckPlan


def _collect(*declared: dict[str, list[CheckPlan]]) -> dict[str, tuple[CheckPlan, ...]]:
    collected: dict[str, tuple[CheckPlan, ...]] = {}
    for plans in declared:
        for key, covering in plans.items():
            collected[key] = collected.get(key, ()) + tuple(covering)
    return collected


TABLE_PLANS = _collect(reconcile.PLANS, vee.PLANS)


def table_plans(key: str) -> list[CheckPlan]:
    """The checks declared for the table ``key`` (``layer/name``) beyond the registry's."""
    return list(TABLE_PLANS.get(key, ()))
