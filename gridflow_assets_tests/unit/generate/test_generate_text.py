"""The vectorised builders behind the generators write the same text pandas would, so the
drops keep their formats while no readings file is formatted row by row in Python."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridflow_assets.generate import ny, utility1, utility2
from gridflow_assets.generate.common import BOM, clock_text, csv_bytes, labels
from gridflow_assets.generate.ny_common import (
    NS,
    TIMEZONE,
    local_grid_text,
    local_offsets,
    local_text,
    utc_iso,
)
from gridflow_assets.generate.utility2_intervals import _allocate, _repeated

SECOND = st.integers(min_value=-(10**9), max_value=4 * 10**9)  # 1938 .. 2096


@settings(max_examples=50, deadline=None)
@given(st.lists(SECOND, min_size=1, max_size=200), st.sampled_from(["T", " "]))
def test_clock_text_matches_strftime(seconds, sep):
    ns = np.array(seconds, dtype=np.int64) * NS
    expected = pd.to_datetime(ns).strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    assert clock_text("t", ns, sep=sep).to_list() == list(expected)


def test_clock_text_offsets_and_zulu():
    ns = np.array([0, 3_600 * NS], dtype=np.int64)
    text = clock_text("t", ns, offset_minutes=np.array([-300, 330]))
    assert text.to_list() == ["1970-01-01T00:00:00-05:00", "1970-01-01T01:00:00+05:30"]
    assert clock_text("z", ns, zulu=True).to_list() == [
        "1970-01-01T00:00:00Z",
        "1970-01-01T01:00:00Z",
    ]
    assert clock_text("e", np.zeros(0, dtype=np.int64)).to_list() == []


def _pandas_local(utc_ns: np.ndarray) -> list[str]:
    local = pd.to_datetime(utc_ns, utc=True).tz_convert(TIMEZONE)
    return [t.isoformat() for t in local]


@pytest.mark.parametrize("month", ["2025-03", "2025-11"])
def test_local_text_across_dst(month):
    """Every 5 minutes of a DST month, plus off-grid instants, as pandas would write them."""
    start = pd.Timestamp(f"{month}-01", tz=TIMEZONE).value
    grid = start + np.arange(0, 31 * 288) * 300 * NS
    instants = np.concatenate([grid, grid[::97] + 420 * NS, grid[::97] + 420 * NS])
    expected = _pandas_local(instants)
    assert local_text("t", instants).to_list() == expected
    assert local_grid_text("t", instants, start, 300 * NS).to_list() == expected
    offsets = set(local_offsets(instants) // (3_600 * NS))
    assert offsets == {-5, -4}


def test_utc_iso_keeps_empty_fields():
    ns = np.array([0, 86_400 * NS], dtype=np.int64)
    assert list(utc_iso(ns, empty=np.array([False, True]))) == ["1970-01-01T00:00:00Z", ""]


def test_labels_gather_text_even_with_repeated_values():
    series = labels("x", ["b", "a", "b"], np.array([2, 1, 0, 1]))
    assert series.name == "x" and series.to_list() == ["b", "a", "b", "a"]


def test_csv_bytes_blank_fields_quoting_bom_and_final_newline():
    frame = pl.DataFrame(
        {
            "id": ["A-1", "", None],
            "text": ["x,y", 'say "hi"', "O\u2019Neill"],
            "value": [1.5, float("nan"), 0.0],
            "n": [1, 2, 3],
        }
    )
    expected = 'id,text,value,n\nA-1,"x,y",1.5,1\n,"say ""hi""",,2\n,O\u2019Neill,0.0,3\n'.encode()
    assert csv_bytes(frame) == expected
    assert csv_bytes(frame.to_pandas()) == expected
    assert csv_bytes(frame, bom=True, final_newline=False) == BOM + expected[:-1]


def test_allocate_rows_add_up_by_largest_remainder():
    rng = np.random.default_rng(3)
    weights = rng.lognormal(0, 0.25, (50, 31))
    totals = rng.integers(0, 5_000, 50)
    parts = _allocate(totals, weights)
    assert (parts.sum(axis=1) == totals).all() and (parts >= 0).all()
    raw = totals[:, None] * weights / weights.sum(axis=1, keepdims=True)
    assert (np.abs(parts - raw) < 1).all()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(-3, 3), st.sampled_from([1, 2, 51])), max_size=60
    ),
    st.booleans(),
)
def test_repeated_is_pandas_duplicated(rows, huge):
    """Packed keys and the whole-row fallback (values too wide to pack) agree with pandas."""
    frame = pd.DataFrame(rows, columns=["src", "value", "quality"], dtype=np.int64)
    if huge:
        frame["value"] *= 2**60
    got = _repeated(*(frame[c].to_numpy() for c in frame.columns))
    assert got.tolist() == frame.duplicated().tolist()


def test_ny_module_gathers_the_utility_modules():
    assert ny.GENERATORS == {**utility1.GENERATORS, **utility2.GENERATORS}
    assert ny.U1_COLUMNS is utility1.U1_COLUMNS
