"""The VEE step: validate, estimate and edit one month × utility partition of
``silver/intervals`` (rules V1–V9, E1–E4; see the package docstring), whole or meter chunk
by meter chunk.

Every rule works within one series (meter × channel) and UTILITY2's register pairs within
one meter, so cutting a partition into sorted meter ranges changes nothing in the result:
``chunk_meters`` only bounds the working memory (the grid's per-row arrays, holes, like-day
profiles) to one chunk at a time. The chunks write their edits into partition-wide arrays
and the output frame is built once, sharing every column VEE does not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl

from gridflow_assets.domain.quality import ESTIMATES, Quality
from gridflow_assets.registry import table
from gridflow_assets.registry.derive import conform_pl
from gridflow_assets.silver.vee import config
from gridflow_assets.silver.vee.edit import (
    Additions,
    added_rows,
    edited,
    rule_bits,
    rule_counts,
)
from gridflow_assets.silver.vee.estimate import (
    attribute_rows,
    endpoint_values,
    estimated_registers,
    find_holes,
    interpolate,
    like_day_profile,
    revalidate,
    runs_of,
    scale_to_registers,
)
from gridflow_assets.silver.vee.grid import VeeInput, build_grid, expected_intervals
from gridflow_assets.silver.vee.validate import (
    EPS,
    frozen_runs,
    limits,
    register_mismatch,
    register_points,
    spike_thresholds,
)
from gridflow_assets.store.frames import as_polars

# Columns the rules read (plus the utility's register columns): a meter chunk carries only these.
RULE_COLUMNS = (
    "meter_id",
    "channel",
    "measurement",
    "direction",
    "reading_kind",
    "interval_s",
    "local_date",
    "start_utc",
    "end_utc",
    "value",
    "quality_code",
    "status",
    "source_row",
    "is_orphan_meter",
    "is_orphan_service_point",
)
TOTALS = (
    "missing_intervals",
    "estimated_added",
    "estimated_in_place",
    "estimates_withdrawn",
    "holes_not_estimated",
)


@dataclass
class VeeResult:
    intervals: pl.DataFrame  # typed as silver/intervals: delivered rows, then added estimates
    counts: dict[str, int] = field(default_factory=dict)  # rows per rule id, plus totals


@dataclass
class Edits:
    """What VEE does to the delivered rows of a partition (one entry per row)."""

    value: np.ndarray
    quality: np.ndarray  # float: NaN = null
    bits: np.ndarray  # rule ids fired (``rule_bits``)
    method: np.ndarray  # estimation method code (0: not estimated)


def _typed(intervals: pl.DataFrame | pd.DataFrame) -> pl.DataFrame:
    """The partition as a Polars frame typed per ``silver/intervals`` (a pandas caller
    still works while the adapters move to Polars), with VEE's own columns reset."""
    df = as_polars(intervals).with_columns(
        is_estimated=pl.lit(False), estimation_method=pl.lit(None, pl.String)
    )
    return conform_pl(df, table("silver/intervals"))


def _sanctioned_load(df: pl.DataFrame, service_points: pl.DataFrame | None) -> np.ndarray:
    """Sanctioned load (kW) of each row's service point, NaN when unknown (V4 high limit
    of utilities that set ``high_limit_load_factor``)."""
    if service_points is None or "sanctioned_load_kw" not in service_points.columns:
        return np.full(len(df), np.nan)
    loads = service_points.select(
        "service_point_id", pl.col("sanctioned_load_kw").cast(pl.Float64)
    ).unique("service_point_id", keep="first")
    return (
        df.select("service_point_id")
        .join(loads, on="service_point_id", how="left", maintain_order="left")["sanctioned_load_kw"]
        .to_numpy()
    )


def judge(
    df: pl.DataFrame, load: np.ndarray, inp: VeeInput
) -> tuple[Edits, Additions, dict[str, int]]:
    """VEE over the rows of ``df`` (whole series: a partition or a meter chunk of it, with
    at least ``RULE_COLUMNS``): the edits of its delivered rows, the rows to add (their
    ``src_rows`` are row numbers of ``df``), and its totals."""
    g = build_grid(df, inp)
    value = df["value"].cast(pl.Float64).to_numpy()
    quality = df["quality_code"].cast(pl.Float64).to_numpy()
    interval_kind = g.s("reading_kind") == "interval"
    statuses = config.utility_param(inp.utility, "outage_statuses")
    outage = (
        df["status"].is_in(statuses.split("|")).fill_null(False).to_numpy()
        if statuses
        else np.zeros(len(df), dtype=bool)
    )

    # Validation of delivered readings.
    on = g.judged & g.delivered
    v3 = on & (~g.aligned | ~g.in_month)
    low, high = limits(g, g.sid, g.step, load)
    v4 = on & ((value < low - EPS) | (interval_kind[g.sid] & (value > high + EPS)))
    delivered_failed = on & (quality == Quality.FAILED)
    spike = spike_thresholds(g, value, on & ~v3 & ~v4 & ~delivered_failed)
    v5 = on & ~v3 & (value > spike[g.sid])
    v6 = frozen_runs(g, value, on & ~v3)
    failed = v3 | v4 | v5 | v6
    valid = on & ~failed & ~delivered_failed
    pts = register_points(g, df, value, valid, inp.utility)
    v7 = register_mismatch(g, value, valid, pts)
    orphan = (
        df["is_orphan_meter"].fill_null(False) | df["is_orphan_service_point"].fill_null(False)
    ).to_numpy()

    # Estimation of holes: missing intervals and failed on-grid readings.
    holes = find_holes(g, expected_intervals(g), on & ~v3 & (failed | delivered_failed))
    runs = runs_of(holes)
    estimable = (g.s("estimate") == 1) & interval_kind
    before, after = endpoint_values(g, np.flatnonzero(valid & ~outage), value, runs)
    short = (runs.end - runs.start) <= g.s("e1_max_gap_s")[runs.sid]
    e1 = interpolate(holes, runs, before, after, short & estimable[runs.sid])
    actual = valid & ~outage & ~np.isin(quality, ESTIMATES)
    e2 = like_day_profile(
        g, holes, np.isnan(e1) & estimable[holes.sid], value, actual, inp.timezone
    )
    base = np.where(~np.isnan(e1), e1, e2)
    base_rule = np.select([~np.isnan(e1), ~np.isnan(e2)], [1, 2], 0)
    est, e3, r0, r1, target = scale_to_registers(g, holes, runs, base, pts, estimable)
    attr = attribute_rows(g, holes)
    h_low, h_high = limits(g, holes.sid, holes.end - holes.start, load[attr])
    est, e3, withdrawn = revalidate(holes, runs, est, e3, target, h_low, h_high, spike[holes.sid])
    final = ~np.isnan(est) & ~withdrawn
    method = np.select(
        [final & (e3 > 0), final & (base_rule == 1), final & (base_rule == 2)], [3, 1, 2], 0
    )
    h_quality = np.where((base_rule == 1) & (e3 != 2), Quality.INTERPOLATED, Quality.ESTIMATED)
    h_rules = {
        "E1": final & (base_rule == 1) & (e3 != 2),
        "E2": final & (base_rule == 2) & (e3 != 2),
        "E3": final & (e3 > 0),
        "E4": final,
    }

    # Editing: an estimate replaces a failed delivered value (the adapter's value_original
    # and quality_code_original keep what was delivered); a failed reading without one is 10.
    in_place = holes.row >= 0
    edit = in_place & final
    rows = holes.row[edit]
    new_quality = np.where(failed, float(Quality.FAILED), quality)
    new_quality[rows] = h_quality[edit]
    new_value = value.copy()
    new_value[rows] = est[edit]
    row_method = np.zeros(len(df), dtype=np.int8)
    row_method[rows] = method[edit]
    flags = {
        "V3": v3,
        "V4": v4,
        "V5": v5,
        "V6": v6,
        "V7": v7,
        "V8": orphan,
        "QUALITY_FAILED": delivered_failed,
    }
    for rule, mask in h_rules.items():
        flags[rule] = np.zeros(len(df), dtype=bool)
        flags[rule][holes.row[in_place & mask]] = True
    edits = Edits(new_value, new_quality, rule_bits(flags, len(df)), row_method)

    add = np.flatnonzero(~in_place & final)
    registers = estimated_registers(g, holes, est, r0, r1)
    add_bits = rule_bits(
        {"V1": np.ones(len(add), dtype=bool), **{r: m[add] for r, m in h_rules.items()}}, len(add)
    )
    added = Additions(
        attr[add],
        holes.start[add] + g.base,
        holes.end[add] + g.base,
        holes.day[add],
        est[add],
        registers[add],
        h_quality[add],
        method[add],
        add_bits,
    )
    totals = {
        "missing_intervals": int((~in_place).sum()),
        "estimated_added": len(add),
        "estimated_in_place": int(edit.sum()),
        "estimates_withdrawn": int(withdrawn.sum()),
        "holes_not_estimated": int((~final).sum()),
    }
    return edits, added, totals


def meter_chunks(df: pl.DataFrame, chunk_meters: int | None) -> list[np.ndarray] | None:
    """Row numbers of each chunk of ``chunk_meters`` meters, in meter_id order (None: one
    chunk, the whole partition)."""
    if not chunk_meters or df["meter_id"].n_unique() <= chunk_meters:
        return None
    rank = df.select(pl.col("meter_id").rank("dense").cast(pl.Int64) - 1).to_series()
    chunk = (rank // chunk_meters).to_numpy()
    order = np.argsort(chunk, kind="stable")
    bounds = np.flatnonzero(np.diff(chunk[order])) + 1
    return np.split(order, bounds)


def apply_vee(
    intervals: pl.DataFrame | pd.DataFrame,
    service_points: pl.DataFrame | pd.DataFrame | None,
    inp: VeeInput,
    chunk_meters: int | None = None,
) -> VeeResult:
    """Validate, estimate and edit one partition of ``silver/intervals``. Delivered rows
    keep their order; added estimates follow, by meter, channel and time. With
    ``chunk_meters``, at most that many meters are judged at once (same result)."""
    df = _typed(intervals)
    if df.is_empty():
        return VeeResult(df, {})
    load = _sanctioned_load(df, as_polars(service_points))
    chunks = meter_chunks(df, chunk_meters)
    if chunks is None:
        edits, added, sums = judge(df, load, inp)
    else:
        narrow = df.select(*RULE_COLUMNS, *config.register_columns(inp.utility))
        n = len(df)
        edits = Edits(np.empty(n), np.empty(n), np.empty(n, np.int32), np.empty(n, np.int8))
        parts, sums = [], dict.fromkeys(TOTALS, 0)
        for rows in chunks:
            part, chunk_added, totals = judge(narrow[rows], load[rows], inp)
            for name in ("value", "quality", "bits", "method"):
                getattr(edits, name)[rows] = getattr(part, name)
            chunk_added.src_rows = rows[chunk_added.src_rows]
            parts.append(chunk_added)
            sums = {k: sums[k] + totals[k] for k in TOTALS}
        added = Additions.concat(parts)
    out = pl.concat(
        [edited(df, edits.value, edits.quality, edits.bits, edits.method), added_rows(df, added)],
        how="vertical",
    )
    return VeeResult(out, {**rule_counts(out["rule_ids"]), **sums})
