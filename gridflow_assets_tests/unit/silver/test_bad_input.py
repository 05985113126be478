"""Every bad-input case of docs/bad-input.md, with its outcome.

File-level problems stop the drop with a DropError naming drop, file, column and row (the
CLI exits 1 and the warehouse is unchanged); row-level problems send the row to
silver/rejects with a reason and the run goes on.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from gridflow_assets.silver.adapters import SilverInput, get_utility
from gridflow_assets.silver.adapters.utility1 import SOURCES as U1
from gridflow_assets.store.landing import (
    DropError,
    discover_drops,
    find_drop,
    read_source,
    verify_manifest,
)
from gridflow_assets_tests.crafted import BOM, U1_INTERVALS, land_utility1

SP_FILE = "utility1_service_points.csv"


def _read(landing, table="service_points"):
    return read_source(find_drop(landing, "UTILITY1", "2025-03"), U1[table])


def _write(landing, name, data: bytes):
    (landing / "UTILITY1" / "2025-03" / name).write_bytes(data)


# --- file level: the drop is stopped -----------------------------------------------------


@pytest.mark.parametrize(
    "case,data,expected",
    [
        (
            "missing column",
            "SERVICE_POINT_ID,SERVICE_POINT_NUMBER\nSP-1,1",
            "column SERVICE_POINT_STREET: required column missing",
        ),
        (
            "extra column",
            U1_INTERVALS.replace("exported_at", "exported_at,surprise", 1).split("\n")[0] + "\n",
            "column surprise: unexpected column",
        ),
    ],
)
def test_column_problems_stop_the_drop(folders, case, data, expected):
    land_utility1(folders[0])
    name = SP_FILE if case == "missing column" else "utility1_intervals.csv"
    _write(folders[0], name, (BOM + data).encode())
    with pytest.raises(DropError, match=expected) as exc:
        _read(folders[0], "service_points" if case == "missing column" else "readings")
    assert f"file {name}" in str(exc.value) and "drop UTILITY1/2025-03" in str(exc.value)


def test_empty_file_stops_the_drop(folders):
    land_utility1(folders[0])
    _write(folders[0], SP_FILE, b"")
    with pytest.raises(DropError, match="file is empty"):
        _read(folders[0])


def test_utf16_file_stops_the_drop(folders):
    land_utility1(folders[0])
    _write(folders[0], SP_FILE, "SERVICE_POINT_ID\nSP-1".encode("utf-16"))
    with pytest.raises(DropError, match="row 0: header is not UTF-8"):
        _read(folders[0])


def test_latin1_bytes_in_a_row_name_row_and_column(folders):
    folder = land_utility1(folders[0])
    data = (folder / SP_FILE).read_bytes().replace(b"Albany", "Alban\xe9".encode("latin-1"), 1)
    _write(folders[0], SP_FILE, data)
    with pytest.raises(DropError, match="column SERVICE_POINT_CITY, row 2: invalid UTF-8"):
        _read(folders[0])


@pytest.mark.parametrize(
    "manifest,expected",
    [
        ("{not json", "manifest.json is not valid"),
        (
            json.dumps({"files": [{"file": "utility1_meters.csv", "sha256": "0" * 64}]}),
            "sha256 .* does not match",
        ),
        (
            json.dumps({"files": [{"file": "utility1_meters.csv", "rows": 99}]}),
            "5 data rows, manifest says 99",
        ),
        (
            json.dumps({"files": [{"file": "gone.csv"}]}),
            "listed in manifest.json but not delivered",
        ),
        (json.dumps({"files": [{"file": "../x.csv"}]}), "invalid file"),
    ],
)
def test_manifest_problems_stop_the_drop(folders, manifest, expected):
    folder = land_utility1(folders[0])
    (folder / "manifest.json").write_text(manifest)
    with pytest.raises(DropError, match=expected):
        verify_manifest(find_drop(folders[0], "UTILITY1", "2025-03"))


def test_incomplete_and_invalid_folders_are_not_read(folders):
    landing = folders[0]
    folder = land_utility1(landing)
    (folder / "_SUCCESS").unlink()
    (landing / "UTILITY1" / "2025-3").mkdir()
    (landing / "Utility-1").mkdir()
    (landing / "LINKED").symlink_to(landing / "UTILITY1")
    drops, skipped = discover_drops(landing)
    assert drops == []
    reasons = dict(skipped)
    assert set(reasons) == {"UTILITY1/2025-03", "UTILITY1/2025-3", "Utility-1", "LINKED"}
    assert "symbolic links" in reasons["LINKED"]


# --- accepted as delivered ------------------------------------------------------------------


def test_header_only_file_is_an_empty_table(folders):
    folder = land_utility1(folders[0])
    header = (folder / "utility1_meters.csv").read_bytes().split(b"\n")[0]
    _write(folders[0], "utility1_meters.csv", header)
    df = _read(folders[0], "meters")
    assert len(df) == 0 and list(df.columns[:2]) == ["meter_id", "meter_timestamp"]


# --- row level: rejected with a reason, the run goes on -------------------------------------


def _silver_rejects(landing):
    u = get_utility("UTILITY1")
    drop = find_drop(landing, "UTILITY1", "2025-03")
    bronze = {n: read_source(drop, s) for n, s in u.sources.items()}
    rejects = u.to_silver(SilverInput("UTILITY1", "2025-03", u.timezone, bronze)).rejects
    return rejects.to_pandas().query("target_table == 'intervals'").set_index("source_row")


@pytest.mark.parametrize(
    "row,reason,column",
    [
        (
            "SP-10001001,MTR-00000001,{ch},900,abc,VAL,2025-03-09T05:00:00-04:00,,null",
            "INVALID_NUMBER",
            "value",
        ),
        (
            "SP-10001001,MTR-00000001,{ch},900,1.0,VAL,31/02/2025 25:00,,null",
            "INVALID_TIMESTAMP",
            "timestamp",
        ),
        (
            "SP-10001001,MTR-0001,{ch},900,1.0,VAL,2025-03-09T05:00:00-04:00,,null",
            "INVALID_ID",
            "meter_id",
        ),
        (
            "SP-10001001,MTR-00000001,{ch},60,1.0,VAL,2025-03-09T05:00:00-04:00,,null",
            "CHANNEL_DURATION_MISMATCH",
            "duration",
        ),
        ("SP-10001001,MTR-00000001,{ch},900", "MALFORMED_ROW", None),
    ],
)
def test_bad_rows_are_rejected_with_a_reason(folders, row, reason, column):
    ch = "KWH 15 Minute Interval Read Interval"
    header = U1_INTERVALS.split("\n")[0]
    good = U1_INTERVALS.split("\n")[1]
    land_utility1(folders[0])
    _write(
        folders[0],
        "utility1_intervals.csv",
        (BOM + "\n".join([header, good, row.format(ch=ch)])).encode(),
    )
    rejects = _silver_rejects(folders[0])
    assert rejects.loc[2, "reason_code"] == reason
    assert (
        pd.isna(rejects.loc[2, "column_name"])
        if column is None
        else rejects.loc[2, "column_name"] == column
    )
    assert 1 not in rejects.index  # the good row is kept


def test_the_docs_table_names_only_tests_that_exist():
    """docs/bad-input.md names, for every case, the tests that show it: each must exist."""
    import ast
    import re

    tests = Path(__file__).parents[2]  # unit/ and integration/
    table = (tests.parent / "docs" / "bad-input.md").read_text(encoding="utf-8")
    named = re.findall(r"`(test_\w+)::(test_\w+)`", table)
    assert len(named) >= 25
    defined: dict[str, set[str]] = {}
    for module in {m for m, _ in named}:
        path = next(tests.rglob(f"{module}.py"))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined[module] = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    missing = [f"{m}::{t}" for m, t in named if t not in defined[m]]
    assert missing == []
