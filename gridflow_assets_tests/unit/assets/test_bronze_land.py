"""Bronze plans a partition's meter buckets from the rows known before reading (the
manifest's count or the file's lines); when the rows read give another bucket count (quoted
fields spanning lines), the readings are written again in the count the rows give, the one
silver buckets the table with."""

from types import SimpleNamespace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gridflow_assets.assets.bronze import _land
from gridflow_assets.silver.adapters.utility1 import SOURCES as U1
from gridflow_assets.silver.pipeline import CHUNK_ENV, bucket_count
from gridflow_assets.store.landing import expected_rows, find_drop, read_source
from gridflow_assets.store.warehouse import Warehouse
from gridflow_assets_tests.crafted import U1_INTERVALS, land_utility1

KEY = "bronze/readings"


def _two_line_rows() -> str:
    """The crafted intervals, every parsed row's last field quoted over two lines."""
    header, *rows = U1_INTERVALS.split("\n")
    return "\n".join([header, *(r.replace(",null", ',"null\nnull"') for r in rows[:-1])])


@pytest.mark.parametrize("per_bucket,buckets", [(4, 3), (9, 1)])
def test_buckets_follow_the_rows_read_not_the_lines(folders, monkeypatch, per_bucket, buckets):
    land_utility1(folders[0], utility1_intervals__csv=_two_line_rows())
    drop = find_drop(folders[0], "UTILITY1", "2025-03")
    whole = read_source(drop, U1["readings"])
    lines = expected_rows(drop, U1["readings"], None)
    assert (len(whole), lines) == (9, 18)
    monkeypatch.setenv(CHUNK_ENV, str(per_bucket))
    assert bucket_count(lines, per_bucket) > bucket_count(len(whole), per_bucket) == buckets
    run = SimpleNamespace(store=Warehouse(folders[1]), utility="UTILITY1", month="2025-03")
    landed = _land(run, KEY, drop, U1["readings"], None, readings=True)
    if buckets == 1:  # written whole, as any partition of one bucket
        assert landed.writer is None
        assert_frame_equal(landed.frame, whole)
        return
    landed.writer.publish()
    assert landed.frame is None and landed.writer.buckets == run.store.bucket_rows(
        KEY, "UTILITY1", "2025-03"
    )
    assert len(landed.writer.buckets) == buckets
    back = pl.concat(run.store.iter_buckets(KEY, "UTILITY1", "2025-03"))
    assert_frame_equal(back.sort("_source_row"), whole)
    # one file per bucket, all committed: the first writing, planned from the lines, was
    # discarded
    part = folders[1] / "bronze" / "readings" / "utility=UTILITY1" / "month=2025-03"
    assert sorted(str(p) for p in part.iterdir()) == sorted(
        run.store.files(KEY, "UTILITY1", "2025-03")
    )
