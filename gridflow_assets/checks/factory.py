"""The check factory: from a registry entry, the asset checks of that table.

Check names start with their kind (docs/architecture.md): ``schema__``, ``duplicates__``,
``orphans__``, ``range__``, ``conservation__``, ``vee__``, ``reconcile__``. Severity follows
whose fault a failure is: problems in what a utility delivered (orphans, delivered
duplicates, ranges) are WARN; broken guarantees of the pipeline (its own schema, a primary
key after de-duplication, the row accounting) are ERROR and block downstream assets. The
``vee__`` checks grade their result against thresholds (WARN or ERROR) but never block: the
data flows on, flagged.
"""

import warnings
from collections.abc import Generator, Iterator

import dagster as dg
import polars as pl
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.storage.event_log.base import AssetRecordsFilter

from gridflow_assets.checks import rules
from gridflow_assets.checks.plan import ERROR, WARN, CheckInput, CheckPlan, same_partition
from gridflow_assets.checks.table_plans import table_plans
from gridflow_assets.partitions import month_utility_partitions, split_key
from gridflow_assets.registry import Table, table
from gridflow_assets.registry.tables import BRONZE_TABLES
from gridflow_assets.resources import GridflowPaths, delivered, storage_spec
from gridflow_assets.silver.vee import delivered_count
from gridflow_assets.utilities import get_utility
from gridflow_assets.warehouse import Warehouse


def _delivered_columns(spec: Table) -> list[str]:
    return [c for c in spec.column_names if not c.startswith("_")]


def _orphan_plan(spec: Table, fk) -> CheckPlan:
    def run(inp: CheckInput) -> rules.RuleResult:
        parent_spec = table(fk.ref_table)
        if parent_spec.partitioned:
            parent = same_partition(inp, fk.ref_table, list(fk.ref_columns))
        else:
            parent = inp.store.read_pl(fk.ref_table, columns=list(fk.ref_columns))
        return rules.find_orphans(inp.df, parent, fk)

    return CheckPlan(
        f"orphans__{fk.name}",
        "orphans",
        WARN,
        f"({', '.join(fk.columns)}) found in {fk.ref_table}",
        run,
        deps=(fk.ref_table,),
    )


def _conservation_plan(spec: Table) -> CheckPlan:
    def run(inp: CheckInput) -> rules.RuleResult:
        source = get_utility(inp.utility).source_of(spec.name, spec.source)
        landed = inp.store.row_count(f"bronze/{source}", inp.utility, inp.month)
        kept = delivered_count(inp.df)  # VEE's added estimates did not land
        rejects = same_partition(inp, "silver/rejects", ["target_table", "category", "reason_code"])
        acc = rules.accounting(landed, kept, rejects, spec.name)
        result = rules.check_conservation(acc)
        result.details["rejects_by_reason"] = rules.rejects_by_reason(rejects, spec.name)
        return result

    return CheckPlan(
        "conservation__accounting",
        "conservation",
        ERROR,
        "landed (rows of the bronze source table) = kept + exact duplicates + "
        "conflicting duplicates + rejected",
        run,
        deps=tuple(f"bronze/{t}" for t in BRONZE_TABLES) + ("silver/rejects",),
    )


def plans_for(spec: Table) -> list[CheckPlan]:
    """Every check of a table: those the schema registry implies, then those declared for
    it by key (``checks/table_plans.py``: reconciliation, VEE)."""
    plans = [
        CheckPlan(
            "schema__structure",
            "schema",
            ERROR,
            "columns, dtypes and nullability match the schema registry",
            lambda inp: rules.validate_structure(inp.df, inp.spec),
        )
    ]
    if spec.layer == "bronze":
        plans.append(
            CheckPlan(
                "duplicates__exact_rows",
                "duplicates",
                WARN,
                "delivered rows repeated exactly (they are counted and set aside in silver)",
                lambda inp: rules.find_duplicates(inp.df, _delivered_columns(inp.spec)),
            )
        )
    elif spec.primary_key:
        plans.append(
            CheckPlan(
                "duplicates__primary_key",
                "duplicates",
                ERROR,
                f"primary key ({', '.join(spec.primary_key)}) unique after de-duplication",
                lambda inp: rules.find_duplicates(inp.df, list(spec.primary_key)),
            )
        )
    plans += [_orphan_plan(spec, fk) for fk in spec.foreign_keys]
    if any(c.has_range for c in spec.columns):
        plans.append(
            CheckPlan(
                "range__values",
                "range",
                WARN,
                "declared value ranges and allowed values",
                lambda inp: rules.validate_ranges(inp.df, inp.spec),
            )
        )
    if spec.layer == "silver" and spec.source:
        plans.append(_conservation_plan(spec))
    return plans + table_plans(spec.key)


def _markdown_table(rows: list[dict]) -> str:
    """The failing-row sample as the Markdown table the UI shows (rendered once, from the
    JSON rows stored beside it)."""
    if not rows:
        return "_none_"
    columns = list(rows[0])
    cell = lambda v: str(v)[:80].replace("|", "\\|").replace("\n", " ")
    head = "| " + " | ".join(columns) + " |"
    sep = "|" + "---|" * len(columns)
    body = ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def result_metadata(
    plan: CheckPlan, res: rules.RuleResult, utility: str | None, month: str | None
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


def _severity(plan: CheckPlan, res: rules.RuleResult) -> dg.AssetCheckSeverity:
    """The plan's severity, unless the rule graded its result (``vee__`` thresholds)."""
    return dg.AssetCheckSeverity(res.severity) if res.severity else plan.severity


def evaluate(
    plans: list[CheckPlan], inp: CheckInput
) -> Iterator[tuple[CheckPlan, rules.RuleResult]]:
    for plan in plans:
        yield plan, plan.run(inp)


def _target(
    context: dg.AssetExecutionContext, asset_key: dg.AssetKey
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The materialization just stored for this partition, so the UI shows the result
    against it (one index lookup per table)."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(
            asset_key=asset_key,
            asset_partitions=([context.partition_key] if context.has_partition_key else None),
        ),
        limit=1,
    ).records
    if not records:
        return None
    mat = records[0]
    return AssetCheckEvaluationTargetMaterializationData(
        run_id=mat.run_id, storage_id=mat.storage_id, timestamp=mat.timestamp
    )


class TableChecks:
    """The checks of one table's partition, fed the partition bucket by bucket as it is
    written (``add``), reported once it and every table they read are published
    (``report``). A partition written whole is one bucket."""

    def __init__(
        self,
        context: dg.AssetExecutionContext,
        store: Warehouse,
        key: str,
        utility: str | None,
        month: str | None,
        published: dict[str, pl.DataFrame] | None = None,
    ):
        self.context, self.store, self.key = context, store, key
        self.utility, self.month = utility, month
        self.published = published if published is not None else {}
        self._frames: list[pl.DataFrame] = []

    def add(self, frame: pl.DataFrame) -> None:
        """One meter bucket of the partition, as stored (every row of a meter is in one)."""
        self._frames.append(frame)

    def report(self) -> Generator[dg.AssetCheckEvaluation, None, list[str]]:
        frames, self._frames = self._frames, []
        df = frames[0] if len(frames) == 1 else pl.concat(frames, rechunk=False)
        return (
            yield from report_checks(
                self.context, self.store, self.key, df, self.utility, self.month, self.published
            )
        )


def report_checks(
    context: dg.AssetExecutionContext,
    store: Warehouse,
    key: str,
    df: pl.DataFrame,
    utility: str | None,
    month: str | None,
    published: dict[str, pl.DataFrame] | None = None,
) -> Iterator[dg.AssetCheckEvaluation]:
    """Evaluate every check of ``key`` on the partition the asset step just stored (``df``:
    the frame as stored) and yield each as an asset-check evaluation of that partition.
    ``published``: the tables the step has written so far (as stored), which checks read
    from memory instead of the files.

    This is how a partition run evaluates its checks: inside the asset's step, on the frame
    in memory, one event per check (no planned event, no check step re-reading the table).
    Dagster fails the step after it when a yielded evaluation is blocking and failed with
    ERROR, as it does for a blocking check step. Checks that the run also selected as check
    steps (a UI materialization with its checks) are left to those steps. Returns the
    blocking checks that failed, so the caller builds nothing downstream of them.
    """
    spec = table(key)
    asset_key = dg.AssetKey(key.split("/"))
    selected = context.run.asset_check_selection or set()
    plans = [p for p in plans_for(spec) if dg.AssetCheckKey(asset_key, p.name) not in selected]
    if not plans:
        return []
    target = _target(context, asset_key)
    partition = context.partition_key if spec.partitioned else None
    failed = []
    inp = CheckInput(store, storage_spec(key, utility), df, utility, month)
    inp.published = published or {}
    for plan, res in evaluate(plans, inp):
        severity = _severity(plan, res)
        yield dg.AssetCheckEvaluation(
            asset_key=asset_key,
            check_name=plan.name,
            passed=res.passed,
            metadata=result_metadata(plan, res, utility, month),
            severity=severity,
            description=plan.description,
            blocking=plan.blocking,
            partition=partition,
            target_materialization_data=target,
        )
        if plan.blocking and not res.passed and severity == ERROR:
            failed.append(f"{key} {plan.name}")
    return failed


def _spec(plan: CheckPlan, asset_key: dg.AssetKey, partitions, key: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        plan.name,
        asset=asset_key,
        description=plan.description,
        blocking=plan.blocking,
        partitions_def=partitions,
        additional_deps=[dg.AssetKey(d.split("/")) for d in plan.deps if d != key],
        metadata={"kind": plan.kind, "severity": plan.severity.value},
    )


def build_table_checks(key: str) -> dg.AssetChecksDefinition:
    """One multi-asset check per table, evaluating each of its checks for the partition."""
    spec = table(key)
    asset_key = dg.AssetKey(key.split("/"))
    plans = plans_for(spec)
    partitions = month_utility_partitions if spec.partitioned else None
    with warnings.catch_warnings():
        # Per-partition check results are "preview" in Dagster 1.13; without them a
        # steward would only see the latest partition's result (Dagster 1.13).
        warnings.simplefilter("ignore", dg.PreviewWarning)
        specs = [_spec(plan, asset_key, partitions, key) for plan in plans]

    @dg.multi_asset_check(
        specs=specs,
        name=f"{spec.layer}_{spec.name}_checks",
        can_subset=True,
        description=f"Registry-driven checks of {key}",
    )
    def _checks(context: dg.AssetCheckExecutionContext, paths: GridflowPaths):
        store = paths.store()
        utility = month = None
        if spec.partitioned:
            utility, month = split_key(context.partition_key)
        df = store.read_pl(key, utility, month)
        if df is None and not delivered(key, utility):
            # Nothing delivered, nothing failed: a result per selected check (at its own
            # severity) rather than none, which the UI would show as skipped and, for a
            # WARN check, paint as a red failure across all partitions.
            for name in sorted(k.name for k in context.selected_asset_check_keys):
                plan = next(p for p in plans if p.name == name)
                yield dg.AssetCheckResult(
                    asset_key=asset_key,
                    check_name=name,
                    passed=True,
                    severity=plan.severity,
                    description=plan.description,
                    metadata={
                        "kind": plan.kind,
                        "delivered": False,
                        "utility": utility,
                        "month": month,
                        "note": f"{utility} does not deliver what {key} is built from",
                    },
                )
            return
        if df is None:
            raise FileNotFoundError(f"{key} {utility}/{month} is not in the warehouse")
        inp = CheckInput(store, storage_spec(key, utility), df, utility, month)
        for plan, res in evaluate(plans, inp):
            yield dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=plan.name,
                passed=res.passed,
                severity=_severity(plan, res),
                metadata=result_metadata(plan, res, utility, month),
                description=plan.description,
            )

    return _checks
