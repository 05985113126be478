"""What a check result carries to Dagster: the figures (failed count, total, rate), the
details, the failing-row sample (JSON rows and the Markdown table the UI shows) and, when
the check failed, the violation in one sentence (``checks/violation.py``)."""

from __future__ import annotations

import dagster as dg

from gridflow_assets.checks.plan import CheckPlan
from gridflow_assets.checks.rules import RuleResult
from gridflow_assets.checks.violation import violation


def _markdown_table(rows: list[dict]) -> str:
    """The failing-row sample as the Markdown table the UI shows (rendered once, from the
    JSON rows stored beside it)."""
    if not rows:
        return "_none_"
    columns = list(rows[0])

    def cell(v):
        return str(v)[:80].replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(columns) + " |"
    sep = "|" + "---|" * len(columns)
    body = ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def result_metadata(
    plan: CheckPlan, res: RuleResult, utility: str | None, month: str | None
) -> dict:
    rows = res.sample_records()
    meta = {
        "kind": plan.kind,
        "failed_count": res.failed_count,
        "total_rows": res.total,
        "failure_rate": round(res.failed_count / res.total, 6) if res.total else 0.0,
        "details": dg.MetadataValue.json(_jsonable(res.details)),
        "sample": dg.MetadataValue.md(_markdown_table(rows)),
        "sample_rows": dg.MetadataValue.json(rows),
    }
    said = violation(plan, res)
    if said is not None:
        meta["violation"] = said
    if utility is not None:
        meta.update({"utility": utility, "month": month})
    return meta


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):
        return obj.item()
    return obj
