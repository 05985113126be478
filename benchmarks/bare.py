"""Bare reference scripts: the steps the bench times in gridflow, done the simplest way with
plain Polars (and deltalake), no gridflow import, each in a process of its own. The bench
prints gridflow's figures beside these, as ratios: machines differ, the ratio much less.

    python -m benchmarks.bare pipeline LANDING OUT [--month YYYY-MM] [--format delta|parquet]
    python -m benchmarks.bare dq WAREHOUSE
    python -m benchmarks.bare generate OUT --meters N --start YYYY-MM [--end YYYY-MM]

``pipeline``: every complete IESCO drop ``LANDING/IESCO/YYYY-MM/`` (``_SUCCESS`` present),
or the one month asked for: read ``readings.csv`` as text, parse its numbers and timestamps,
drop exact duplicate rows, keep one row per (meter, timestamp) (the last delivered), join
``meters.csv``, and total each meter's day with its peak and trough hour; read the other
files of the drop (meters, bills, payments: numbers and dates parsed). Each result is
written with ``deltalake.write_deltalake`` as a Delta table ``OUT/<name>`` (default;
``--format parquet``: one Parquet file per month instead), the month replacing its earlier
rows (``predicate``), so running a month again is the bare rerun of that partition.

``dq``: what a bare reader of the DQ answer does: ``polars.read_delta`` of
``WAREHOUSE/dq/partition_scorecard`` and a line per partition.

``generate``: ``meters`` × hours of each month rows shaped as IESCO's ``readings.csv``
(the same nine columns), drawn with numpy and written with Polars ``write_csv``, 10,000
meters at a time: the floor for generating readings.

Each prints a last line ``BARE {json}``: ``seconds`` of work after the imports,
``imports_s`` (Polars, numpy, deltalake) and its counts, which the bench reads.
"""

from __future__ import annotations

import argparse
import calendar
import json
import sys
import time
from pathlib import Path

UTILITY = "IESCO"
KEY = ["meter_number", "timestamp"]
NUMBERS = [
    "reading_kwh",
    "consumption_kwh",
    "voltage_v",
    "current_a",
    "power_factor",
    "frequency_hz",
]
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
STATUSES = ["normal", "load_shedding", "outage", "meter_fault", "tamper", "estimated"]
STATUS_SHARES = [0.91, 0.08, 0.005, 0.003, 0.001, 0.001]
CHUNK_METERS = 10_000


def emit(figures: dict) -> None:
    print("BARE " + json.dumps(figures), flush=True)


def drops(landing: Path, month: str | None) -> list[Path]:
    """The complete IESCO drop folders under ``landing`` (or the one of ``month``)."""
    root = landing / UTILITY
    folders = sorted(p for p in root.glob("????-??") if (p / "_SUCCESS").exists())
    return [p for p in folders if month is None or p.name == month]


def read_side(pl, path: Path):
    """A drop's other file with its numbers and dates parsed; identifiers kept as text."""
    header = pl.read_csv(path, n_rows=0).columns
    ids = {
        c: pl.String
        for c in header
        if c.endswith(("_id", "_number", "_no")) or c in {"meter_number", "reference_no"}
    }
    return pl.read_csv(path, schema_overrides=ids, try_parse_dates=True)


def write(table: str, frame, out: Path, month: str, fmt: str) -> None:
    """``frame`` as the month's rows of table ``out/table`` (earlier rows of the month
    replaced)."""
    import polars as pl

    frame = frame.with_columns(month=pl.lit(month))
    target = out / table
    if fmt == "parquet":
        path = target / f"month={month}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path)
        return
    from deltalake import write_deltalake

    exists = (target / "_delta_log").is_dir()
    write_deltalake(
        str(target),
        frame.to_arrow(),
        mode="overwrite",
        predicate=f"month = '{month}'" if exists else None,
    )


def pipeline_drop(folder: Path, out: Path, fmt: str) -> dict:
    import polars as pl

    month = folder.name
    text = pl.read_csv(folder / "readings.csv", infer_schema=False)
    readings = text.with_columns(
        pl.col("timestamp").str.to_datetime(TIMESTAMP_FORMAT, strict=False),
        *(pl.col(c).cast(pl.Float64, strict=False) for c in NUMBERS if c in text.columns),
    )
    landed = readings.height
    distinct = readings.unique(maintain_order=True)
    kept = distinct.unique(subset=KEY, keep="last", maintain_order=True)
    sides = {
        p.stem: read_side(pl, p) for p in sorted(folder.glob("*.csv")) if p.name != "readings.csv"
    }
    intervals = kept
    if "meters" in sides:
        intervals = kept.join(sides["meters"], on="meter_number", how="left", suffix="_meter")
    daily = (
        intervals.group_by("meter_number", pl.col("timestamp").dt.date().alias("day"))
        .agg(
            readings=pl.len(),
            total_kwh=pl.col("consumption_kwh").sum(),
            peak_kwh=pl.col("consumption_kwh").max(),
            peak_at=pl.col("timestamp").get(pl.col("consumption_kwh").arg_max()),
            trough_kwh=pl.col("consumption_kwh").min(),
            trough_at=pl.col("timestamp").get(pl.col("consumption_kwh").arg_min()),
        )
        .sort("meter_number", "day")
    )
    write("intervals", intervals, out, month, fmt)
    write("daily", daily, out, month, fmt)
    for name, frame in sides.items():
        write(name, frame, out, month, fmt)
    return {
        "month": month,
        "landed": landed,
        "exact": landed - distinct.height,
        "conflicting": distinct.height - kept.height,
        "kept": kept.height,
        "days": daily.height,
    }


def cmd_pipeline(args) -> dict:
    folders = drops(Path(args.landing), args.month)
    if not folders:
        raise SystemExit(f"bare pipeline: no complete {UTILITY} drop in {args.landing}")
    started = time.perf_counter()
    readings = 0
    for folder in folders:
        began = time.perf_counter()
        done = pipeline_drop(folder, Path(args.out), args.format)
        readings += done["landed"]
        print(
            f"{UTILITY}/{done['month']}: {done['landed']:,} landed, {done['kept']:,} kept "
            f"({done['exact']:,} exact, {done['conflicting']:,} conflicting duplicates), "
            f"{done['days']:,} meter-days, {time.perf_counter() - began:.2f} s"
        )
    return {
        "seconds": time.perf_counter() - started,
        "drops": len(folders),
        "readings": readings,
        "format": args.format,
    }


def cmd_dq(args) -> dict:
    import polars as pl

    started = time.perf_counter()
    cards = pl.read_delta(str(Path(args.warehouse) / "dq" / "partition_scorecard"))
    for row in (
        cards.select("utility", "month", "status", "issue_count")
        .sort("utility", "month")
        .iter_rows()
    ):
        print(f"{row[0]:<10}{row[1]:<9}{row[2]:<22}{row[3]} issue(s)")
    return {"seconds": time.perf_counter() - started, "partitions": cards.height}


def month_list(start: str, end: str) -> list[str]:
    (y, m), (ey, em) = (int(start[:4]), int(start[5:])), (int(end[:4]), int(end[5:]))
    months = []
    while (y, m) <= (ey, em):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def readings_chunk(np, pl, rng, first: int, meters: int, month: str):
    """``meters`` meters' hourly readings of ``month``, the nine columns of IESCO's file."""
    year, mon = int(month[:4]), int(month[5:])
    hours = calendar.monthrange(year, mon)[1] * 24
    n = meters * hours
    ids = 10_000_000_000 + np.arange(first, first + meters, dtype=np.int64) * 7919
    start = np.datetime64(f"{month}-01T00:00:00", "ms")
    stamps = start + np.tile(np.arange(hours, dtype=np.int64) * 3_600_000, meters)
    use = rng.gamma(2.0, 0.15, n).round(3)
    register = rng.uniform(100, 5000, meters)[:, None] + use.reshape(meters, hours).cumsum(1)
    volts = rng.normal(230, 4, n).round(1)
    return pl.DataFrame(
        {
            "meter_number": np.repeat(ids, hours),
            "timestamp": stamps,
            "reading_kwh": register.reshape(-1).round(3),
            "consumption_kwh": use,
            "voltage_v": volts,
            "current_a": (use * 1000 / volts).round(2),
            "power_factor": rng.uniform(0.8, 1.0, n).round(3),
            "frequency_hz": rng.normal(50, 0.05, n).round(2),
            "status": pl.Series(STATUSES).gather(rng.choice(len(STATUSES), n, p=STATUS_SHARES)),
        }
    )


def cmd_generate(args) -> dict:
    import numpy as np
    import polars as pl

    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    rows = 0
    months = month_list(args.start, args.end or args.start)
    for month in months:
        folder = Path(args.out) / UTILITY / month
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "readings.csv", "wb") as fh:
            for first in range(0, args.meters, CHUNK_METERS):
                count = min(CHUNK_METERS, args.meters - first)
                frame = readings_chunk(np, pl, rng, first, count, month)
                frame.write_csv(fh, include_header=first == 0, datetime_format=TIMESTAMP_FORMAT)
                rows += frame.height
        (folder / "_SUCCESS").touch()
    seconds = time.perf_counter() - started
    print(f"{rows:,} readings in {len(months)} month(s), {rows / seconds:,.0f} readings/s")
    return {"seconds": seconds, "readings": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("pipeline", help="the pipeline's steps over IESCO drops")
    p.add_argument("landing")
    p.add_argument("out")
    p.add_argument("--month", default=None, help="only this month's drop (the bare rerun)")
    p.add_argument("--format", choices=["delta", "parquet"], default="delta")
    d = sub.add_parser("dq", help="read the partition scorecard")
    d.add_argument("warehouse")
    g = sub.add_parser("generate", help="readings.csv of the same shape, numpy + Polars")
    g.add_argument("out")
    g.add_argument("--meters", type=int, required=True)
    g.add_argument("--start", required=True)
    g.add_argument("--end", default=None)
    g.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    import deltalake  # noqa: F401  (imported up front: timed apart from the work)
    import numpy  # noqa: F401
    import polars  # noqa: F401

    imports_s = time.perf_counter() - began
    step = {"pipeline": cmd_pipeline, "dq": cmd_dq, "generate": cmd_generate}[args.step]
    emit({"step": args.step, "imports_s": imports_s, **step(args)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
