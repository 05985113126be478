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
from collections.abc import Callable, Generator, Iterator

import dagster as dg
import polars as pl

from gridflow_assets.checks import rules
from gridflow_assets.checks.metadata import result_metadata
from gridflow_assets.checks.plan import (
    ERROR,
    WARN,
    CheckInput,
    CheckPlan,
    bucket_plan,
    same_partition,
)
from gridflow_assets.checks.table_plans import table_plans
from gridflow_assets.dagster_api import AssetCheckEvaluationTargetMaterializationData
from gridflow_assets.registry import Table, table
from gridflow_assets.registry.partitions import month_utility_partitions, split_key
from gridflow_assets.registry.tables import BRONZE_KEYS
from gridflow_assets.silver.adapters import delivered, get_utility, storage_spec
from gridflow_assets.silver.vee import delivered_count
from gridflow_assets.store.resources import GridflowPaths
from gridflow_assets.store.warehouse import Warehouse


def _delivered_columns(spec: Table) -> list[str]:
    return [c for c in spec.column_names if not c.startswith("_")]


def _columns(names) -> str:
    """A key as a violation names it: ``meter_id``, ``(meter_id, channel)``."""
    return names[0] if len(names) == 1 else f"({', '.join(names)})"


def _orphan_plan(spec: Table, fk) -> CheckPlan:
    def finish(inp: CheckInput, tallies: list[rules.KeyTally]) -> rules.RuleResult:
        parent_spec = table(fk.ref_table)
        if parent_spec.partitioned:
            parent = same_partition(inp, fk.ref_table, list(fk.ref_columns))
        else:
            parent = inp.store.read_pl(fk.ref_table, columns=list(fk.ref_columns))
        return rules.orphans_found(tallies, parent, fk)

    return bucket_plan(
        f"orphans__{fk.name}",
        "orphans",
        WARN,
        f"({', '.join(fk.columns)}) found in {fk.ref_table}",
        lambda inp: rules.orphan_tally(inp.df, fk),
        finish,
        deps=(fk.ref_table,),
        subject=_columns(fk.columns),
    )


def _conservation_plan(spec: Table) -> CheckPlan:
    def finish(inp: CheckInput, kept: list[int]) -> rules.RuleResult:
        source = get_utility(inp.utility).source_of(spec.name, spec.source)
        landed = inp.store.row_count(f"bronze/{source}", inp.utility, inp.month)
        rejects = same_partition(inp, "silver/rejects", ["target_table", "category", "reason_code"])
        acc = rules.accounting(landed, sum(kept), rejects, spec.name)
        result = rules.check_conservation(acc)
        result.details["rejects_by_reason"] = rules.rejects_by_reason(rejects, spec.name)
        return result

    return bucket_plan(
        "conservation__accounting",
        "conservation",
        ERROR,
        "landed (rows of the bronze source table) = kept + exact duplicates + "
        "conflicting duplicates + rejected",
        lambda inp: delivered_count(inp.df),  # VEE's added estimates did not land
        finish,
        deps=(*BRONZE_KEYS, "silver/rejects"),
    )


def _duplicates_plan(
    name: str,
    severity,
    description: str,
    key: Callable[[Table], list[str]],
    spanning: bool,
    subject: str = "",
) -> CheckPlan:
    """Repeats of ``key(spec)``. ``spanning``: one key's rows may be in several meter
    buckets (a key without the meter), so a bucketed partition keeps every key with its
    rows; otherwise each bucket keeps only the keys it repeats. ``subject``: the key as a
    violation names it (none: the whole delivered row)."""

    def tally(inp: CheckInput) -> rules.KeyTally:
        return rules.duplicate_tally(inp.df, key(inp.spec), spanning and inp.bucketed)

    return bucket_plan(
        name,
        "duplicates",
        severity,
        description,
        tally,
        lambda inp, tallies: rules.duplicates_found(tallies, key(inp.spec)),
        subject=subject,
    )


def plans_for(spec: Table) -> list[CheckPlan]:
    """Every check of a table: those the schema registry implies, then those declared for
    it by key (``checks/table_plans.py``: reconciliation, VEE)."""
    plans = [
        bucket_plan(
            "schema__structure",
            "schema",
            ERROR,
            "columns, dtypes and nullability match the schema registry",
            lambda inp: rules.structure_tally(inp.df, inp.spec, inp.offset),
            lambda inp, tallies: rules.structure_found(tallies),
            subject=spec.key,
        )
    ]
    if spec.layer == "bronze":
        plans.append(
            _duplicates_plan(
                "duplicates__exact_rows",
                WARN,
                "delivered rows repeated exactly (they are counted and set aside in silver)",
                _delivered_columns,
                spanning=False,  # exact repeats share the meter's text: one bucket
            )
        )
    elif spec.primary_key:
        plans.append(
            _duplicates_plan(
                "duplicates__primary_key",
                ERROR,
                f"primary key ({', '.join(spec.primary_key)}) unique after de-duplication",
                lambda _: list(spec.primary_key),
                spanning="meter_id" not in spec.primary_key,  # a meter is in one bucket
                subject=_columns(spec.primary_key),
            )
        )
    plans += [_orphan_plan(spec, fk) for fk in spec.foreign_keys]
    if any(c.has_range for c in spec.columns):
        plans.append(
            bucket_plan(
                "range__values",
                "range",
                WARN,
                "declared value ranges and allowed values",
                lambda inp: rules.range_tally(inp.df, inp.spec),
                lambda inp, tallies: rules.ranges_found(tallies),
            )
        )
    if spec.layer == "silver" and spec.source:
        plans.append(_conservation_plan(spec))
    return plans + table_plans(spec.key)


def _severity(plan: CheckPlan, res: rules.RuleResult) -> dg.AssetCheckSeverity:
    """The plan's severity, unless the rule graded its result (``vee__`` thresholds)."""
    return dg.AssetCheckSeverity(res.severity) if res.severity else plan.severity


def _target(
    context: dg.AssetExecutionContext, asset_key: dg.AssetKey
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The materialization just stored for this partition, so the UI shows the result
    against it (one index lookup per table)."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(
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


class PartitionChecks:
    """Checks of one table's partition evaluated meter bucket by meter bucket: ``add``
    tallies one bucket (every row of a meter is in one) for every plan, ``results``
    finishes each plan once the tables it reads are published. What is kept between
    buckets is the plans' tallies (counts, a few sample rows, distinct foreign keys),
    never the rows. A plan without a per-bucket part (``CheckPlan.tally``) runs on a
    partition of one bucket only: a second bucket is refused rather than gathered.

    ``bucketed``: more than one bucket may come (False: the frame added is the whole
    partition, as ``report_checks`` gives it)."""

    def __init__(
        self,
        store: Warehouse,
        key: str,
        utility: str | None,
        month: str | None,
        plans: list[CheckPlan],
        published: dict[str, pl.DataFrame] | None = None,
        bucketed: bool = True,
    ):
        self.store, self.key, self.utility, self.month = store, key, utility, month
        self.plans, self.bucketed = plans, bucketed
        self.published = published if published is not None else {}
        self.spec = storage_spec(key, utility)
        self.rows = self.buckets = 0
        self._tallies: dict[str, list] = {p.name: [] for p in plans if p.tally is not None}
        self._whole: pl.DataFrame | None = None  # for plans without a per-bucket part

    def _input(self, df: pl.DataFrame | None) -> CheckInput:
        inp = CheckInput(self.store, self.spec, df, self.utility, self.month)
        inp.published, inp.offset, inp.bucketed = self.published, self.rows, self.bucketed
        return inp

    def add(self, frame: pl.DataFrame) -> None:
        """One meter bucket of the partition, as stored."""
        whole_only = [p.name for p in self.plans if p.tally is None]
        if self.buckets and (whole_only or not self.bucketed):
            raise ValueError(
                f"{self.key} {self.utility}/{self.month}: a second bucket, but "
                f"{', '.join(whole_only) or 'these checks'} judge the partition whole"
            )
        inp = self._input(frame)
        for plan in self.plans:
            if plan.tally is not None:
                self._tallies[plan.name].append(plan.tally(inp))
        if whole_only:
            self._whole = frame
        self.rows += frame.height
        self.buckets += 1

    def results(self) -> Iterator[tuple[CheckPlan, rules.RuleResult]]:
        """Each plan with its result over every bucket added."""
        if not self.buckets:
            raise ValueError(f"{self.key} {self.utility}/{self.month}: no bucket to check")
        inp = self._input(self._whole)
        for plan in self.plans:
            tallies = self._tallies.get(plan.name)
            yield plan, plan.run(inp) if tallies is None else plan.finish(inp, tallies)


class TableChecks:
    """The checks of one table's partition, fed the partition bucket by bucket as it is
    written (``add``), reported once it and every table they read are published
    (``report``). A partition written whole is one bucket. Checks the run also selected
    as check steps (a UI materialization with its checks) are left to those steps."""

    def __init__(
        self,
        context: dg.AssetExecutionContext,
        store: Warehouse,
        key: str,
        utility: str | None,
        month: str | None,
        published: dict[str, pl.DataFrame] | None = None,
        bucketed: bool = True,
    ):
        self.context, self.key = context, key
        self.asset_key = dg.AssetKey(key.split("/"))
        selected = context.run.asset_check_selection or set()
        plans = [
            p
            for p in plans_for(table(key))
            if dg.AssetCheckKey(self.asset_key, p.name) not in selected
        ]
        self.checks = PartitionChecks(store, key, utility, month, plans, published, bucketed)

    def add(self, frame: pl.DataFrame) -> None:
        """One meter bucket of the partition, as stored (every row of a meter is in one)."""
        if self.checks.plans:
            self.checks.add(frame)

    def report(self) -> Generator[dg.AssetCheckEvaluation, None, list[str]]:
        """Yield each check as an asset-check evaluation of the partition; returns the
        blocking checks that failed."""
        if not self.checks.plans:
            return []
        target = _target(self.context, self.asset_key)
        partition = self.context.partition_key if table(self.key).partitioned else None
        failed = []
        utility, month = self.checks.utility, self.checks.month
        for plan, res in self.checks.results():
            severity = _severity(plan, res)
            yield dg.AssetCheckEvaluation(
                asset_key=self.asset_key,
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
                failed.append(f"{self.key} {plan.name}")
        return failed


def against_latest(
    context: dg.AssetExecutionContext, evaluations: list[dg.AssetCheckEvaluation]
) -> Iterator[dg.AssetCheckEvaluation]:
    """``evaluations`` of one asset made before its materialization was stored (a layer
    step reports after its commits), each pointed at that materialization, now stored."""
    target = _target(context, evaluations[0].asset_key) if evaluations else None
    for ev in evaluations:
        yield dg.AssetCheckEvaluation(
            asset_key=ev.asset_key,
            check_name=ev.check_name,
            passed=ev.passed,
            metadata=ev.metadata,
            severity=ev.severity,
            description=ev.description,
            blocking=ev.blocking,
            partition=ev.partition,
            target_materialization_data=target,
        )


def report_checks(
    context: dg.AssetExecutionContext,
    store: Warehouse,
    key: str,
    df: pl.DataFrame,
    utility: str | None,
    month: str | None,
    published: dict[str, pl.DataFrame] | None = None,
) -> Generator[dg.AssetCheckEvaluation, None, list[str]]:
    """Evaluate every check of ``key`` on the partition the asset step just stored (``df``:
    the frame as stored) and yield each as an asset-check evaluation of that partition.
    ``published``: the tables the step has written so far (as stored), which checks read
    from memory instead of the files.

    This is how a partition run evaluates its checks: inside the asset's step, on the frame
    in memory, one event per check (no planned event, no check step re-reading the table).
    Dagster fails the step after it when a yielded evaluation is blocking and failed with
    ERROR, as it does for a blocking check step. Returns the blocking checks that failed,
    so the caller builds nothing downstream of them. (``TableChecks`` of one bucket.)
    """
    checks = TableChecks(context, store, key, utility, month, published, bucketed=False)
    checks.add(df)
    return (yield from checks.report())


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


def _results(asset_key: dg.AssetKey, checks: PartitionChecks) -> Iterator[dg.AssetCheckResult]:
    """Each plan's result over what ``checks`` was fed, as Dagster check results."""
    for plan, res in checks.results():
        yield dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=plan.name,
            passed=res.passed,
            severity=_severity(plan, res),
            metadata=result_metadata(plan, res, checks.utility, checks.month),
            description=plan.description,
        )


def _whole_table(store, key: str, asset_key: dg.AssetKey, plans: list[CheckPlan]):
    """The results of a DQ table's checks over all its rows (its partitions together:
    DQ tables are small)."""
    frame = store.read_table(key)
    if frame is None:
        for plan in plans:
            yield dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=plan.name,
                passed=True,
                severity=plan.severity,
                description=plan.description,
                metadata={"kind": plan.kind, "note": f"{key} holds no rows yet"},
            )
        return
    frame = frame.drop([c for c in ("utility", "month") if c in frame.columns])
    checks = PartitionChecks(store, key, None, None, plans, bucketed=False)
    checks.add(frame)
    yield from _results(asset_key, checks)


def build_table_checks(key: str) -> dg.AssetChecksDefinition:
    """One multi-asset check per table, evaluating each of its checks for the partition."""
    spec = table(key)
    asset_key = dg.AssetKey(key.split("/"))
    plans = plans_for(spec)
    # A DQ table is one Dagster asset refreshed whole, stored by utility × month: its
    # checks read every partition.
    whole = spec.layer == "dq"
    partitions = month_utility_partitions if spec.partitioned and not whole else None
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
        if whole:
            yield from _whole_table(store, key, asset_key, plans)
            return
        if spec.partitioned:
            utility, month = split_key(context.partition_key)
        buckets = store.bucket_rows(key, utility, month) or []
        checks = PartitionChecks(store, key, utility, month, plans, bucketed=len(buckets) > 1)
        for frame in store.iter_buckets(key, utility, month):
            checks.add(frame)
        if not checks.buckets and not delivered(key, utility):
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
        if not checks.buckets:
            raise FileNotFoundError(f"{key} {utility}/{month} is not in the warehouse")
        yield from _results(asset_key, checks)

    return _checks
