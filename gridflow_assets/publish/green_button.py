"""Green Button (ESPI) export of one month × utility partition: one Atom feed per service point.

``write_feeds`` writes ``<out>/<key>.xml`` for each service point of the partition's
``gold/dim_service_point``, where ``<key>`` is the service point's pseudonymous key (the
``service_point_key`` of ``gold/dim_service_point_external``: a keyed hash of the utility's
id, ``gridflow_assets/store/pii.py``). No utility id is written: not in a file name, an href, an
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
columns they need): memory grows with the partition. Their text is rendered by Polars for
service points of about ``BATCH_READINGS`` readings at a time, the feeds of those service
points written, then the next (a 10,000-meter month: 2 GB of feeds).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from gridflow_assets.domain.localday import LOCAL_DAY_MIN_S as DAILY_MIN_S  # a local day
from gridflow_assets.publish import espi
from gridflow_assets.publish.espi import FLOW, RESOURCE, UOM, VALUE_SCALE, ReadingKind
from gridflow_assets.silver.adapters import get_utility
from gridflow_assets.store.pii import ENV_SECRET, SecretMissing, load_secret, pseudonymize
from gridflow_assets.store.settings import is_url
from gridflow_assets.store.warehouse import Warehouse

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
BATCH_READINGS = 500_000  # readings rendered as text at a time (~120 MB of feeds)
# a meter channel's readings of one reading type: one MeterReading of the feed
CHANNEL = ["service_point_id", "measurement", "direction", "interval_s", "meter_id", "channel"]


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
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for batch, frame in _batches(rows, keys):
        blocks: dict[str, list[tuple]] = {}
        for block in _blocks(frame).iter_rows():
            blocks.setdefault(block[0], []).append(block)
        for key in batch:
            path = out / f"{key}.xml"
            tmp = out / f".{key}.xml.tmp"
            # as ElementTree.write opens it
            with open(tmp, "w", encoding="utf-8", errors="xmlcharrefreplace") as f:
                f.writelines(_feed(ctx, key, blocks.get(keys[key], [])))
            os.replace(tmp, path)
            written.append(path)
    return written


def _batches(rows: pl.DataFrame, keys: dict[str, str]):
    """The keys in order, in runs of about ``BATCH_READINGS`` readings, each with its
    service points' readings (in the order of ``rows``)."""
    counts = dict(rows["service_point_id"].value_counts().iter_rows())
    runs: list[list[str]] = [[]]
    size = 0
    for key in sorted(keys):
        if size >= BATCH_READINGS:
            runs.append([])
            size = 0
        runs[-1].append(key)
        size += counts.get(keys[key], 0)
    if len(runs) == 1:
        yield runs[0], rows
        return
    run_of = {keys[key]: n for n, run in enumerate(runs) for key in run}
    rows = rows.with_columns(
        _run=pl.col("service_point_id").replace_strict(run_of, return_dtype=pl.UInt32)
    )
    for n, run in enumerate(runs):
        yield run, rows.filter(pl.col("_run") == n)


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
        .drop("reading_kind", "unit", "end_utc", "value")  # not written
        .collect()
    )


def _blocks(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per IntervalBlock of the readings' feeds, in feed order per service point:
    its service point, reading type, meter channel (the index of its first row in ``rows``),
    local day and the text of its IntervalReadings.

    A service point's meter channels (one MeterReading each) come in the order of their
    reading type, then of their first reading, then of their first row; a channel's blocks
    are its local days in time order (by their first reading), each block's readings in
    time order."""
    kind = ["measurement", "direction", "interval_s"]
    return (
        rows.lazy()
        .with_row_index("_row")
        .with_columns(
            _channel_start=pl.col("start_utc").min().over(CHANNEL),
            _channel=pl.col("_row").min().over(CHANNEL),
            _day_start=pl.col("start_utc").min().over([*CHANNEL, "local_date"]),
            _text=espi.interval_readings(
                pl.col("_start"), pl.col("_duration"), pl.col("_value"), pl.col("quality_code")
            ),
        )
        .sort(
            ["service_point_id", *kind, "_channel_start", "_channel", "_day_start", "start_utc"],
            maintain_order=True,
        )
        .group_by(["service_point_id", *kind, "_channel", "local_date"], maintain_order=True)
        .agg(pl.col("_text").str.join(espi.READING_SEPARATOR))
        .collect()
    )


class _Context:
    """What every feed of one export shares: the time, the local time parameters, the
    resources' text and the days' intervals."""

    def __init__(self, utility: str, month: str, tz: str, updated: datetime):
        self.utility, self.month, self.tz = utility, month, tz
        self.when = espi.atom_time(updated)
        self.local_time = espi.local_time(tz, int(month[:4]))
        # uuid.uuid5(NAMESPACE_URL, name) is SHA-1 of the namespace and the name: the
        # common start of the names hashed once
        name = f"gridflow:green-button:{utility}:{month}:"
        self._uid_hash = hashlib.sha1(uuid.NAMESPACE_URL.bytes + name.encode("utf-8"))
        self.usage_point = espi.fragment(espi.usage_point(), 3)
        self.ltp = espi.fragment(espi.local_time_parameters(self.local_time), 3)
        self.meter_reading = espi.fragment(espi.espi("MeterReading"), 3)
        self._reading_types: dict[ReadingKind, str] = {}
        self._days: dict[date, tuple[int, int, str, str]] = {}

    def uid(self, href: str) -> str:
        """``urn:uuid:`` and ``uuid.uuid5(uuid.NAMESPACE_URL, name)`` of the export's name of
        ``href``."""
        sha = self._uid_hash.copy()
        sha.update(href.encode("utf-8"))
        b = bytearray(sha.digest()[:16])
        b[6] = (b[6] & 0x0F) | 0x50  # version 5
        b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
        h = b.hex()
        return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def reading_type(self, kind: ReadingKind) -> str:
        if kind not in self._reading_types:
            self._reading_types[kind] = espi.fragment(espi.reading_type(kind), 3)
        return self._reading_types[kind]

    def day(self, day: date) -> tuple[int, int, str, str]:
        """The local day's start (epoch s) and length (s), as ``%Y%m%d`` and ISO text."""
        if day not in self._days:
            self._days[day] = (*espi.local_day(day, self.tz), f"{day:%Y%m%d}", day.isoformat())
        return self._days[day]


def _feed(ctx: _Context, key: str, blocks: list[tuple]) -> list[str]:
    """The feed of one service point (``key``) as text, from its IntervalBlocks
    (``_blocks``' rows, in order)."""
    base = f"{RESOURCE}/RetailCustomer/{key}/UsagePoint/{key}"
    ltp = f"{RESOURCE}/LocalTimeParameters/1"
    batch = f"{RESOURCE}/Batch/RetailCustomer/{key}/UsagePoint"
    parts = [
        espi.feed_head(ctx.uid(batch), f"Green Button usage {ctx.month}", batch, ctx.when),
        espi.entry(
            ctx.uid(base),
            base,
            "Electricity service point",
            ctx.usage_point,
            ctx.when,
            related=(f"{base}/MeterReading", ltp),
        ),
        espi.entry(ctx.uid(ltp), ltp, f"Local time {ctx.tz}", ctx.ltp, ctx.when),
    ]
    typed: set[ReadingKind] = set()
    channel = reading = title = None
    n = 0
    for _, measurement, direction, interval_s, first_row, day, text in blocks:
        if first_row != channel:  # the next meter channel: its MeterReading
            channel, n = first_row, n + 1
            kind = ReadingKind(measurement, direction, int(interval_s))
            title = kind.title
            reading = f"{base}/MeterReading/{n}"
            rtype = f"{RESOURCE}/ReadingType/{kind.slug}"
            parts.append(
                espi.entry(
                    ctx.uid(reading),
                    reading,
                    title,
                    ctx.meter_reading,
                    ctx.when,
                    related=(f"{reading}/IntervalBlock", rtype),
                )
            )
            if kind not in typed:
                typed.add(kind)
                parts.append(
                    espi.entry(
                        ctx.uid(rtype),
                        rtype,
                        f"Reading type: {title}",
                        ctx.reading_type(kind),
                        ctx.when,
                    )
                )
        start, duration, ymd, iso = ctx.day(day)
        href = f"{reading}/IntervalBlock/{ymd}"
        block = espi.interval_block(start, duration, text)
        parts.append(espi.entry(ctx.uid(href), href, f"{title}, {iso}", block, ctx.when))
    parts.append(espi.FEED_END)
    return parts
