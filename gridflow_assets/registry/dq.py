"""DQ tables for data stewards: every check evaluation as a row, one scorecard row per
month × utility partition, every drop seen, and the steward's decisions.

Partitioned by ``utility`` × ``month`` like the data, so a DQ refresh rewrites only the
partitions a run changed and parallel runs do not fight over one table. The checks of the
reference tables, which belong to no partition, are ``dq/reference_checks``.
``dq/deliveries`` and ``dq/signoffs`` are append-only (``delta.appendOnly``): a row is a
fact (a drop arrived, a steward decided) and is never updated in place.
Nested details (rejects by reason, value statistics per reading type, …) are JSON text
columns: one row per partition stays the grain, and BI tools and DuckDB read JSON.
"""

from __future__ import annotations

from dataclasses import replace

from gridflow_assets.registry.model import Column, Table

CHECK_KINDS = (
    "schema",
    "orphans",
    "duplicates",
    "range",
    "conservation",
    "coverage",
    "vee",
    "freshness",
    "reconcile",
)
STATUSES = ("ready", "ready with warnings", "blocked")
# A partition's state: what ran (STATUSES), or why nothing did (docs/operations.md).
STATES = (
    *STATUSES,
    "drop rejected",
    "delivered late",
    "missing and overdue",
    "not yet due",
)
OUTCOMES = ("landed", "drop rejected")
DECISIONS = ("approved", "sent back", "void")
TRENDS = ("first month", "better", "stable", "worse")


def _share(name: str, description: str) -> Column:
    return Column(name, "float", description, unit="ratio", ge=0, le=1)


def _count(name: str, description: str, nullable: bool = False) -> Column:
    return Column(name, "int", description, nullable=nullable, ge=0)


def _json(name: str, description: str, pii: bool = False) -> Column:
    return Column(name, "string", description + " (JSON)", pii=pii)


CHECK_RESULTS = Table(
    layer="dq",
    name="check_results",
    description="Every asset-check evaluation recorded by the Dagster instance, oldest first: "
    "the history of every check of every partition, not only the latest result.",
    grain="one row per asset-check evaluation, oldest first",
    primary_key=("run_id", "evaluation_id"),
    columns=(
        Column("run_id", "string", "Dagster run that evaluated the check", nullable=False),
        Column(
            "evaluation_id",
            "int",
            "Storage id of the evaluation event in the Dagster "
            "instance: unique within its run (the default SQLite storage numbers the "
            "events of each run apart), globally on Postgres",
            nullable=False,
            ge=1,
        ),
        Column("asset", "string", "Checked table, layer/name", nullable=False),
        Column("check_name", "string", "Check name; starts with its kind", nullable=False),
        Column(
            "kind", "string", "Check kind (docs/architecture.md)", nullable=False, isin=CHECK_KINDS
        ),
        Column("partition_key", "string", "Dagster partition key (month|utility)"),
        Column("passed", "bool", "Whether the check passed", nullable=False),
        Column(
            "severity",
            "string",
            "WARN (delivered data, never blocks) or ERROR (pipeline guarantee, blocks downstream)",
            nullable=False,
            isin=("WARN", "ERROR"),
        ),
        Column("is_blocking", "bool", "Whether a failure of this check stops downstream assets"),
        _count("failed_count", "Rows (or keys) that failed"),
        _count("total_rows", "Rows checked", nullable=True),
        _share("failure_rate", "failed_count / total_rows"),
        _json(
            "sample_keys",
            "Sample of failing rows or keys, as the check showed them: may "
            "hold service point ids and addresses",
            pii=True,
        ),
        _json("details", "Failures by detail (column and check, foreign key, accounting)"),
        Column("description", "string", "What the check verifies (the rule)"),
        Column(
            "violation",
            "string",
            "What a failed evaluation found violated, with its count (null when passed)",
        ),
        Column("evaluated_at_utc", "timestamp", "When the evaluation was recorded", nullable=False),
        Column(
            "is_latest",
            "bool",
            "The latest evaluation of this check for this partition "
            "(what the partition's status is judged on)",
            nullable=False,
        ),
    ),
)

REFERENCE_CHECKS = replace(
    CHECK_RESULTS,
    name="reference_checks",
    partitioned=False,
    description="Every evaluation of the checks of the reference tables (dim_date, dim_time, "
    "dim_utility, reason_codes), which belong to no partition: dq/check_results' columns.",
)

PARTITION_SCORECARD = Table(
    layer="dq",
    name="partition_scorecard",
    description="Sign-off view of each month × utility partition: rows by layer, row "
    "accounting, referential integrity, completeness of critical fields, value "
    "statistics per reading type, interval coverage, estimated share, check "
    "results, an overall status and the issues to raise with the utility.",
    grain="one row per month × utility partition",
    primary_key=("partition_key",),
    columns=(
        Column("partition_key", "string", "Dagster partition key (month|utility)", nullable=False),
        Column(
            "status",
            "string",
            "ready: nothing to raise; ready with warnings: the data "
            "flows, the issues are for the utility; blocked: a pipeline guarantee is broken "
            "or a table is missing, do not sign off",
            nullable=False,
            isin=STATUSES,
        ),
        Column(
            "trend",
            "string",
            "Compared with the utility's previous month",
            nullable=False,
            isin=TRENDS,
        ),
        Column("trend_notes", "string", "What changed since the previous month, in words"),
        _count("issue_count", "Issues raised (blocking and warnings)"),
        Column("blocking_reasons", "string", "Why the partition is blocked, one per line"),
        Column("utility_issues", "string", "Issues to raise with the utility, one per line"),
        _count("checks_evaluated", "Checks with a result for this partition (latest)"),
        _count("checks_passed", "Of those, passed"),
        _count("checks_failed_warn", "Failed with severity WARN"),
        _count("checks_failed_error", "Failed with severity ERROR"),
        _count("checks_missing", "Checks the registry implies that have no result"),
        Column("failed_checks", "string", "Failing checks as table:check, '; '-separated"),
        _count("rows_bronze", "Rows landed, all bronze tables"),
        _count("rows_silver", "Rows kept, all silver tables except rejects"),
        _count("rows_rejects", "Rows of silver/rejects"),
        _count("rows_gold", "Rows, all partitioned gold tables"),
        _count("rows_experience", "Rows, all experience tables"),
        _count("landed", "Accounting over the silver tables: rows of their bronze sources"),
        _count("kept", "Accounting: rows kept in silver"),
        _count("duplicates_exact", "Accounting: exact repeats set aside"),
        _count("duplicates_conflicting", "Accounting: conflicting versions set aside"),
        _count("rejected", "Accounting: rows rejected with a reason"),
        Column(
            "accounting_reconciles",
            "bool",
            "landed = kept + duplicates + rejected for every silver table",
            nullable=False,
        ),
        _share("not_kept_share", "(landed - kept) / landed"),
        _count("orphans", "Rows whose foreign key is missing, summed over silver foreign keys"),
        _share(
            "interval_coverage",
            "Readings present / expected within the local days a "
            "meter channel delivered (DST days have 23 or 25 hours)",
        ),
        _share(
            "day_coverage",
            "Meter-channel days of the month with at least half their "
            "readings (CalTRACK) / all meter-channel days of the month",
        ),
        _count("channels_with_gaps", "Meter channels missing readings inside a delivered day"),
        _share("estimated_share", "Readings estimated (quality 8 or 9)"),
        _share("failed_validation_share", "Readings that failed validation (quality 10)"),
        _share("completeness_min", "Lowest completeness of the critical fields"),
        Column("first_start_utc", "timestamp", "Earliest reading start"),
        Column("last_end_utc", "timestamp", "Latest reading end"),
        _count("rows_outside_month", "Readings whose local day is not in the month"),
        _json("rows_by_table", "Rows per table"),
        _json("accounting_by_table", "Row accounting per silver table, with rejects by reason"),
        _json(
            "rejects_by_reason",
            "Rejected and set-aside rows per table and reason code, with an example source row",
        ),
        _json("orphans_by_key", "Orphans per table and foreign key"),
        _json("completeness", "Filled share of each critical field"),
        _json(
            "value_stats",
            "Value statistics per reading type (measurement, direction, "
            "kind, interval, unit): never mixes units",
        ),
        _json("quality_codes", "Readings per common quality code"),
        _json("flags", "Rows per rule id that flagged them"),
        _json(
            "vee_rule_counts",
            "Count of every VEE rule (V1-V9, E1-E4) and estimates by "
            "method, from the latest vee__ checks of silver/intervals",
        ),
        Column(
            "content_digest",
            "string",
            "SHA-256 over the partition's rows in every data table (from the digests in "
            "its file names): the same for a byte-identical rerun; a sign-off holds it",
            nullable=False,
        ),
        _json("table_digests", "Content digest of each data table's partition"),
        _json("card", "The whole scorecard as gridflow dq shows it"),
    ),
)

DELIVERIES = Table(
    layer="dq",
    name="deliveries",
    description="Every drop seen, each time a run read it: its fingerprint, when it arrived, "
    "its due time, and its outcome, with the file, column, row and reason of a rejection. "
    "Append-only.",
    grain="one row per drop read by a run",
    append_only=True,
    primary_key=("run_id",),
    columns=(
        Column("fingerprint", "string", "Drop fingerprint (file names, sizes, times)"),
        Column("drop_name", "string", "UTILITY/YYYY-MM", nullable=False),
        Column(
            "arrived_at_utc",
            "timestamp",
            "When the drop was marked complete (its _SUCCESS marker)",
        ),
        Column("due_at_utc", "timestamp", "End of the utility's expected delivery day"),
        Column(
            "due_day",
            "int",
            "The utility's expected delivery day of the following month, when it was read",
            ge=1,
            le=31,
        ),
        Column("timezone", "string", "The utility's time zone (IANA), when it was read"),
        Column("seen_at_utc", "timestamp", "When the run read it", nullable=False),
        Column("run_id", "string", "Dagster run that read it"),
        Column("outcome", "string", "landed or drop rejected", nullable=False, isin=OUTCOMES),
        Column("file", "string", "Rejected: the file"),
        Column("column_name", "string", "Rejected: the column"),
        Column("row_number", "int", "Rejected: the row (0: the header)", ge=0),
        Column("reason", "string", "Rejected: why"),
    ),
)

SIGNOFFS = Table(
    layer="dq",
    name="signoffs",
    description="Every steward decision on a partition (approved, sent back), and every "
    "void of one by a rerun that changed the partition's content. Append-only: the trail.",
    grain="one row per decision",
    append_only=True,
    primary_key=("decision_id",),
    columns=(
        Column("decision_id", "string", "Unique id of the decision", nullable=False),
        Column("decision", "string", "approved, sent back or void", nullable=False, isin=DECISIONS),
        Column("steward", "string", "Who decided (--by; 'gridflow' for a void)", nullable=False),
        Column("os_user", "string", "Operating-system user that recorded it"),
        Column("host", "string", "Host it was recorded on"),
        Column("decided_at_utc", "timestamp", "When", nullable=False),
        Column("reason", "string", "Why, in the steward's words", nullable=False),
        _json("waived_checks", "Failing checks the approval waived, as table:check"),
        _json("failing_checks", "Failing checks of the partition at the decision"),
        Column("state", "string", "The partition's state at the decision", isin=STATES),
        Column(
            "content_digest",
            "string",
            "The partition's content digest the decision is about (a void: the new one)",
            nullable=False,
        ),
        Column("voids", "string", "A void: the decision_id it voids"),
        Column("via", "string", "cli or dagster (the signoff job); gridflow for a void"),
    ),
)

DQ = {
    t.name: t for t in (CHECK_RESULTS, REFERENCE_CHECKS, PARTITION_SCORECARD, DELIVERIES, SIGNOFFS)
}
