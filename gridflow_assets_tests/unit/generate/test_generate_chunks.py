"""IESCO readings made and written a chunk of meters at a time: a chunked drop is a valid,
deterministic drop whose manifest counts every row, month-wide behaviour (load shedding)
stays feeder-wide across chunks, and a file written in pieces is the file written whole."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from gridflow_assets.generate.common import DropWriter, csv_bytes, csv_pieces
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.generate.iesco_master import build_master
from gridflow_assets.generate.iesco_readings import monthly_targets, readings

METERS, CHUNK = 10, 3  # chunks of 3, 3, 3 and 1 meters
MONTH = "2024-06"
HOURS = 30 * 24


def _drop(landing: Path, faults: str, chunk: int = CHUNK) -> Path:
    (folder,) = generate_iesco(
        landing, [MONTH], meters=METERS, seed=5, faults=faults, chunk_meters=chunk
    )
    return folder


def _readings(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "readings.csv", dtype={"meter_number": str})


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _drop(tmp_path_factory.mktemp("heavy"), "heavy")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _drop(tmp_path_factory.mktemp("clean"), "none")


def test_chunked_generation_is_deterministic(tmp_path: Path, heavy: Path) -> None:
    again = _drop(tmp_path / "again", "heavy")
    for name in ("meters.csv", "readings.csv", "bills.csv", "payments.csv", "manifest.json"):
        assert (again / name).read_bytes() == (heavy / name).read_bytes(), name
    whole = _drop(tmp_path / "whole", "heavy", chunk=METERS)
    # later chunks draw from their own streams: chunking is a different (valid) drop
    assert (whole / "readings.csv").read_bytes() != (heavy / "readings.csv").read_bytes()
    assert (whole / "meters.csv").read_bytes() == (heavy / "meters.csv").read_bytes()


def test_manifest_counts_every_row_of_a_chunked_drop(heavy: Path) -> None:
    manifest = json.loads((heavy / "manifest.json").read_text())
    assert [f["file"] for f in manifest["files"]] == [
        "meters.csv",
        "readings.csv",
        "bills.csv",
        "payments.csv",
    ]
    for entry in manifest["files"]:
        raw = (heavy / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest()
        lines = raw.decode().splitlines()
        header = lines[0]
        assert header not in lines[1:]  # the header once, not once per chunk
        assert entry["rows"] == len(lines) - 1 == len(pd.read_csv(heavy / entry["file"]))
    assert (heavy / "_SUCCESS").exists()


def test_every_meter_read_in_meter_order_with_faults_in_every_chunk(heavy: Path) -> None:
    meters = pd.read_csv(heavy / "meters.csv", dtype={"meter_number": str})["meter_number"]
    rows = _readings(heavy)
    first_seen = rows["meter_number"].drop_duplicates()
    assert first_seen.tolist() == meters.tolist()  # contiguous blocks, chunk after chunk
    chunk_of = rows["meter_number"].map({m: i // CHUNK for i, m in enumerate(meters)})
    for _, part in rows.groupby(chunk_of):
        assert part.duplicated().any()  # exact duplicate rows injected in every chunk
        unique = part.drop_duplicates(["meter_number", "timestamp"])
        assert len(unique) < part["meter_number"].nunique() * HOURS  # missing blocks too


def test_load_shedding_is_feeder_wide_across_chunks(clean: Path) -> None:
    meters = pd.read_csv(clean / "meters.csv", dtype={"meter_number": str})
    rows = _readings(clean).merge(meters[["meter_number", "feeder_name"]], on="meter_number")
    assert len(rows) == METERS * HOURS and not rows.duplicated(["meter_number", "timestamp"]).any()
    chunk_of = {m: i // CHUNK for i, m in enumerate(meters["meter_number"])}
    rows["chunk"] = rows["meter_number"].map(chunk_of)
    spread = rows.groupby("feeder_name")["chunk"].nunique()
    assert (spread > 1).any()  # some feeder has meters in two chunks
    shed = (rows["status"] == "load_shedding").groupby([rows["feeder_name"], rows["timestamp"]])
    assert set(shed.mean().unique()) <= {0.0, 1.0}
    assert (rows["status"] == "load_shedding").any()


def test_register_continues_hour_to_hour_in_every_chunk(heavy: Path) -> None:
    rows = _readings(heavy).drop_duplicates()
    same_meter = rows["meter_number"].eq(rows["meter_number"].shift())
    stamps = pd.to_datetime(rows["timestamp"])
    next_hour = (stamps - stamps.shift()).eq(pd.Timedelta(hours=1))
    step = rows["reading_kwh"].diff()
    pairs = same_meter & next_hour
    assert pairs.sum() > METERS * (HOURS - 100)
    assert np.allclose(step[pairs], rows["consumption_kwh"][pairs], atol=1e-6)


def test_a_file_written_in_pieces_is_the_file_written_whole(tmp_path: Path) -> None:
    master = build_master(4, 3, 2)
    consumption, solar = monthly_targets(master, 2024 * 12 + 5)
    frame = readings(master, 2024, 6, master.reg0_wh, consumption, solar)
    halves = [frame.slice(0, 1000), frame.slice(1000)]
    pieces = list(csv_pieces(halves, rows=700))
    assert b"".join(text for text, _ in pieces) == csv_bytes(frame)
    rest = frame.height - 1000
    expected = [700, 300] + [700] * (rest // 700) + [rest % 700] * bool(rest % 700)
    assert [rows for _, rows in pieces] == expected  # no piece spans two frames
    writer = DropWriter(tmp_path, "IESCO", MONTH)
    writer.write_csv("readings.csv", iter(halves))
    folder = writer.close()
    (entry,) = json.loads((folder / "manifest.json").read_text())["files"]
    assert entry["rows"] == frame.height
    assert (folder / "readings.csv").read_bytes() == csv_bytes(frame)


def test_an_empty_first_frame_still_writes_the_header() -> None:
    frame = pl.DataFrame({"a": [1, 2, 3], "b": ["x", None, "z"]})
    pieces = list(csv_pieces([frame.clear(), frame], rows=2))
    assert b"".join(text for text, _ in pieces) == csv_bytes(frame) == b"a,b\n1,x\n2,\n3,z\n"
    assert sum(rows for _, rows in pieces) == 3


def test_bad_chunk_size() -> None:
    with pytest.raises(ValueError, match="chunk_meters"):
        generate_iesco(Path("unused"), [MONTH], meters=4, chunk_meters=0)
