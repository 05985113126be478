"""migrate.py without the CLI: which files of an old version become which meter bucket,
and what ``unconverted`` takes for the old pointer layout (and what not)."""

import json

import pytest

from gridflow_assets.store.migrate import MARKER, POINTER, _layout, refusal, unconverted
from gridflow_assets.store.storage import open_location


def files(*rows: int) -> list[tuple[str, int]]:
    return [(f"part-{i}.parquet", n) for i, n in enumerate(rows)]


@pytest.mark.parametrize(
    ("rows", "buckets", "layout"),
    [
        # written whole: one bucket, the files in their order
        ((5,), [], [(0, 0)]),
        ((3, 2), [], [(0, 0), (0, 1)]),
        ((5,), [5], [(0, 0)]),
        # one file per bucket (BucketWriter), empty buckets included
        ((3, 0, 2), [3, 0, 2], [(0, 0), (1, 0), (2, 0)]),
        # one file holding several buckets: one bucket, read whole
        ((5,), [3, 2], [(0, 0)]),
        # a file that starts inside a bucket continues it; one that starts a bucket starts one
        ((2, 1, 2), [3, 2], [(0, 0), (0, 1), (1, 0)]),
        ((4, 1), [3, 2], [(0, 0), (0, 1)]),
        # buckets that do not add up to the files: written whole
        ((3, 2), [3, 3], [(0, 0), (0, 1)]),
    ],
)
def test_layout_keeps_the_meter_buckets_files_were(rows, buckets, layout):
    assert _layout(files(*rows), buckets) == layout


def pointer(folder, version="abc"):
    (folder / f"v={version}").mkdir(parents=True)
    (folder / f"v={version}" / "part-0.parquet").write_bytes(b"")
    doc = {"version": version, "files": [{"name": "part-0.parquet", "rows": 0}]}
    (folder / POINTER).write_text(json.dumps(doc))


def test_unconverted_finds_the_old_layout_cheaply(tmp_path):
    loc = open_location(tmp_path)
    assert unconverted(loc) == []  # an empty warehouse
    pointer(tmp_path / "gold" / "dim_date")
    pointer(tmp_path / "gold" / "fact_bills" / "utility=UTILITY1" / "month=2025-03")
    pointer(tmp_path / "gold" / "not_a_table")  # not in the registry: not refused
    assert unconverted(loc) == ["gold/dim_date", "gold/fact_bills"]
    assert unconverted(loc, ["gold/fact_bills"]) == ["gold/fact_bills"]
    assert unconverted(loc, ["gold/fact_payments"]) == []


def test_unconverted_does_not_take_a_delta_table_for_the_old_layout(tmp_path):
    loc = open_location(tmp_path)
    # a Delta table, and one whose first commit is still being written (files, no log yet)
    table = tmp_path / "gold" / "fact_bills"
    (table / "_delta_log").mkdir(parents=True)
    (table / "utility=UTILITY1" / "month=2025-03").mkdir(parents=True)
    first = tmp_path / "gold" / "fact_payments" / "utility=UTILITY1" / "month=2025-03"
    first.mkdir(parents=True)
    (first / "part-00000-000-stream-0123456789abcdef.parquet").write_bytes(b"")
    assert unconverted(loc) == []
    # a migration cut short leaves its marker beside the log until it is finished
    (table / MARKER).write_text("{}")
    assert unconverted(loc) == ["gold/fact_bills"]


def test_refusal_names_migrate_and_a_few_tables():
    line = refusal(["a/1", "a/2", "a/3", "a/4", "a/5"])
    assert "(a/1, a/2, a/3 and 2 more)" in line and "`gridflow migrate`" in line
