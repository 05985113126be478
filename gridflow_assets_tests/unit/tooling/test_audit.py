"""The CI dependency audit (.ci/audit.py): a finding fails CI; an audit that could not be
performed says so instead of passing silently."""

import importlib.util
from pathlib import Path

AUDIT = Path(__file__).resolve().parents[3] / ".ci" / "audit.py"
spec = importlib.util.spec_from_file_location("ci_audit", AUDIT)
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)


def test_a_known_vulnerability_fails():
    deps = [
        {"name": "pandas", "version": "2.3.3", "vulns": []},
        {"name": "urllib3", "version": "1.0", "vulns": [{"id": "GHSA-xxxx-yyyy"}]},
    ]
    assert audit.verdict(deps) == (1, ["VULNERABLE urllib3 1.0: GHSA-xxxx-yyyy"])


def test_no_reachable_service_is_reported_as_not_performed():
    deps = [{"name": n, "skip_reason": "could not be audited"} for n in ("a", "b")]
    code, lines = audit.verdict(deps)
    assert code == 0 and lines[0].startswith("dependency audit NOT performed: none of the 2")


def test_a_clean_audit_passes_and_counts_what_was_skipped():
    deps = [{"name": "a", "version": "1", "vulns": []}, {"name": "b", "skip_reason": "x"}]
    assert audit.verdict(deps) == (
        0,
        ["dependency audit: 1 packages audited, no known vulnerability; 1 could not be audited"],
    )
