"""The bench's targets table (benchmarks/targets.py) on made-up figures: the verdict judges
the median against the target, the ratio is gridflow's cost over the bare script's, and
the table stays aligned within 100 characters. No timing is asserted anywhere."""

import importlib.util
import sys
from pathlib import Path

TARGETS = Path(__file__).resolve().parents[3] / "benchmarks" / "targets.py"
spec = importlib.util.spec_from_file_location("bench_targets", TARGETS)
targets = importlib.util.module_from_spec(spec)
sys.modules["bench_targets"] = targets  # dataclasses look their module up
spec.loader.exec_module(targets)
Figure = targets.Figure


def test_a_ceiling_is_met_by_the_median_not_the_best_run():
    assert targets.verdict(Figure("dq", [0.8, 1.4, 0.9], target=1.0)) == "met"
    assert targets.verdict(Figure("dq", [0.8, 1.4, 1.2], target=1.0)) == "missed"
    assert targets.verdict(Figure("dq", [1.0], target=1.0)) == "met"  # on the line


def test_a_floor_is_met_at_or_above_it():
    assert targets.verdict(Figure("gen", [1.2e6], "/s", 1e6, at_least=True)) == "met"
    assert targets.verdict(Figure("gen", [0.4e6], "/s", 1e6, at_least=True)) == "missed"


def test_no_target_or_no_measurement_gives_no_verdict():
    assert targets.verdict(Figure("run", [12.0])) == ""
    assert targets.verdict(Figure("run", [], target=30.0)) == ""


def test_the_ratio_is_gridflows_cost_over_the_bare_scripts():
    assert targets.ratio(Figure("run", [10.0, 12.0, 14.0], bare=[3.0, 4.0, 5.0])) == 3.0
    # a rate: the bare rate over gridflow's, i.e. how many times longer per reading
    assert targets.ratio(Figure("gen", [0.5e6], "/s", bare=[2e6], at_least=True)) == 4.0
    assert targets.ratio(Figure("events", [199], "")) is None  # no bare reference


def test_the_table_prints_each_figure_beside_target_verdict_bare_and_ratio():
    lines = targets.table(
        [
            Figure("`gridflow dq`", [0.9, 1.3, 1.1], target=1.0, bare=[0.4, 0.5, 0.6]),
            Figure("generate", [4e5], "/s", 1e6, at_least=True, bare=[1.6e6]),
            Figure("peak RSS", [1536.0], "MiB", 2048.0, bare=[256.0]),
            Figure("events", [199], "", 250),
            Figure("10,000 × 1 month", note="not in this workload: make bench WORKLOAD=x"),
        ]
    )
    assert lines[0].split() == ["figure", "measured", "target", "verdict", "bare", "ratio"]
    dq, gen, peak, events, note = lines[2:]
    assert dq.split()[2:] == [
        "0.90/1.10",
        "s",
        "≤",
        "1.00",
        "s",
        "missed",
        "0.40/0.50",
        "s",
        "2.2×",
    ]
    assert "400 k/s" in gen and "≥ 1.00 M/s" in gen and "met" not in gen and "4.0×" in gen
    assert "1,536 MiB" in peak and " met " in peak and "6.0×" in peak
    assert events.split()[1:] == ["199", "≤", "250", "met", "—", "—"]
    assert note.endswith("not in this workload: make bench WORKLOAD=x")
    assert all(len(line) <= 100 for line in lines)
    assert len({len(line) for line in (dq, gen, peak, events)}) == 1  # aligned
