"""Property-based tests: for any mix of valid, duplicate, conflicting and invalid rows,
every landed row ends exactly once in silver or in rejects (landed = kept + duplicates +
rejected), and the CSV reader returns exactly the text that was written."""

import csv
import io
from datetime import datetime

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridflow_assets.silver.adapters import utility1, utility2
from gridflow_assets.silver.common import Rejects
from gridflow_assets.store.landing import Drop, SourceFile, read_source

CHANNELS = [
    "KWH 15 Minute Interval Read Interval",
    "KWH Net 15 Minute Interval Read Interval",
    "KVARH 5 Minute Interval Read Interval",
    "Mystery Channel",
]
GARBAGE = st.sampled_from(["", "null", "abc", "1e", "--", "2025-13-45T99:00:00Z", "MTR-"])

u1_row = st.fixed_dictionaries(
    {
        "service_delivery_point_id": st.sampled_from(["SP-00000001", "SP-00000002", "SP-1", ""]),
        "meter_id": st.sampled_from(["MTR-00000001", "MTR-00000002", "MTR-"]),
        "channel": st.sampled_from(CHANNELS),
        "duration": st.sampled_from(["900", "300", "0", "x"]),
        "value": st.one_of(st.floats(-5, 50, allow_nan=False).map(lambda v: f"{v:.3f}"), GARBAGE),
        "quality": st.sampled_from(["VAL", "NV", "??"]),
        "timestamp": st.one_of(
            st.sampled_from(
                [
                    "2025-03-09T00:00:00-05:00",
                    "2025-03-09T03:00:00-04:00",
                    "2025-11-02T01:00:00-04:00",
                    "2025-11-02T01:00:00-05:00",
                ]
            ),
            GARBAGE,
        ),
        "last_update_time": st.sampled_from(
            ["2025-03-10T00:00:00-04:00", "2025-03-11T00:00:00-04:00", ""]
        ),
        "exported_at": st.just("null"),
    }
)

u2_row = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(["1", "3", "9", "99"]),
        "duration": st.sampled_from(["0", "0", "60"]),
        "meter_id": st.sampled_from(["123456789", "1234567890", "12"]),
        "quality": st.sampled_from(["1", "51", "7"]),
        "timestamp": st.one_of(st.sampled_from(["20250309", "20250310", "20251102"]), GARBAGE),
        "value": st.one_of(st.integers(0, 999_999).map(str), GARBAGE),
    }
)


def _bronze(rows: list[dict], columns: tuple[str, ...], ragged: int) -> pl.DataFrame:
    """A bronze frame as read_source returns it: text columns, lineage, the first
    ``ragged`` rows unsplittable (fields null, text in _parse_error)."""
    n = len(rows)
    is_ragged = [i < ragged for i in range(n)]
    data = {
        c: [None if bad else r[c] for r, bad in zip(rows, is_ragged, strict=True)] for c in columns
    }
    return pl.DataFrame(
        {
            **{c: pl.Series(c, v, dtype=pl.String) for c, v in data.items()},
            "_source_file": pl.Series(["X/2025-03/f.csv"] * n, dtype=pl.String),
            "_source_row": pl.Series(range(1, n + 1), dtype=pl.Int64),
            "_parse_error": pl.Series(
                ["expected 9 fields, got 2: a,b" if bad else None for bad in is_ragged],
                dtype=pl.String,
            ),
        }
    )


def _assert_every_row_once(df: pl.DataFrame, kept: pl.DataFrame, rejects: Rejects, target: str):
    rej = rejects.frame().filter(pl.col("target_table") == target)
    rows = kept["source_row"].to_list() + rej["source_row"].to_list()
    assert sorted(rows) == df["_source_row"].to_list()  # each landed row exactly once
    assert set(rej["category"]) <= {"duplicate_exact", "duplicate_conflicting", "rejected"}


def _with_repeats(rows: list[dict], picks: list[int], tweak: bool) -> list[dict]:
    extra = []
    for i in picks:
        if rows:
            r = dict(rows[i % len(rows)])
            if tweak:
                r["value"] = "7.125"
            extra.append(r)
    return rows + extra


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(u1_row, max_size=25),
    st.lists(st.integers(0, 50), max_size=8),
    st.booleans(),
    st.integers(0, 2),
)
def test_utility1_intervals_account_for_every_row(rows, picks, tweak, ragged):
    df = _bronze(_with_repeats(rows, picks, tweak), utility1.SOURCES["readings"].columns, ragged)
    rejects = Rejects("UTILITY1")
    kept = utility1.intervals(
        df,
        rejects,
        "UTILITY1",
        utility1.TIMEZONE,
        pl.Series(["UTILITY1:SP-00000001"]),
        pl.Series(["UTILITY1:MTR-00000001"]),
    )
    _assert_every_row_once(df, kept, rejects, "intervals")
    assert not kept.select(["meter_id", "channel", "start_utc"]).is_duplicated().any()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(u2_row, max_size=25), st.lists(st.integers(0, 50), max_size=8), st.booleans())
def test_utility2_intervals_account_for_every_row(rows, picks, tweak):
    df = _bronze(_with_repeats(rows, picks, tweak), utility2.SOURCES["readings"].columns, 0)
    rejects = Rejects("UTILITY2")
    utc = pl.Datetime("us", "UTC")
    installs = pl.DataFrame(
        {
            "meter_id": ["UTILITY2:123456789"],
            "service_point_id": ["UTILITY2:PREM-00000001"],
            "installed_at_utc": pl.Series([datetime(2025, 3, 10)])
            .cast(utc)
            .dt.replace_time_zone("UTC"),
            "removed_at_utc": pl.Series([None], dtype=utc),
        }
    )
    sp = pl.DataFrame({"service_point_id": ["UTILITY2:PREM-00000001"]})
    kept = utility2.intervals(df, rejects, "UTILITY2", utility2.TIMEZONE, sp, installs)
    _assert_every_row_once(df, kept, rejects, "intervals")
    assert kept["interval_s"].is_in([82800, 86400, 90000]).all()


text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    max_size=12,
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(text, text, text), min_size=1, max_size=10), st.booleans())
def test_reader_returns_the_delivered_text(tmp_path_factory, rows, bom):
    folder = tmp_path_factory.mktemp("drop")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    data = buf.getvalue().encode()
    (folder / "f.csv").write_bytes(("\ufeff".encode() if bom else b"") + data)
    df = read_source(Drop("X", "2025-03", folder), SourceFile("f.csv", ("a", "b", "c")))
    got = df.select("a", "b", "c").rows()
    assert got == rows
    assert df["_source_row"].to_list() == list(range(1, len(rows) + 1))
