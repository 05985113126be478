"""Reading a delivered file block by block (``iter_source``) gives exactly what reading it
whole gives (``read_source``): the rows, their lineage, ragged rows in place, and the same
errors, whatever the block boundaries."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gridflow_assets.silver.adapters.utility1 import SOURCES as U1
from gridflow_assets.store.landing import (
    DropError,
    expected_rows,
    find_drop,
    iter_source,
    read_source,
)
from gridflow_assets_tests.crafted import U1_INTERVALS, land_utility1

READINGS = "utility1_intervals.csv"
# A few rows a block (a block holds at least the header): every crafted file in several.
SMALL_BLOCKS = (256, 700)


def _drop(landing):
    return find_drop(landing, "UTILITY1", "2025-03")


def _blocks(landing, table: str, block_size: int) -> list[pl.DataFrame]:
    return list(iter_source(_drop(landing), U1[table], block_size))


def _assert_streams_as_read(landing, table: str) -> pl.DataFrame:
    whole = read_source(_drop(landing), U1[table])
    for size in SMALL_BLOCKS:
        blocks = _blocks(landing, table, size)
        assert len(blocks) >= 1
        assert_frame_equal(pl.concat(blocks), whole)
    return whole


def _ragged_readings() -> str:
    """The crafted intervals with ragged rows first, in the middle (several in a row, around
    blank lines) and last."""
    header, *rows = U1_INTERVALS.split("\n")
    good = rows[:-1]
    return "\n".join(
        [header, "SP-1,short", *good[:3], "x,y", "", "a", "\r", *good[3:], "tail,1", "tail,2"]
    )


def test_bom_and_crafted_files_stream_as_read(folders):
    land_utility1(folders[0])
    sp = _assert_streams_as_read(folders[0], "service_points")
    assert sp.columns[0] == "SERVICE_POINT_ID" and sp["_source_row"].to_list() == [1, 2, 3]
    for table in ("meters", "readings"):
        _assert_streams_as_read(folders[0], table)
    assert len(_blocks(folders[0], "readings", 256)) > 3  # really read in blocks


def test_ragged_rows_keep_their_place_across_blocks(folders):
    land_utility1(folders[0], utility1_intervals__csv=_ragged_readings())
    df = _assert_streams_as_read(folders[0], "readings")
    assert df["_source_row"].to_list() == list(range(1, df.height + 1))
    ragged = df.filter(pl.col("_parse_error").is_not_null())
    assert ragged["_source_row"].to_list() == [1, 5, 6, 13, 14]
    assert ragged["_parse_error"].to_list()[-1] == "expected 9 fields, got 2: tail,2"
    assert ragged["meter_id"].is_null().all()
    parsed = df.filter(pl.col("_parse_error").is_null())
    assert parsed["meter_id"].null_count() == 0 and parsed.height == 9


def test_a_file_of_ragged_rows_only(folders):
    header = U1_INTERVALS.split("\n")[0]
    land_utility1(folders[0], utility1_intervals__csv=f"{header}\na,b\nc\n")
    df = _assert_streams_as_read(folders[0], "readings")
    assert df["_source_row"].to_list() == [1, 2] and df["_parse_error"].null_count() == 0


def test_header_only_and_empty_files(folders):
    header = U1_INTERVALS.split("\n")[0]
    land_utility1(folders[0], utility1_intervals__csv=header)
    df = _assert_streams_as_read(folders[0], "readings")
    assert df.height == 0 and df.columns[-3:] == ["_source_file", "_source_row", "_parse_error"]
    (folders[0] / "UTILITY1" / "2025-03" / READINGS).write_bytes(b" \n\r\n")
    for size in SMALL_BLOCKS:
        with pytest.raises(DropError, match=f"file {READINGS}: file is empty"):
            _blocks(folders[0], "readings", size)


def test_bad_utf8_in_a_later_block_names_the_same_row(folders):
    land_utility1(folders[0])
    path = folders[0] / "UTILITY1" / "2025-03" / READINGS
    path.write_bytes(path.read_bytes().replace(b"0.2,VAL", b"0.2,V\xffL"))
    with pytest.raises(DropError) as whole:
        read_source(_drop(folders[0]), U1["readings"])
    assert "row 6" in str(whole.value) and "column quality" in str(whole.value)
    with pytest.raises(DropError) as streamed:
        _blocks(folders[0], "readings", 256)
    assert str(streamed.value) == str(whole.value)


def test_expected_rows_from_the_manifest_or_the_lines(folders):
    folder = land_utility1(folders[0], utility1_intervals__csv=_ragged_readings())
    drop = _drop(folders[0])
    read = read_source(drop, U1["readings"]).height
    assert expected_rows(drop, U1["readings"], None) == read == 14
    manifest = {"files": [{"file": READINGS, "rows": 14}]}
    assert expected_rows(drop, U1["readings"], manifest) == 14
    (folder / READINGS).unlink()
    with pytest.raises(DropError, match="file missing"):
        expected_rows(drop, U1["readings"], None)
