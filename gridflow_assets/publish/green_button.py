"""Green Button (ESPI) export of one month × utility partition: one Atom feed per service point.

``write_feeds`` writes ``<out>/<key>.xml`` for each service point of the partition's
``gold/dim_service_point``, where ``<key>`` is the service point's pseudonymous key (the
``service_point_key`` of ``gold/dim_service_point_external``: a keyed hash of the utility's
id, ``gridflow_assets/pii.py``). No utility id is written: not in a file name, an href, an
id or a title. Ids are deterministic (``urn:uuid`` UUID5 of the utility, the month and the
resource's href), and ``published`` / ``updated`` are the time the partition's readings were
last committed, so an export of unchanged data is the same bytes.

A feed holds, in this order (``espi.py`` says which ESPI codes):

* the UsagePoint (electricity), related to its MeterReading collection and to
* the LocalTimeParameters of the utility's time zone in the month's year;
* per reading type (measurement, direction, interval length) of each meter channel that
  delivered the service point's readings (normally one meter channel per type; a meter
  exchanged within the month gives two MeterReadings of one type): a MeterReading related
  to its ReadingType and its IntervalBlock collection, the ReadingType (once per type), and
  one IntervalBlock per local calendar day (``interval``: local midnight to the next, 23, 24
  or 25 hours) with the day's IntervalReadings in time order: ``ReadingQuality`` (the
  quality code), ``timePeriod`` (start, epoch seconds UTC; duration) and the value in
  milli-Wh (milli-VArh).

The readings are ``silver/intervals`` after VEE, the table ``experience/daily_summaries``
is built from; their local day is its ``local_date``. Readings that failed validation
(quality 10) are exported with quality 10: a consumer leaves them out of totals, as the
daily summaries do. Estimated readings carry their estimate and quality 8 or 9.

Not exported:

* register reads (cumulative, not usage) and readings of an unknown kind, measurement or
  direction (no ESPI reading type says what they are);
* daily reads (an interval of a whole local day, 82,800 s or more: UTILITY2): they are not
  interval data of one length, and UTILITY2 delivers a day's on-peak and off-peak parts
  under the reading type of its total, which one ESPI ReadingType cannot tell apart;
* readings whose service point is unknown or not in ``gold/dim_service_point`` (no
  pseudonymous key to file them under).

A service point without exportable readings gets a feed with its UsagePoint and
LocalTimeParameters only. The partition's exportable readings are read in one pass (the
columns they need): memory grows with the partition.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from gridflow_assets.pii import ENV_SECRET, SecretMissing, load_secret, pseudonymize
from gridflow_assets.publish import espi
from gridflow_assets.publish.espi import FLOW, RESOURCE, UOM, VALUE_SCALE, ReadingKind
from gridflow_assets.settings import is_url
from gridflow_assets.silver.vee_config import DAILY_MIN_S  # a daily read lasts a local day
from gridflow_assets.utilities import get_utility
from gridflow_assets.warehouse import Warehouse

SOURCE = "silver/intervals"
COLUMNS = [
    "service_point_id",
    "meter_id",
    "channel",
    "measurement",
    "direction",
    "reading_kind",
    "interval_s",
    "unit",
    "start_utc",
    "end_utc",
    "local_date",
    "value",
    "quality_code",
]
EXPORTED = (
    pl.col("reading_kind").eq_missing("interval")
    & pl.col("measurement").is_in(list(UOM))
    & pl.col("unit").eq_missing(pl.col("measurement"))
    & pl.col("direction").is_in(list(FLOW))
    & pl.col("interval_s").is_between(1, DAILY_MIN_S, closed="left")
)


def write_feeds(
    store: Warehouse, utility: str, month: str, out: Path, service_point: str | None = None
) -> list[Path]:
    """Write one ESPI Atom feed per service point of the partition to ``out/<key>.xml``
    (only ``service_point``'s, a pseudonymous key, when given) and return their paths in
    key order. ``ValueError`` for a key the partition does not know."""
    keys = pseudonyms(store, utility, month)
    if service_point is not None:
        if service_point not in keys:
            raise ValueError(
                f"service_point is not a pseudonymous key of {utility} {month} "
                f"({len(keys)} service points known)"
            )
        keys = {service_point: keys[service_point]}
    tz = get_utility(utility).timezone
    ctx = _Context(utility, month, tz, _updated(store, utility, month))
    rows = _readings(store, utility, month, list(keys.values()))
    by_id = {
        k[0]: frame for k, frame in rows.partition_by("service_point_id", as_dict=True).items()
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key in sorted(keys):
        path = out / f"{key}.xml"
        tmp = out / f".{key}.xml.tmp"
        espi.write(_feed(ctx, key, by_id.get(keys[key])), str(tmp))
        os.replace(tmp, path)
        written.append(path)
    return written


def pseudonyms(store: Warehouse, utility: str, month: str) -> dict[str, str]:
    """Pseudonymous key → service point id of the partition's service points, every key
    one of ``gold/dim_service_point_external``'s (else the key to make them is not the one
    gold was built with, and nothing is written)."""
    dim = store.read_pl("gold/dim_service_point", utility, month, columns=["service_point_id"])
    ext = store.read_pl(
        "gold/dim_service_point_external", utility, month, columns=["service_point_key"]
    )
    if dim is None or ext is None:
        raise FileNotFoundError(
            f"gold/dim_service_point and gold/dim_service_point_external {utility}/{month} "
            "are needed: materialize gold first"
        )
    ids = dim["service_point_id"].drop_nulls().unique().sort()
    keys = pseudonymize(ids, _secret(store))
    if not set(keys.to_list()) <= set(ext["service_point_key"].to_list()):
        raise ValueError(
            f"the pseudonymous keys made with the key in use ({ENV_SECRET} or .pii_secret) "
            f"are not those of gold/dim_service_point_external {utility}/{month}: use the "
            "key gold was built with"
        )
    return dict(zip(keys.to_list(), ids.to_list(), strict=True))


def _secret(store: Warehouse) -> bytes:
    """The pseudonymisation key, never a new one: ``load_secret`` would make up a key for
    a local warehouse that has none (``pii.py`` keeps it beside the warehouse folder), and
    keys made with it would match no key of gold."""
    location = store.location
    made = not is_url(location) and (Path(location).parent / ".pii_secret").exists()
    if not (os.environ.get(ENV_SECRET) or made):
        raise SecretMissing(
            f"no pseudonymisation key for {location}: set {ENV_SECRET} to the one gold was "
            "built with"
        )
    return load_secret(location)


def _updated(store: Warehouse, utility: str, month: str) -> datetime:
    """When the partition's readings were last committed (at or before ``as_of``)."""
    limit = store.as_of.astimezone(UTC) if store.as_of is not None else None
    times = [
        h["time"]
        for h in store.history(SOURCE, utility, month)
        if limit is None or h["time"] <= limit
    ]
    return max(times) if times else datetime.now(UTC)


def _readings(store: Warehouse, utility: str, month: str, ids: list[str]) -> pl.DataFrame:
    """The exportable readings of the service points ``ids``, with the start (epoch s),
    duration (s) and value (milli-units) a feed writes."""
    scan = store.scan(SOURCE, utility, month)
    if scan is None:
        raise FileNotFoundError(f"{SOURCE} {utility}/{month} is missing: materialize silver first")
    return (
        scan.select(COLUMNS)
        .filter(EXPORTED & pl.col("service_point_id").is_in(ids))
        .with_columns(
            _start=pl.col("start_utc").dt.epoch("s"),
            _duration=(pl.col("end_utc") - pl.col("start_utc")).dt.total_seconds(),
            _value=(pl.col("value") * VALUE_SCALE).round(0).cast(pl.Int64),
        )
        .collect()
    )


class _Context:
    """What every feed of one export shares."""

    def __init__(self, utility: str, month: str, tz: str, updated: datetime):
        self.utility, self.month, self.tz = utility, month, tz
        self.when = espi.atom_time(updated)
        self.local_time = espi.local_time(tz, int(month[:4]))

    def uid(self, href: str) -> str:
        name = f"gridflow:green-button:{self.utility}:{self.month}:{href}"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _meter_readings(rows: pl.DataFrame | None) -> list[tuple[ReadingKind, pl.DataFrame]]:
    """The service point's readings per reading type and meter channel: types in order,
    then meter channels by their first reading; each in time order."""
    if rows is None or rows.is_empty():
        return []
    groups = []
    for (measurement, direction, interval_s, _, _), frame in rows.partition_by(
        ["measurement", "direction", "interval_s", "meter_id", "channel"], as_dict=True
    ).items():
        kind = ReadingKind(measurement, direction, int(interval_s))
        frame = frame.sort("start_utc")
        groups.append((kind, frame["start_utc"][0], frame))
    groups.sort(key=lambda g: (g[0], g[1]))
    return [(kind, frame) for kind, _, frame in groups]


def _feed(ctx: _Context, key: str, rows: pl.DataFrame | None):
    """The feed of one service point (``key``) from its exportable readings."""
    base = f"{RESOURCE}/RetailCustomer/{key}/UsagePoint/{key}"
    ltp = f"{RESOURCE}/LocalTimeParameters/1"
    root = espi.feed(
        ctx.uid(f"{RESOURCE}/Batch/RetailCustomer/{key}/UsagePoint"),
        f"Green Button usage {ctx.month}",
        f"{RESOURCE}/Batch/RetailCustomer/{key}/UsagePoint",
        ctx.when,
    )
    espi.entry(
        root,
        ctx.uid(base),
        base,
        "Electricity service point",
        espi.usage_point(),
        ctx.when,
        related=(f"{base}/MeterReading", ltp),
    )
    espi.entry(
        root,
        ctx.uid(ltp),
        ltp,
        f"Local time {ctx.tz}",
        espi.local_time_parameters(ctx.local_time),
        ctx.when,
    )
    typed: set[ReadingKind] = set()
    for n, (kind, frame) in enumerate(_meter_readings(rows), start=1):
        reading = f"{base}/MeterReading/{n}"
        rtype = f"{RESOURCE}/ReadingType/{kind.slug}"
        espi.entry(
            root,
            ctx.uid(reading),
            reading,
            kind.title,
            espi.espi("MeterReading"),
            ctx.when,
            related=(f"{reading}/IntervalBlock", rtype),
        )
        if kind not in typed:
            typed.add(kind)
            title = f"Reading type: {kind.title}"
            espi.entry(root, ctx.uid(rtype), rtype, title, espi.reading_type(kind), ctx.when)
        for (day,), day_rows in frame.partition_by("local_date", as_dict=True).items():
            _block(ctx, root, reading, kind, day, day_rows)
    return root


def _block(ctx: _Context, root, reading: str, kind: ReadingKind, day: date, rows: pl.DataFrame):
    start, duration = espi.local_day(day, ctx.tz)
    href = f"{reading}/IntervalBlock/{day:%Y%m%d}"
    readings = list(rows.select("_start", "_duration", "_value", "quality_code").iter_rows())
    block = espi.interval_block(start, duration, readings)
    espi.entry(root, ctx.uid(href), href, f"{kind.title}, {day.isoformat()}", block, ctx.when)
