"""The utility registry: every utility the platform can ingest, by id.

Adding a utility means writing an adapter module (its delivered files and its bronze →
silver function) and registering it here or at run time with ``register``; no asset
changes. Unknown utility ids fail with a message naming the registry.
"""

from __future__ import annotations

from gridflow_assets.utilities.base import SilverInput, SilverOutput, Utility

_REGISTRY: dict[str, Utility] = {}


def register(utility: Utility) -> Utility:
    _REGISTRY[utility.utility_id] = utility
    return utility


def unregister(utility_id: str) -> None:
    _REGISTRY.pop(utility_id, None)


def get_utility(utility_id: str) -> Utility:
    _load_builtin()
    try:
        return _REGISTRY[utility_id]
    except KeyError:
        raise KeyError(
            f"no adapter registered for utility {utility_id!r} (known: {sorted(_REGISTRY)}); "
            "add one under gridflow_assets/utilities and register it") from None


def delivers(utility_id: str, requires: tuple[str, ...]) -> bool:
    """Whether the utility delivers every bronze table in ``requires``."""
    sources = get_utility(utility_id).sources
    return all(name in sources for name in requires)


def all_utilities() -> list[Utility]:
    _load_builtin()
    return list(_REGISTRY.values())


_builtin_loaded = False


def _load_builtin() -> None:
    """Register the built-in utilities on first use (import-time cycles avoided)."""
    global _builtin_loaded
    if not _builtin_loaded:
        _builtin_loaded = True
        from gridflow_assets.utilities import builtin

        for utility in builtin.BUILTIN:
            _REGISTRY.setdefault(utility.utility_id, utility)


__all__ = [
    "SilverInput",
    "SilverOutput",
    "Utility",
    "all_utilities",
    "delivers",
    "get_utility",
    "register",
    "unregister",
]
