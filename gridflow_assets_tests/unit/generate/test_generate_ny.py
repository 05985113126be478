"""The New York generators write drops exactly as docs/formats/ describes, deterministically,
with faults only when asked for."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridflow_assets.generate import ny

MARCH, NOVEMBER = "2025-03", "2025-11"
KEY = ["meter_id", "timestamp", "channel"]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def drops(tmp_path_factory) -> dict[tuple[str, str], list[Path]]:
    """One small landing per (utility, faults), generated once for the whole module."""
    out = {}
    for utility, gen in ny.GENERATORS.items():
        for faults in ("none", "realistic"):
            landing = tmp_path_factory.mktemp(f"{utility}_{faults}")
            out[utility, faults] = gen(landing, [MARCH, NOVEMBER], meters=20, faults=faults)
    return out


def _drop(drops, utility: str, faults: str, month: str = MARCH) -> Path:
    return next(f for f in drops[utility, faults] if f.name == month)


# ------------------------------------------------------------------------------- both utilities


@pytest.mark.parametrize("utility", ["UTILITY1", "UTILITY2"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, utility):
    gen = ny.GENERATORS[utility]
    first = gen(tmp_path / "a", [MARCH], meters=8, seed=3)[0]
    again = gen(tmp_path / "b", [MARCH], meters=8, seed=3)[0]
    other = gen(tmp_path / "c", [MARCH], meters=8, seed=4)[0]
    assert _files(first) == _files(again)
    assert all(
        _files(first)[n] != _files(other)[n]
        for n in ny.U1_COLUMNS | ny.U2_COLUMNS
        if n in _files(first)
    )


@pytest.mark.parametrize("utility", ["UTILITY1", "UTILITY2"])
def test_month_alone_equals_month_in_a_range(tmp_path, utility):
    gen = ny.GENERATORS[utility]
    alone = gen(tmp_path / "a", [MARCH], meters=8)[0]
    in_range = gen(tmp_path / "b", ["2025-02", MARCH], meters=8)[1]
    assert _files(alone) == _files(in_range)


@pytest.mark.parametrize("utility", ["UTILITY1", "UTILITY2"])
def test_drop_layout_success_and_manifest(drops, utility):
    for folder in drops[utility, "realistic"]:
        assert folder.parent.name == utility and folder.name in (MARCH, NOVEMBER)
        assert (folder / "_SUCCESS").exists()
        manifest = json.loads((folder / "manifest.json").read_text())
        columns = ny.U1_COLUMNS if utility == "UTILITY1" else ny.U2_COLUMNS
        assert [e["file"] for e in manifest["files"]] == list(columns)
        for entry in manifest["files"]:
            data = (folder / entry["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert len(_read(folder / entry["file"])) == entry["rows"]


@pytest.mark.parametrize("utility", ["UTILITY1", "UTILITY2"])
@pytest.mark.parametrize("faults", ["none", "realistic"])
def test_bom_lf_no_final_newline_and_exact_headers(drops, utility, faults):
    folder = _drop(drops, utility, faults)
    columns = ny.U1_COLUMNS if utility == "UTILITY1" else ny.U2_COLUMNS
    for name, header in columns.items():
        data = (folder / name).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        assert not data.endswith(b"\n") and b"\r" not in data
        assert data[3:].decode("utf-8").split("\n", 1)[0] == ",".join(header)


@pytest.mark.parametrize("utility", ["UTILITY1", "UTILITY2"])
def test_ids_stay_text(drops, utility):
    folder = _drop(drops, utility, "realistic")
    for name, header in (ny.U1_COLUMNS if utility == "UTILITY1" else ny.U2_COLUMNS).items():
        df = _read(folder / name)
        for col in (c for c in header if c.endswith(("_id", "_ID", "_number", "_NUMBER"))):
            values = df[col]
            assert not values.str.contains(r"\.|e\+", case=False).any(), (name, col)


@pytest.mark.parametrize("utility", ["UTILITY1", "UTILITY2"])
@pytest.mark.parametrize("faults", ["bogus", "", "REALISTIC"])
def test_unknown_fault_level_raises_and_writes_nothing(tmp_path, utility, faults):
    with pytest.raises(ValueError, match="faults"):
        ny.GENERATORS[utility](tmp_path, [MARCH], faults=faults)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("utility", ["UTILITY1", "UTILITY2"])
@pytest.mark.parametrize("faults", ["none", "realistic", "heavy"])
def test_a_single_meter_lands_at_every_fault_level(tmp_path, utility, faults):
    folder = ny.GENERATORS[utility](tmp_path, [MARCH], meters=1, seed=2, faults=faults)[0]
    assert (folder / "_SUCCESS").exists()


@pytest.mark.parametrize("utility", ["UTILITY1", "UTILITY2"])
def test_default_volume_stays_small(tmp_path, utility):
    folder = ny.GENERATORS[utility](tmp_path, [MARCH])[0]
    rows = {
        e["file"]: e["rows"] for e in json.loads((folder / "manifest.json").read_text())["files"]
    }
    interval_file = f"{utility.lower()}_intervals.csv"
    assert 10_000 < rows[interval_file] < 60_000


# ------------------------------------------------------------------------------------ UTILITY1


def test_utility1_service_points_zip_text_and_id_leak(drops):
    sp = _read(_drop(drops, "UTILITY1", "none") / "utility1_service_points.csv")
    assert sp.SERVICE_POINT_ID.str.fullmatch(r"SP-\d{8}").all()
    assert (sp.SERVICE_POINT_NUMBER.astype(int) == sp.SERVICE_POINT_ID.str[3:].astype(int)).all()
    assert sp.SERVICE_POINT_ZIP.str.fullmatch(r"\d{5}").all()
    assert sp.SERVICE_POINT_ZIP.str.startswith("0").any()
    assert (sp.SERVICE_POINT_ID.str[3:8] == sp.SERVICE_POINT_ZIP).mean() > 0.4
    assert (sp.SERVICE_POINT_STATE == "NY").all()
    assert (sp.INSTALLED_AT == "").all() and (sp.REMOVED_AT == "").all()
    assert (pd.to_datetime(sp.UPDATED) >= pd.to_datetime(sp.CREATED)).all()


def test_utility1_clean_intervals_agree_with_their_channel(drops):
    folder = _drop(drops, "UTILITY1", "none")
    iv = _read(folder / "utility1_intervals.csv")
    sp = _read(folder / "utility1_service_points.csv")
    expected = iv.channel.map({name: str(s) for name, (s, _) in ny.U1_CHANNELS.items()})
    assert (iv.duration == expected).all()
    assert not iv.duplicated(KEY).any()
    assert iv.service_delivery_point_id.isin(sp.SERVICE_POINT_ID).all()
    assert (iv.groupby("meter_id").service_delivery_point_id.nunique() == 1).all()
    assert iv.groupby("meter_id").channel.nunique().between(1, 2).all()
    assert set(iv.quality) <= {"VAL", "NV"} and (iv.exported_at == "null").all()
    value = iv.value.astype(float)
    received = iv.channel.str.contains("Received")
    delivered = iv.channel.str.fullmatch(r"KWH \d+ Minute Interval Read Interval")
    assert (value[received | delivered] >= 0).all()
    assert (value[iv.channel.str.contains("Net")] < 0).any()
    assert iv.value.str.fullmatch(r"-?\d+(\.\d{1,4})?").all()


def test_utility1_local_offsets_and_dst_days(drops):
    iv = _read(_drop(drops, "UTILITY1", "none", MARCH) / "utility1_intervals.csv")
    assert iv.timestamp.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00-0[45]:00").all()
    assert set(iv.timestamp.str[-6:]) == {"-05:00", "-04:00"}
    start = pd.to_datetime(iv.timestamp, utc=True)
    assert (pd.to_datetime(iv.last_update_time, utc=True) > start).all()

    def seconds_per_day(df: pd.DataFrame, day: str) -> set[int]:
        on_day = df[df.timestamp.str.startswith(day)]
        return set(
            on_day.groupby(["meter_id", "channel"]).duration.apply(lambda s: s.astype(int).sum())
        )

    assert seconds_per_day(iv, "2025-03-09") == {23 * 3600}
    nov = _read(_drop(drops, "UTILITY1", "none", NOVEMBER) / "utility1_intervals.csv")
    assert seconds_per_day(nov, "2025-11-02") == {25 * 3600}
    # every emitted local day is complete
    iv["day"] = iv.timestamp.str[:10]
    per_day = iv.groupby(["meter_id", "channel", "day"]).duration.apply(
        lambda s: s.astype(int).sum()
    )
    assert set(per_day) <= {23 * 3600, 24 * 3600}


def test_utility1_meter_log(drops):
    clean = _read(_drop(drops, "UTILITY1", "none") / "utility1_meters.csv")
    assert clean.meter_id.str.fullmatch(r"MTR-\d{8}").all()
    assert clean.meter_timestamp.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert clean.groupby("meter_id").size().between(9, 11).all()
    assert (clean.groupby("meter_id").meter_type.nunique() == 2).any()
    assert set(clean.meter_type) == {"Estimation", "Company"}
    assert (clean.meter_category == "Periodic").all() and not clean.duplicated().any()
    dirty = _read(_drop(drops, "UTILITY1", "realistic") / "utility1_meters.csv")
    assert dirty.duplicated().any() and (dirty.meter_id == "MTR-").any()


def test_utility1_realistic_faults(drops):
    folder = _drop(drops, "UTILITY1", "realistic")
    iv = _read(folder / "utility1_intervals.csv")
    sp = _read(folder / "utility1_service_points.csv")
    exact = iv.duplicated()
    assert 0.005 < exact.mean() < 0.02
    conflicting = iv.duplicated(KEY) & ~exact
    assert 0.005 < conflicting.mean() < 0.02
    first = iv.drop_duplicates(KEY).set_index(KEY)
    later = iv[conflicting].set_index(KEY)
    assert (
        pd.to_datetime(later.last_update_time, utc=True)
        > pd.to_datetime(first.loc[later.index].last_update_time, utc=True)
    ).all()
    assert (later.value != first.loc[later.index].value).all()
    known = iv[iv.service_delivery_point_id.isin(sp.SERVICE_POINT_ID)]
    assert (known.groupby("meter_id").service_delivery_point_id.nunique() > 1).any()
    assert 0 < (~iv.service_delivery_point_id.isin(sp.SERVICE_POINT_ID)).sum() < 50
    expected = iv.channel.map({name: str(s) for name, (s, _) in ny.U1_CHANNELS.items()})
    assert 0 < (iv.duration != expected).sum() < 50
    delivered = iv.channel.str.fullmatch(r"KWH \d+ Minute Interval Read Interval")
    assert (iv.value.astype(float)[delivered] < 0).any()
    assert iv.value.str.fullmatch(r"-?\d+(\.\d{1,4})?").all()


# ------------------------------------------------------------------------------------ UTILITY2


def test_utility2_premises_have_address_versions(drops):
    sp = _read(_drop(drops, "UTILITY2", "none") / "utility2_service_points.csv")
    versions = sp.premise_id.value_counts()
    assert versions.between(2, 7).all() and versions.max() > 2
    address = [
        "premise_house_num",
        "premise_street",
        "premise_house_supp",
        "premise_city",
        "premise_zip",
    ]
    assert (sp.drop_duplicates(["premise_id", *address]).premise_id.value_counts() > 1).all()
    assert not sp.duplicated(["premise_id", "created_date"]).any()
    assert sp.premise_id.str.fullmatch(r"PREM-\d{8}").all()
    assert sp.premise_zip.str.fullmatch(r"\d{5}").all()
    assert sp.premise_house_num.str.fullmatch(r"\d+").all()
    assert sp.premise_street.str.contains("\u2019").any()
    assert (sp.premise_region == "NY").all()


def _windows(meters: pd.DataFrame) -> pd.DataFrame:
    return meters.assign(
        start=pd.to_datetime(meters.installed_at, utc=True),
        end=pd.to_datetime(meters.removed_at.replace("", None), utc=True),
    )


def _outside_window(meters: pd.DataFrame, iv: pd.DataFrame) -> pd.Series:
    """Per read, True when no installation of its meter covers the local day."""
    w = _windows(meters)
    day = pd.to_datetime(iv.timestamp, format="%Y%m%d").dt.tz_localize(ny.TIMEZONE)
    reads = iv.assign(day=day, row=np.arange(len(iv)))[["meter_id", "day", "row"]]
    joined = reads.merge(w[["meter_id", "start", "end"]], on="meter_id", how="left")
    inside = (joined.start <= joined.day) & (joined.end.isna() | (joined.day < joined.end))
    return ~inside.groupby(joined.row).any()


def test_utility2_meters_effective_dated(drops):
    for faults in ("none", "realistic"):
        m = _read(_drop(drops, "UTILITY2", faults) / "utility2_meters.csv")
        assert m.meter_id.str.fullmatch(r"\d{9,10}").all()
        assert m.meter_number.str.fullmatch(r"\d{9,10}").all()
        assert set(m.meter_type) <= {
            "KWH",
            "L+G Self-Cont Mesh",
            "Sentinel",
            "KV2",
            "AMI Cell",
            "KV2-R",
        }
        assert set(m.meter_status) <= {"Customer", "Retired", ""}
        assert set(m.meter_channel) <= {"MT", ""}
        for col in ("installed_at", "created", "updated"):
            assert m[col].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
        w = _windows(m).sort_values(["meter_id", "start"])
        previous_end = w.groupby("meter_id").end.shift()
        assert (previous_end.isna() | (previous_end <= w.start)).all()
        assert (w.end.isna() | (w.end > w.start)).all()
        assert (m.groupby("meter_id").premise_id.nunique() > 1).any()


def test_utility2_clean_reads_resolve(drops):
    folder = _drop(drops, "UTILITY2", "none")
    iv = _read(folder / "utility2_intervals.csv")
    m = _read(folder / "utility2_meters.csv")
    sp = _read(folder / "utility2_service_points.csv")
    assert not iv.duplicated(KEY).any()
    assert iv.meter_id.isin(m.meter_id).all()
    assert m.premise_id.isin(sp.premise_id).all()
    assert not _outside_window(m, iv).any()
    days = pd.Period(MARCH, "M").days_in_month
    assert (iv.groupby(["meter_id", "channel"]).timestamp.nunique() == days).all()
    assert "51" not in set(iv.quality)


def test_utility2_reads_format(drops):
    iv = _read(_drop(drops, "UTILITY2", "realistic") / "utility2_intervals.csv")
    assert (iv.duration == "0").all()
    assert iv.timestamp.str.fullmatch(r"202503\d\d").all()
    assert set(iv.channel.astype(int)) <= {1, 3, 7, 8, 9, 10, 11, 13, 14, 15, 16, 23, 24}
    assert {"1", "9"} <= set(iv.channel)
    assert set(iv.quality.astype(int)) <= {1, 2, 3, 4, 51, 53}
    assert (iv.quality == "1").mean() > 0.8
    assert iv.value.str.fullmatch(r"-?\d+").all()
    assert (iv.loc[iv.quality == "51", "value"] == "0").all() and (iv.quality == "51").any()
    first = iv.drop_duplicates(KEY).astype({"value": int})
    reg = first[(first.channel == "9") & (first.quality != "51")].sort_values(KEY)
    assert reg.value.between(900_000, 999_999).all()
    assert (reg.groupby("meter_id").value.diff().dropna() >= 0).all()


def test_utility2_heavy_duplication(drops):
    iv = _read(_drop(drops, "UTILITY2", "realistic") / "utility2_intervals.csv")
    repeats = iv.duplicated(KEY)
    assert abs(repeats.mean() - 0.86) < 0.01
    first_value = iv.groupby(KEY).value.transform("first")
    assert (iv.value[repeats] != first_value[repeats]).mean() > 0.8
    exact = iv.duplicated()
    assert 0 < exact.sum() < 0.1 * repeats.sum()
    assert iv.groupby(KEY).size().max() >= 24


def test_utility2_realistic_referential_faults(drops):
    folder = _drop(drops, "UTILITY2", "realistic")
    iv = _read(folder / "utility2_intervals.csv")
    m = _read(folder / "utility2_meters.csv")
    sp = _read(folder / "utility2_service_points.csv")
    assert 0 < iv.loc[~iv.meter_id.isin(m.meter_id), "meter_id"].nunique() <= 3
    assert (~m.premise_id.isin(sp.premise_id)).any()
    known = iv[iv.meter_id.isin(m.meter_id)]
    assert _outside_window(m, known).any()
    retired = set(m.loc[m.meter_status == "Retired", "meter_id"])
    assert retired & set(iv.meter_id)
