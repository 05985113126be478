"""Synthetic drop generators, one per utility, keyed by utility id."""

from __future__ import annotations

from collections.abc import Callable


def _load() -> dict[str, Callable]:
    gens: dict[str, Callable] = {}
    from gridflow_assets.generate import ny

    gens.update(ny.GENERATORS)
    try:
        from gridflow_assets.generate import iesco
    except ImportError:  # IESCO generator not installed in this build
        iesco = None
    if iesco is not None:
        gens.update(iesco.GENERATORS)
    return gens


def __getattr__(name: str):
    if name == "GENERATORS":
        return _load()
    raise AttributeError(name)
