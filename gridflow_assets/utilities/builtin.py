"""The utilities the platform ships with."""

from gridflow_assets.utilities import iesco, utility1, utility2

BUILTIN = [utility1.UTILITY, utility2.UTILITY, iesco.UTILITY]
