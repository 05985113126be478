"""Synthetic drop generators, one module per utility, keyed by utility id."""

from gridflow_assets.generate import iesco, utility1, utility2

GENERATORS = {**utility1.GENERATORS, **utility2.GENERATORS, **iesco.GENERATORS}
