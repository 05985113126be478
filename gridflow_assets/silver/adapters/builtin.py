"""The utilities the platform ships with: the registry (``silver/adapters/__init__.py``)
starts with them."""

from gridflow_assets.silver.adapters import iesco, utility1, utility2

BUILTIN = [utility1.UTILITY, utility2.UTILITY, iesco.UTILITY]
