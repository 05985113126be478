"""The fixed-costs issue's targets, each beside its ratio to a bare reference script.

The table: figure | measured | target | verdict | bare reference | ratio. *measured* is one
figure, or min/median of the repeats; the verdict judges the median. *ratio* is gridflow's
cost over the bare script's, medians: its time (for a rate, the bare rate over gridflow's)
or its memory; machines differ by ~1.6× in speed, the ratio much less. The functions at the
top (:func:`verdict`, :func:`ratio`, :func:`table`) are pure; :func:`workload_section` and
:func:`demo_section` build the figures from the bench's results and the commands' timings
(:mod:`benchmarks.commands`) and explain the gap between a command and the stage split.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

GENERATE_RATE = 1e6  # readings/s, the whole `gridflow generate` command, at every size
REFERENCE_S = 11.0  # the reference workload, generate + run
RUN_10K_S, PEAK_10K_MIB = 30.0, 2048.0  # 10,000 meters x 1 month with `gridflow run`
RUN_100K_S = 300.0  # 100,000 meters x 1 month
COMPUTE_US = 3.0  # gridflow's own compute per reading
DQ_S = 1.0  # `gridflow dq`
RERUN_S = 3.0  # one small partition re-run (100 meters)
DEMO_S = 30.0  # `make demo` after install
DAGSTER_S, EVENTS = 0.7, 250  # per partition run
SMALL_METERS = 100  # a partition this small is the rerun target's "small partition"

LABEL, MEASURED, TARGET, VERDICT, BARE, RATIO = 34, 15, 11, 7, 15, 6


@dataclass
class Figure:
    label: str
    values: list[float] = field(default_factory=list)  # one figure, or each repeat's
    unit: str = "s"  # "s", "/s" (readings per second), "MiB", "µs", "" (a count)
    target: float | None = None
    at_least: bool = False  # the target is a floor (a rate), else a ceiling
    bare: list[float] = field(default_factory=list)  # the bare reference's, same unit
    note: str = ""  # printed across the row instead of the figures


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def verdict(fig: Figure) -> str:
    """``met`` or ``missed`` (the median against the target); empty without a target or a
    measurement."""
    value = median(fig.values)
    if fig.target is None or value is None or math.isnan(value):
        return ""
    ok = value >= fig.target if fig.at_least else value <= fig.target
    return "met" if ok else "missed"


def ratio(fig: Figure) -> float | None:
    """gridflow's cost over the bare reference's, medians: time or memory, and for a rate
    the bare rate over gridflow's (how many times longer gridflow takes per reading)."""
    ours, theirs = median(fig.values), median(fig.bare)
    if not ours or not theirs or math.isnan(ours) or math.isnan(theirs):
        return None
    return theirs / ours if fig.at_least else ours / theirs


def scale(unit: str, like: float) -> tuple[float, str, int]:
    """Divisor, unit text and decimals for figures of about ``like`` (min and median of a
    row read alike)."""
    if unit == "/s":
        return (
            (1e6, " M/s", 2) if like >= 1e6 else (1e3, " k/s", 0) if like >= 1e4 else (1, "/s", 0)
        )
    if unit in ("s", "µs"):
        return 1, f" {unit}", 2 if like < 10 else 1 if like < 100 else 0
    return 1, f" {unit}" if unit else "", 0


def quantity(values: list[float], unit: str) -> str:
    """One figure, or min/median of several, with the unit."""
    if not values:
        return "—"
    like = median(values)
    divisor, text, digits = scale(unit, like)
    shown = [min(values), like] if len(values) > 1 else values
    return "/".join(f"{v / divisor:,.{digits}f}" for v in shown) + text


def target_text(fig: Figure) -> str:
    if fig.target is None:
        return "—"
    return ("≥ " if fig.at_least else "≤ ") + quantity([fig.target], fig.unit)


def row(cells: list[str]) -> str:
    label, *rest = cells
    widths = (MEASURED, TARGET, VERDICT, BARE, RATIO)
    return f"{label:<{LABEL}}" + "".join(f"  {c:>{w}}" for c, w in zip(rest, widths, strict=True))


def table(figures: list[Figure]) -> list[str]:
    """The aligned table (lines of at most 100 characters)."""
    head = row(["figure", "measured", "target", "verdict", "bare", "ratio"])
    lines = [head, "─" * len(head)]
    for fig in figures:
        if fig.note:
            lines.append(f"{fig.label:<{LABEL}}  {fig.note}"[:100])
            continue
        r = ratio(fig)
        lines.append(
            row(
                [
                    fig.label,
                    quantity(fig.values, fig.unit),
                    target_text(fig),
                    verdict(fig),
                    quantity(fig.bare, fig.unit),
                    f"{r:.1f}×" if r else "—",
                ]
            )
        )
    return lines


def legend(repeat: int, repeat_run: int) -> list[str]:
    return [
        f"measured: one run, or min/median of {repeat} runs (dq, rerun) or {repeat_run} "
        "(`gridflow run`, make demo);",
        "verdict: the median against the target; ratio: gridflow's median time (for a rate:",
        "per reading) or memory over the bare reference script's, run in the same hour",
    ]


# --- figures from the bench's results ------------------------------------------------------


def walls(timed) -> list[float]:
    return [] if timed is None or timed.error else list(timed.walls)


def failed(label: str, timed) -> Figure | None:
    """A row for a command that failed: its exit code and last line (the output's tail is
    printed under the table)."""
    if timed is not None and timed.error:
        code, _, tail = timed.error.partition(": ")
        last = tail.strip().splitlines()[-1] if tail.strip() else ""
        return Figure(label, note=f"failed, {code}: {last}"[: 100 - LABEL - 2])
    return None


def not_here(label: str, workload: str) -> Figure:
    return Figure(label, note=f"not in this workload: make bench WORKLOAD={workload}")


def rate(readings: float, seconds: list[float]) -> list[float]:
    return [readings / s for s in seconds if s > 0]


def command_figures(c: dict, rerun_label: str, rerun_target: float | None) -> list[Figure]:
    """`gridflow dq` and the one-partition rerun, beside the bare scripts."""
    figs = [
        failed("`gridflow dq`", c.get("dq"))
        or Figure("`gridflow dq`", walls(c.get("dq")), target=DQ_S, bare=walls(c.get("bare_dq")))
    ]
    if "rerun" in c:
        figs.append(
            failed(rerun_label, c["rerun"])
            or Figure(
                rerun_label, walls(c["rerun"]), target=rerun_target, bare=walls(c["bare_rerun"])
            )
        )
    return figs


def workload_figures(name: str, meters: int, r: dict, c: dict) -> list[Figure]:
    n = r["readings"]
    gen, run, bare_run = c["generate"], c["run"], c["bare_pipeline"]
    bare_gen = c["bare_generate"]
    bare_n = (bare_gen.bare or {}).get("readings", 0)
    run_target = {"iesco-10000x1": RUN_10K_S, "iesco-100000x1": RUN_100K_S}.get(name)
    workers = c["workers"]
    run_label = f"`gridflow run` ({workers} worker{'s' if workers > 1 else ''})"
    figs = [
        failed("`gridflow generate` readings/s", gen)
        or Figure(
            "`gridflow generate` readings/s",
            rate(n, walls(gen)),
            "/s",
            GENERATE_RATE,
            at_least=True,
            bare=rate(bare_n, walls(bare_gen)),
        ),
        failed(run_label, run)
        or Figure(run_label, walls(run), target=run_target, bare=walls(bare_run)),
    ]
    if name == "reference":
        both = [walls(gen)[0] + median(walls(run))] if walls(gen) and walls(run) else []
        bare_both = (
            [walls(bare_gen)[0] + median(walls(bare_run))]
            if walls(bare_gen) and walls(bare_run)
            else []
        )
        figs.append(Figure("generate + run (commands)", both, target=REFERENCE_S, bare=bare_both))
    figs.append(
        Figure(
            "peak RSS of `gridflow run`",
            [run.peak_mib] if walls(run) else [],
            "MiB",
            PEAK_10K_MIB if name == "iesco-10000x1" else None,
            bare=[bare_run.peak_mib] if walls(bare_run) else [],
        )
    )
    own = [x["own_s"] for x in r["runs"] if x["own_s"] is not None]
    bare_fig = bare_run.bare or {}
    bare_us = [bare_fig["seconds"] / bare_fig["readings"] * 1e6] if bare_fig.get("readings") else []
    if own:
        figs.append(
            Figure(
                "gridflow compute per reading", [sum(own) / n * 1e6], "µs", COMPUTE_US, bare=bare_us
            )
        )
    rerun = "rerun {} {} (one partition)".format(*c["rerun_key"]) if "rerun" in c else ""
    figs += command_figures(c, rerun, RERUN_S if meters <= SMALL_METERS else None)
    if own:
        dagster = [x["seconds"] - x["own_s"] for x in r["runs"] if x["own_s"] is not None]
        figs.append(Figure("Dagster time per run (median)", [median(dagster)], target=DAGSTER_S))
    events = [x["events"] for x in r["runs"]]
    figs.append(Figure("Dagster events per run (max)", [max(events)], "", EVENTS))
    for workload, label in (
        ("reference", "reference: generate + run ≤ 11 s"),
        ("iesco-10000x1", "10,000 × 1 month: ≤ 30 s, ≤ 2 GiB"),
        ("iesco-100000x1", "100,000 × 1 month: ≤ 5 min"),
        ("demo", "`make demo` after install ≤ 30 s"),
    ):
        if workload != name:
            figs.append(not_here(label, workload))
    return figs


def demo_figures(c: dict) -> list[Figure]:
    demo, bare_run = c["demo"], c["bare_pipeline"]
    figs = [
        failed("`make demo` after install", demo)
        or Figure("`make demo` after install", walls(demo), target=DEMO_S, bare=walls(bare_run)),
        Figure(
            "peak RSS of `make demo`",
            [demo.peak_mib] if walls(demo) else [],
            "MiB",
            bare=[bare_run.peak_mib] if walls(bare_run) else [],
        ),
    ]
    if walls(demo):
        u, month = c["rerun_key"]
        figs += command_figures(c, f"rerun {u} {month} (one partition)", RERUN_S)
    for workload, label in (
        ("reference", "reference: generate + run ≤ 11 s"),
        ("reference", "generate ≥ 1 M/s; compute ≤ 3 µs"),
        ("reference", "Dagster ≤ 0.7 s, ≤ 250 events/run"),
        ("iesco-10000x1", "10,000 × 1 month: ≤ 30 s, ≤ 2 GiB"),
        ("iesco-100000x1", "100,000 × 1 month: ≤ 5 min"),
    ):
        figs.append(not_here(label, workload))
    return figs


# --- where a command's time goes ---------------------------------------------------------


def startup_split(c: dict) -> tuple[float | None, float]:
    start = c.get("startup")
    return (median(walls(start["timed"])) if start else None), (start or {}).get("imports_s", 0.0)


def split(label: str, wall: float, start: float, parts: float | None) -> str:
    """A command's wall time: start-up, its partition runs (as it printed them), the rest."""
    if parts is None:
        return f"  {label} {wall:.2f} s = start-up {start:.2f} + the rest {wall - start:.2f} s"
    return (
        f"  {label} {wall:.2f} s = start-up {start:.2f} + partition runs {parts:.2f} "
        f"+ scan, dims, DQ refresh {wall - start - parts:.2f} s"
    )


def gaps(r: dict | None, c: dict, rerun_label: str) -> list[str]:
    """Each command's wall time split the way the in-process run's is, the two side by side:
    start-up (a `gridflow run` on an empty landing: imports by ``python -X importtime``, the
    interpreter and the instance; the in-process run imports before its clock starts), the
    partition runs (the seconds the command printed per partition) and the rest (drop scan,
    reference dimensions, DQ refresh, summary). What differs beyond start-up is the noise
    between two separate runs on a shared machine."""
    lines = ["where a command's time goes (medians"]
    lines[0] += "; in-process: the stage split above):" if r else "):"
    start, imports = startup_split(c)
    if start is None:
        return []
    lines.append(
        f"  start-up: `gridflow run` on an empty landing {start:.2f} s = imports {imports:.2f} s "
        "(python -X"
    )
    lines.append(
        f"    importtime) + interpreter, instance, binding, empty scan, summary "
        f"{start - imports:.2f} s"
    )
    one = c.get("workers") == 1  # else partition runs overlap: their sum is no part of a wall
    run = median(walls(c.get("run")))
    if run is not None:
        lines.append(
            split("`gridflow run`", run, start, c.get("run_partitions_s") if one else None)
        )
    if r and run is not None and one and r["workers"] == 1:
        inside, parts = r["pipeline_s"], sum(r["per_partition_s"])
        stages = sum(r["stages"].values())
        lines.append(
            f"    in-process {inside:.2f} s = partition runs {parts:.2f} + scan, dims, DQ "
            f"refresh {inside - parts:.2f} s"
        )
        lines.append(
            f"    (= stages {stages:.2f} + outside steps {inside - stages:.2f}); gap "
            f"{run - inside:.2f} s = start-up {start:.2f}, noise {run - inside - start:+.2f} s"
        )
    rerun, again = median(walls(c.get("rerun"))), (r or {}).get("rerun")
    if rerun is not None:
        lines.append(split(rerun_label, rerun, start, c.get("rerun_partition_s")))
    if rerun is not None and again:
        part = again["partition_s"]
        dagster = part - again["own_s"] if again.get("own_s") is not None else None
        lines.append(
            f"    in-process {again['seconds']:.2f} s = partition run {part:.2f}"
            + (f" (Dagster {dagster:.2f})" if dagster is not None else "")
            + f" + scan, dims, DQ refresh {again['seconds'] - part:.2f} s"
        )
        lines.append(
            f"    gap {rerun - again['seconds']:.2f} s = start-up {start:.2f}, noise "
            f"{rerun - again['seconds'] - start:+.2f} s (two runs on a shared machine)"
        )
    dq = median(walls(c.get("dq")))
    if dq is not None:
        dq_imports = c.get("dq_imports_s", 0.0)
        lines.append(
            f"  `gridflow dq` {dq:.2f} s = imports {dq_imports:.2f} s (-X importtime) + "
            f"interpreter, reading, printing {dq - dq_imports:.2f} s"
        )
    bare = [c.get(k) for k in ("bare_pipeline", "bare_dq")]
    if all(b is not None and b.bare for b in bare):
        pipe, dq_b = bare[0], bare[1]
        pipe_wall, dq_wall = median(walls(pipe)), median(walls(dq_b))
        lines.append(
            f"  bare pipeline {pipe_wall:.2f} s = imports {pipe.bare['imports_s']:.2f} s + work "
            f"{pipe.bare['seconds']:.2f} s + interpreter "
            f"{pipe_wall - pipe.bare['imports_s'] - pipe.bare['seconds']:.2f} s"
        )
        lines.append(
            f"  bare dq {dq_wall:.2f} s = imports {dq_b.bare['imports_s']:.2f} s + work "
            f"{dq_b.bare['seconds']:.2f} s + interpreter "
            f"{dq_wall - dq_b.bare['imports_s'] - dq_b.bare['seconds']:.2f} s"
        )
    return lines if len(lines) > 1 else []


def failures(c: dict) -> list[str]:
    """Each failed command and the tail of its output, lines cut at 100 characters."""
    lines = []
    for timed in c.values():
        if hasattr(timed, "error") and timed.error:
            code, _, tail = timed.error.partition(": ")
            lines.append(f"{timed.command} failed, {code}; its output ends:"[:100])
            lines += [f"    {line}"[:100] for line in tail.splitlines()]
    return lines


def workload_section(name: str, meters: int, r: dict, c: dict) -> list[str]:
    rerun = f"rerun {c['rerun_key'][0]} {c['rerun_key'][1]}" if "rerun" in c else ""
    lines = [f"\n== {name}: the fixed-costs issue's targets (commands timed as processes)"]
    lines += legend(c["repeat"], c["repeat_run"])
    lines += [
        "bare: benchmarks/bare.py (plain Polars, Delta writes; the same drops)",
        "",
        *table(workload_figures(name, meters, r, c)),
        "",
        *gaps(r, c, rerun),
        *failures(c),
    ]
    return lines


def demo_section(c: dict) -> list[str]:
    u, month = c["rerun_key"]
    lines = ["\n== demo: `make demo` after install (temporary landing, warehouse, reports)"]
    lines += legend(c["repeat"], c["repeat_run"])
    lines += [
        "bare for `make demo`: benchmarks/bare.py pipeline over the demo's IESCO drops only",
        "(2 of its 6 partitions; UTILITY1/2, sign-off, publish, Green Button have no bare).",
        "",
        *table(demo_figures(c)),
    ]
    steps = c.get("demo_steps") or []
    if steps:
        lines += ["", "make demo, each recipe line (seconds):"]
        line = " "
        for step, seconds in steps:
            item = f" {step} {seconds:.1f} ·"
            if len(line) + len(item) > 98:
                lines.append(line.rstrip(" ·"))
                line = " "
            line += item
        lines.append(line.rstrip(" ·"))
    lines += ["", *gaps(None, c, f"rerun {u} {month}"), *failures(c)]
    return lines
