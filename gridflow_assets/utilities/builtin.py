"""The utilities the platform ships with: the registry (``utilities/__init__.py``) starts
with them."""

from gridflow_assets.utilities import iesco, utility1, utility2

BUILTIN = [utility1.UTILITY, utility2.UTILITY, iesco.UTILITY]
