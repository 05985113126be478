"""VEE validation rules over the grid's arrays: V4 limits, V5 spikes, V6 frozen runs and
V7 register consistency (V1/V9 are the grid's coverage, V3 its alignment, V8 the adapter's
orphan flags, V2 the adapter's duplicates).

Every rule is per series (meter × channel), so a partition can be judged meter chunk by
meter chunk with the same result. The arrays are numpy views of the partition's Arrow
columns: the rules are sorts, bincounts and binary searches, never a loop per reading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from gridflow_assets.silver.vee import config
from gridflow_assets.silver.vee.grid import Grid, key

EPS = 1e-9


@dataclass
class Lookup:
    """Values by int64 key (the first row of a repeated key wins), by binary search."""

    keys: np.ndarray  # sorted, distinct
    values: np.ndarray

    @classmethod
    def first_of(cls, keys: np.ndarray, values: np.ndarray) -> Lookup:
        keys, first = np.unique(keys, return_index=True)
        return cls(keys, values[first])

    def positions(self, wanted: np.ndarray) -> np.ndarray:
        """Index of each wanted key in ``keys``, -1 when absent."""
        pos = np.clip(np.searchsorted(self.keys, wanted), 0, max(len(self.keys) - 1, 0))
        hit = (self.keys[pos] == wanted) if len(self.keys) else np.zeros(len(wanted), bool)
        return np.where(hit, pos, -1)

    def get(self, wanted: np.ndarray) -> np.ndarray:
        """Value of each wanted key, NaN when absent."""
        pos = self.positions(wanted)
        if not len(self.values):
            return np.full(len(wanted), np.nan)
        return np.where(pos >= 0, self.values[np.maximum(pos, 0)], np.nan)


def spike_thresholds(g: Grid, value: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """V5 threshold of each series: median + k × IQR of its usable readings of the month
    (quantiles interpolated linearly between the two nearest readings); NaN where the series
    has too few readings or no spread (IQR 0: the rule is undefined)."""
    thr = np.full(len(g.series), np.nan)
    mask = usable & (g.s("reading_kind") == "interval")[g.sid]
    if not mask.any():
        return thr
    q = (
        pl.DataFrame({"sid": g.sid[mask], "v": value[mask]})
        .group_by("sid")
        .agg(
            pl.len().alias("n"),
            *(
                pl.col("v").quantile(x, "linear").alias(f"q{i}")
                for i, x in enumerate((0.25, 0.5, 0.75))
            ),
        )
    )
    groups, counts = q["sid"].to_numpy(), q["n"].to_numpy()
    iqr = q["q2"].to_numpy() - q["q0"].to_numpy()
    enough = counts >= g.s("spike_min_readings")[groups]
    thr[groups] = np.where(
        enough & (iqr > 0), q["q1"].to_numpy() + g.s("spike_iqr_factor")[groups] * iqr, np.nan
    )
    return thr


def frozen_runs(g: Grid, value: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """V6: rows in a run of at least ``frozen_run_min`` consecutive identical non-zero
    values of one series (consecutive = the next interval starts where the last ended)."""
    order = g.in_series_order(mask)
    s, v = g.sid[order], value[order]
    same = np.r_[
        False, (s[1:] == s[:-1]) & (g.start[order][1:] == g.end[order][:-1]) & (v[1:] == v[:-1])
    ] & (v != 0)
    run = np.cumsum(~same)
    length = np.bincount(run)[run]
    need = g.s("frozen_run_min")[s]
    out = np.zeros(len(value), dtype=bool)
    out[order] = (need > 0) & (length >= need) & (v != 0)
    return out


def limits(
    g: Grid, sid: np.ndarray, step: np.ndarray, load_kw: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """V4 low and high limits for readings of series ``sid`` lasting ``step`` seconds: the
    configured low limit, and the high limit as kW × hours, from a fixed power or from the
    service point's sanctioned load (``load_kw``, NaN when unknown) × a factor."""
    low = g.s("low_limit")[sid]
    kw = g.s("high_limit_kw")[sid]
    kw = np.where(np.isnan(kw), load_kw * g.s("high_limit_load_factor")[sid], kw)
    return (np.where(np.isnan(low), -np.inf, low), np.where(np.isnan(kw), np.inf, kw * step / 3600))


@dataclass
class RegisterPoints:
    """Cumulative register values of interval series at instants (V7, E3)."""

    at: Lookup  # key(sid, instant) -> register
    tolerance: np.ndarray  # per entry of ``at``
    opening: Lookup  # key(sid, start) -> register at a valid row's start (column registers)


def register_points(
    g: Grid, df: pl.DataFrame, value: np.ndarray, valid: np.ndarray, utility: str
) -> RegisterPoints:
    """Registers at interval ends from the valid readings: a register column beside the
    value (IESCO ``register_kwh``) or a paired register channel (UTILITY2 9 → 1)."""
    keys, vals, tols = [], [], []
    open_keys, open_vals = [], []
    column = g.s("register_column")
    for name in {c for c in column if c is not None}:
        if name not in df.columns:
            continue
        reg = df[name].cast(pl.Float64).to_numpy()
        rows = np.flatnonzero(valid & (column == name)[g.sid] & ~np.isnan(reg))
        keys.append(key(g.sid[rows], g.end[rows]))
        vals.append(reg[rows])
        tols.append(g.s("register_tolerance")[g.sid[rows]])
        open_keys.append(key(g.sid[rows], g.start[rows]))
        open_vals.append(reg[rows] - value[rows])
    channels = g.series.select("sid", "meter_id", "channel")
    for p in config.register_pairs(utility).iter_rows(named=True):
        # register series -> the same meter's interval series it must agree with
        pair = channels.filter(pl.col("channel") == p["register_channel"]).join(
            channels.filter(pl.col("channel") == p["interval_channel"]),
            on="meter_id",
            suffix="_target",
        )
        target = np.full(len(g.series), -1, dtype=np.int64)
        target[pair["sid"].to_numpy()] = pair["sid_target"].to_numpy()
        rows = np.flatnonzero(valid & (target >= 0)[g.sid])
        keys.append(key(target[g.sid[rows]], g.end[rows]))
        vals.append(value[rows])
        tols.append(np.full(len(rows), p["tolerance"]))

    def joined(parts: list[np.ndarray], dtype: str) -> np.ndarray:
        return np.concatenate(parts) if parts else np.array([], dtype=dtype)

    at_keys = joined(keys, "int64")
    uniq, first = np.unique(at_keys, return_index=True)
    return RegisterPoints(
        at=Lookup(uniq, joined(vals, "float64")[first]),
        tolerance=joined(tols, "float64")[first],
        opening=Lookup.first_of(joined(open_keys, "int64"), joined(open_vals, "float64")),
    )


def register_mismatch(
    g: Grid, value: np.ndarray, valid: np.ndarray, pts: RegisterPoints
) -> np.ndarray:
    """V7: an interval value differs from the register difference across it by more than
    the tolerance. Which side is wrong is unknown, so the reading is flagged, not failed."""
    out = np.zeros(len(value), dtype=bool)
    rows = np.flatnonzero(valid & (g.s("reading_kind") == "interval")[g.sid])
    if not len(pts.at.keys) or not len(rows):
        return out
    pos_end = pts.at.positions(key(g.sid[rows], g.end[rows]))
    pos_start = pts.at.positions(key(g.sid[rows], g.start[rows]))
    both = (pos_end >= 0) & (pos_start >= 0)
    diff = pts.at.values[pos_end[both]] - pts.at.values[pos_start[both]]
    out[rows[both]] = np.abs(value[rows[both]] - diff) > pts.tolerance[pos_end[both]] + EPS
    return out
