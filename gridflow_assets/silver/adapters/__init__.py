"""The utility registry: every utility the platform can ingest, by id.

Adding a utility means writing an adapter module (its delivered files and a
``skeleton.Adapter``: its silver tables as data) and registering it here or at run time
with ``register``; no asset changes. Unknown utility ids fail with a message naming the
registry.
"""

from __future__ import annotations

from gridflow_assets.registry import table
from gridflow_assets.registry.model import Table
from gridflow_assets.registry.tables import bronze_for_source
from gridflow_assets.silver.adapters.base import SilverInput, SilverOutput, Utility
from gridflow_assets.silver.adapters.builtin import BUILTIN

_REGISTRY: dict[str, Utility] = {utility.utility_id: utility for utility in BUILTIN}


def register(utility: Utility) -> Utility:
    _REGISTRY[utility.utility_id] = utility
    return utility


def unregister(utility_id: str) -> None:
    _REGISTRY.pop(utility_id, None)


def get_utility(utility_id: str) -> Utility:
    try:
        return _REGISTRY[utility_id]
    except KeyError:
        raise KeyError(
            f"no adapter registered for utility {utility_id!r} (known: {sorted(_REGISTRY)}); "
            "add one under gridflow_assets/silver/adapters and register it"
        ) from None


def delivers(utility_id: str, requires: tuple[str, ...]) -> bool:
    """Whether the utility delivers every bronze table in ``requires``."""
    sources = get_utility(utility_id).sources
    return all(name in sources for name in requires)


def all_utilities() -> list[Utility]:
    return list(_REGISTRY.values())


def storage_spec(key: str, utility: str | None) -> Table:
    """The registry table to store ``key`` with: bronze tables take the utility's columns."""
    spec = table(key)
    if spec.layer == "bronze" and utility is not None:
        source = get_utility(utility).sources[spec.name]
        return bronze_for_source(spec.name, source.columns, source.pii_columns)
    return spec


def delivered(key: str, utility: str) -> bool:
    """Whether ``utility`` delivers the bronze tables ``key`` is built from."""
    return delivers(utility, table(key).requires)


__all__ = [
    "SilverInput",
    "SilverOutput",
    "Utility",
    "all_utilities",
    "delivered",
    "delivers",
    "get_utility",
    "register",
    "storage_spec",
    "unregister",
]
