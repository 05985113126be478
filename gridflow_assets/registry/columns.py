"""Columns shared by several tables, declared once and reused by reference."""

from gridflow_assets.domain.localday import LOCAL_DAY_MAX_S, LOCAL_DAY_MIN_S
from gridflow_assets.domain.quality import ALL_CODES
from gridflow_assets.registry.model import Column

UTILITY_ID = Column(
    "utility_id", "string", "Utility that delivered the row (e.g. UTILITY1)", nullable=False
)
SERVICE_POINT_ID = Column(
    "service_point_id",
    "string",
    "Service point (NY service point / premise, IESCO consumer connection), namespaced "
    "'<UTILITY>:<id>'. Pseudonymise before any external use: NY ids embed the ZIP.",
    pii=True,
)
METER_ID = Column("meter_id", "string", "Meter, namespaced '<UTILITY>:<id>'", nullable=False)
SOURCE_FILE = Column(
    "source_file", "string", "Landed file the row came from (<UTILITY>/<YYYY-MM>/<file>)"
)
SOURCE_ROW = Column(
    "source_row", "int", "1-based data row in the landed file (line = row + 1)", ge=1
)
MEASUREMENT = Column(
    "measurement",
    "string",
    "Quantity measured (ESPI reading type)",
    nullable=False,
    isin=("kWh", "kVArh", "unknown"),
)
DIRECTION = Column(
    "direction",
    "string",
    "Flow direction (ESPI flowDirection)",
    nullable=False,
    isin=("delivered", "received", "net", "unknown"),
)
READING_KIND = Column(
    "reading_kind",
    "string",
    "interval = energy in the interval; register = cumulative register read",
    nullable=False,
    isin=("interval", "register", "unknown"),
)
INTERVAL_S = Column(
    "interval_s",
    "int",
    "Interval length in seconds (a local day for daily reads: "
    f"{LOCAL_DAY_MIN_S:,} to {LOCAL_DAY_MAX_S:,} s on DST days)",
    unit="s",
    nullable=False,
    ge=60,
    le=LOCAL_DAY_MAX_S,
)
QUALITY_CODE = Column(
    "quality_code",
    "int",
    "Common quality code (NAESB ESPI QualityOfReading)",
    nullable=False,
    isin=ALL_CODES,
)
QUALITY_CODE_ORIGINAL = Column(
    "quality_code_original", "string", "Quality code exactly as the utility delivered it"
)
LOCAL_DATE = Column(
    "local_date", "date", "Calendar day in the utility's local time zone", nullable=False
)
RULE_IDS = Column(
    "rule_ids", "string", "';'-separated ids of the rules that touched the row (see reason codes)"
)
DERIVED_RULES = Column(
    "derived_rules",
    "string",
    "';'-separated rules that derived values the delivered format variant lacks (see the "
    "source schemas: format variants); null when every value was delivered",
)
IS_ESTIMATED = Column(
    "is_estimated",
    "bool",
    "The value is a VEE estimate (E1-E3): a missing interval added, or a "
    "failed delivered value replaced (the delivered one is in "
    "value_original)",
    nullable=False,
)
ESTIMATION_METHOD = Column(
    "estimation_method",
    "string",
    "How a VEE estimate was made: interpolated (E1), like_day_profile "
    "(E2), scaled_to_register (E3: the run adds up to the register "
    "difference; the shape it scaled is in rule_ids); null when not "
    "estimated by VEE",
    isin=("interpolated", "like_day_profile", "scaled_to_register"),
)
