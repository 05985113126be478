"""The two New York generators under one name, for callers written before they were split.

Each utility has its own module (:mod:`.utility1`, :mod:`.utility2`); this one only gathers
their public names.
"""

from gridflow_assets.generate.ny_common import TIMEZONE
from gridflow_assets.generate.utility1 import U1_CHANNELS, U1_COLUMNS, UTILITY1, generate_utility1
from gridflow_assets.generate.utility2 import generate_utility2
from gridflow_assets.generate.utility2_population import U2_COLUMNS, UTILITY2

GENERATORS = {UTILITY1: generate_utility1, UTILITY2: generate_utility2}

__all__ = [
    "GENERATORS",
    "TIMEZONE",
    "U1_CHANNELS",
    "U1_COLUMNS",
    "U2_COLUMNS",
    "UTILITY1",
    "UTILITY2",
    "generate_utility1",
    "generate_utility2",
]
