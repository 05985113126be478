"""Reading drops: complete-drop protocol, manifest, file-level errors, row lineage."""

import hashlib
import json

import polars as pl
import pytest

from gridflow_assets.silver.adapters.utility1 import SOURCES as U1
from gridflow_assets.store.landing import (
    DropError,
    _digest_and_count,
    discover_drops,
    find_drop,
    read_source,
    verify_manifest,
)
from gridflow_assets_tests.crafted import land_utility1


def test_discover_skips_incomplete_and_invalid_folders(folders):
    landing = folders[0]
    land_utility1(landing)
    (landing / "UTILITY1" / "2025-04").mkdir()  # still arriving: no _SUCCESS
    (landing / "../evil").resolve().mkdir(exist_ok=True)
    (landing / "utility1").mkdir()
    (landing / "UTILITY1" / "2025-4").mkdir()
    drops, skipped = discover_drops(landing)
    assert [(d.utility, d.month) for d in drops] == [("UTILITY1", "2025-03")]
    reasons = dict(skipped)
    assert "no _SUCCESS" in reasons["UTILITY1/2025-04"]
    assert "not a valid month" in reasons["UTILITY1/2025-4"]
    assert "not a valid utility id" in reasons["utility1"]


def test_bom_stripped_text_kept_and_rows_numbered(folders):
    drop = find_drop(land_utility1(folders[0]).parent.parent, "UTILITY1", "2025-03")
    sp = read_source(drop, U1["service_points"])
    assert sp.columns[0] == "SERVICE_POINT_ID"  # no BOM glued to the first name
    assert sp["SERVICE_POINT_ZIP"].to_list() == ["10001", "06390", "06390"]  # leading zero kept
    assert sp["_source_row"].to_list() == [1, 2, 3]
    assert set(sp["_source_file"]) == {"UTILITY1/2025-03/utility1_service_points.csv"}


def test_ragged_row_is_kept_with_its_text(folders):
    drop = find_drop(land_utility1(folders[0]).parent.parent, "UTILITY1", "2025-03")
    iv = read_source(drop, U1["readings"])
    assert len(iv) == 10  # every landed data row, the ragged last one included
    ragged = iv.filter(pl.col("_parse_error").is_not_null())
    assert ragged["_source_row"].to_list() == [10]
    assert "expected 9 fields, got 4" in ragged["_parse_error"][0]
    assert ragged["meter_id"].is_null().all()


def test_missing_column_names_drop_file_and_column(folders):
    bad = "meter_id,meter_timestamp,meter_duration,meter_value,meter_type\nMTR-00000001,x,1,2,C"
    land_utility1(folders[0], utility1_meters__csv=bad)
    drop = find_drop(folders[0], "UTILITY1", "2025-03")
    with pytest.raises(DropError) as exc:
        read_source(drop, U1["meters"])
    msg = str(exc.value)
    assert "drop UTILITY1/2025-03" in msg and "file utility1_meters.csv" in msg
    assert "column meter_category" in msg


def test_invalid_utf8_names_the_row(folders):
    landing = folders[0]
    folder = land_utility1(landing)
    path = folder / "utility1_service_points.csv"
    data = path.read_bytes().replace(b"2 Old Rd", b"2 Old \xff\xfe Rd")
    path.write_bytes(data)
    with pytest.raises(DropError) as exc:
        read_source(find_drop(landing, "UTILITY1", "2025-03"), U1["service_points"])
    assert "row 2" in str(exc.value) and "invalid UTF-8" in str(exc.value)
    assert "column SERVICE_POINT_STREET" in str(exc.value)


def test_empty_file_is_a_drop_error(folders):
    folder = land_utility1(folders[0])
    (folder / "utility1_meters.csv").write_bytes(b"")
    with pytest.raises(DropError, match="file utility1_meters.csv: file is empty"):
        read_source(find_drop(folders[0], "UTILITY1", "2025-03"), U1["meters"])


def test_manifest_checksum_and_row_count_are_verified(folders):
    folder = land_utility1(folders[0])
    data = (folder / "utility1_meters.csv").read_bytes()
    entry = {"file": "utility1_meters.csv", "sha256": hashlib.sha256(data).hexdigest(), "rows": 5}
    (folder / "manifest.json").write_text(json.dumps({"files": [entry]}))
    drop = find_drop(folders[0], "UTILITY1", "2025-03")
    assert verify_manifest(drop) is not None
    entry["rows"] = 6
    (folder / "manifest.json").write_text(json.dumps({"files": [entry]}))
    with pytest.raises(DropError, match="5 data rows, manifest says 6"):
        verify_manifest(drop)
    entry.update(rows=5, sha256="0" * 64)
    (folder / "manifest.json").write_text(json.dumps({"files": [entry]}))
    with pytest.raises(DropError, match="sha256 .* does not match"):
        verify_manifest(drop)
    entry.update(file="../../etc/passwd")
    (folder / "manifest.json").write_text(json.dumps({"files": [entry]}))
    with pytest.raises(DropError, match="invalid file"):
        verify_manifest(drop)


def test_drop_without_success_cannot_be_read(folders):
    folder = land_utility1(folders[0])
    (folder / "_SUCCESS").unlink()
    with pytest.raises(DropError, match="missing _SUCCESS"):
        find_drop(folders[0], "UTILITY1", "2025-03")


def test_manifest_row_count_is_read_in_chunks(tmp_path):
    """Blank lines (LF or CRLF) are not rows; a last line without a newline is. The count
    and the digest are the same whatever the chunk boundaries."""
    data = b"a,b\r\n1,2\r\n\r\n3,4\n\n\n5,6\r\n\r\r\n7,8"
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    for size in (1, 2, 3, 5, 1 << 20):
        assert _digest_and_count(path, size) == (hashlib.sha256(data).hexdigest(), 4)
    path.write_bytes(b"a,b")
    assert _digest_and_count(path, 2)[1] == 0


def test_ragged_row_after_blank_lines_keeps_its_data_row_number(folders):
    folder = land_utility1(folders[0])
    header = (folder / "utility1_meters.csv").read_bytes().split(b"\n")[0]
    rows = b"MTR-00000001,2025-03-01T00:00:00Z,1,2,C,D\n\r\n\nMTR-00000002,x\nMTR-3,a,b,c,d,e\n"
    (folder / "utility1_meters.csv").write_bytes(header + b"\n" + rows)
    df = read_source(find_drop(folders[0], "UTILITY1", "2025-03"), U1["meters"])
    assert df["_source_row"].to_list() == [1, 2, 3]
    assert df["_parse_error"].to_list() == [None, "expected 6 fields, got 2: MTR-00000002,x", None]
    assert df["meter_id"].to_list() == ["MTR-00000001", None, "MTR-3"]
