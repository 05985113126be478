"""Synthetic drop generators, one per utility, keyed by utility id."""

from gridflow_assets.generate import iesco, ny

GENERATORS = {**ny.GENERATORS, **iesco.GENERATORS}
