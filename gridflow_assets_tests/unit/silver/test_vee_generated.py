"""VEE on the synthetic drops: every rule fires on faulty data and none on clean data, the
row accounting still reconciles with the added estimates.

VEE speed is measured by the benchmark (silver stage), not timed here."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridflow_assets.checks import rules
from gridflow_assets.checks import vee as vee_checks
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.generate.ny import generate_utility1, generate_utility2
from gridflow_assets.silver.adapters import SilverInput, get_utility
from gridflow_assets.silver.vee import (
    ESTIMATION_RULES,
    VALIDATION_RULES,
    VeeInput,
    apply_vee,
    delivered_count,
)
from gridflow_assets.silver.vee.apply import meter_chunks
from gridflow_assets.store.landing import find_drop, read_source

MONTHS = {"UTILITY1": "2025-03", "UTILITY2": "2025-03", "IESCO": "2025-06"}
GENERATORS = {
    "UTILITY1": (generate_utility1, 20),
    "UTILITY2": (generate_utility2, 20),
    "IESCO": (generate_iesco, 30),
}


def _silver(landing: Path, utility: str, faults: str, meters: int | None = None):
    gen, default = GENERATORS[utility]
    month = MONTHS[utility]
    gen(landing, [month], meters=meters or default, faults=faults)
    u = get_utility(utility)
    drop = find_drop(landing, utility, month)
    bronze = {name: read_source(drop, src) for name, src in u.sources.items()}
    out = u.to_silver(SilverInput(utility, month, u.timezone, bronze))
    return bronze, out, VeeInput(utility, month, u.timezone)


@pytest.fixture(scope="module")
def partitions(tmp_path_factory):
    """(utility, faults) -> (bronze, adapter output, VEE output, VEE input)."""
    out = {}
    for faults in ("none", "realistic"):
        landing = tmp_path_factory.mktemp(faults)
        for utility in GENERATORS:
            bronze, silver, inp = _silver(landing, utility, faults)
            vee = apply_vee(silver.tables["intervals"], silver.tables["service_points"], inp)
            out[utility, faults] = (bronze, silver, vee, inp)
    return out


def test_fault_injection_exercises_every_rule(partitions):
    total = dict.fromkeys(VALIDATION_RULES + ESTIMATION_RULES, 0)
    for utility in GENERATORS:
        _, silver, vee, inp = partitions[utility, "realistic"]
        counts = vee_checks.validation(vee.intervals, silver.rejects, inp).details["by_rule"]
        for rule, n in counts.items():
            total[rule] += n
    assert {rule for rule, n in total.items() if n == 0} == set()


def test_clean_drops_pass_every_vee_check(partitions):
    for utility in GENERATORS:
        _, silver, vee, inp = partitions[utility, "none"]
        iv = vee.intervals
        results = {
            "validation": vee_checks.validation(iv, silver.rejects, inp),
            "coverage": vee_checks.coverage_check(iv, inp),
            "estimation": vee_checks.estimation(iv, inp),
            "register": vee_checks.register_consistency(iv, inp),
        }
        assert {k: r.passed for k, r in results.items()} == dict.fromkeys(results, True), utility
        assert not iv["is_estimated"].any() and len(iv) == len(silver.tables["intervals"])


def test_accounting_counts_only_delivered_rows(partitions):
    for utility in GENERATORS:
        bronze, silver, vee, _ = partitions[utility, "realistic"]
        added = len(vee.intervals) - len(silver.tables["intervals"])
        assert added > 0, utility
        acc = rules.accounting(
            len(bronze["readings"]), delivered_count(vee.intervals), silver.rejects, "intervals"
        )
        assert rules.check_conservation(acc).passed, utility


def test_meter_chunks_give_the_same_partition_as_one_pass(partitions):
    for utility in GENERATORS:
        _, silver, whole, inp = partitions[utility, "realistic"]
        iv = silver.tables["intervals"]
        chunks = meter_chunks(whole.intervals, 3)
        assert len(chunks) > 1 and all(
            whole.intervals[rows]["meter_id"].n_unique() <= 3 for rows in chunks
        ), utility
        chunked = apply_vee(iv, silver.tables["service_points"], inp, chunk_meters=3)
        assert whole.intervals["is_estimated"].any(), utility  # the identity is not trivial
        assert chunked.intervals.equals(whole.intervals), utility
        assert chunked.counts == whole.counts, utility
