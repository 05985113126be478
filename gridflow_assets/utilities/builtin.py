"""The utilities the platform ships with."""

from gridflow_assets.utilities import utility1, utility2

BUILTIN = [utility1.UTILITY, utility2.UTILITY]
