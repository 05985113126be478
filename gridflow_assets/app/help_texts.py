"""The help texts of the ``gridflow`` command and its subcommands: plain text, printed as
written (``RawDescriptionHelpFormatter``); `cli` builds the parser around them."""

DESCRIPTION = """\
gridflow turns monthly smart-meter drops into a governed warehouse of Delta Lake tables through Dagster.
`gridflow COMMAND -h` explains a command.

Folders (relative to the working directory unless set): landing data/landing
($GRIDFLOW_LANDING), warehouse data/warehouse ($GRIDFLOW_WAREHOUSE), reports data/reports
($GRIDFLOW_REPORTS), Dagster instance .dagster_home ($DAGSTER_HOME; see `gridflow run -h`).
Exit codes: 0 success (warnings allowed), 1 a drop was rejected or a blocking check failed,
2 bad arguments."""

RUN_DESCRIPTION = """\
Materialize every complete drop of the landing folder through Dagster. A drop is a folder
<landing>/<UTILITY>/<YYYY-MM>/ holding the utility's CSV files (docs/formats/), optionally
manifest.json, and _SUCCESS written last. Each drop is one Dagster run of its month x utility
partition, on the instance bound to the warehouse. Then the DQ tables and the dashboard are
refreshed and a summary of the partitions (ok / with warnings / blocked / failed) printed."""

RUN_EPILOG = """\
environment:
  GRIDFLOW_LANDING    default of --landing (else data/landing)
  GRIDFLOW_WAREHOUSE  default of --warehouse (else data/warehouse)
  GRIDFLOW_REPORTS    where the dashboard dq_dashboard.html is written (else data/reports)
  DAGSTER_HOME        the Dagster instance: runs, check history, run logs. Unset, it is
                      .dagster_home for data/warehouse and <warehouse>/.dagster_home for any
                      other warehouse. An instance records its warehouse on first use and
                      refuses another (exit 2), so the UI, `gridflow dq` and the dashboard
                      always describe the same data.

output:
  On a terminal, a progress bar per partition (steps, readings landed, readings/s); piped
  or in CI, plain lines only. A line per partition as it ends; for a partition that failed,
  a short block: drop, file, column and row, the reason, what to do, its run in the UI.
  Then a table of the partitions and where to look next. Dagster's own log (every event,
  stack traces) goes to <DAGSTER_HOME>/gridflow-logs/run-<UTC time>.log, whose path is
  printed, or to the terminal with --verbose.

exit codes:
  0 every partition ran (warnings allowed); 1 a drop was rejected or a blocking check
  failed; 2 bad arguments, an unknown utility, or a DAGSTER_HOME bound to another
  warehouse."""

SIGNOFF_DESCRIPTION = """\
Record a steward's decision on one month x utility partition in dq/signoffs (append-only),
with your name, the operating-system user, the host, the time, the reason and the
partition's content digest. approve: every failing check must be waived by name (--waive
CHECK, repeatable) or all at once (--waive all); a blocked partition cannot be approved and
a blocking check cannot be waived. send-back: return the month to the utility. A rerun that
changes the partition's content voids the decision (`gridflow dq` shows it). Needs no
Dagster.

exit codes:
  0 recorded; 1 refused (the line says why); 2 bad arguments or an unknown utility."""

HISTORY_DESCRIPTION = """\
List the versions of a warehouse table (its Delta commits), newest first: version, time
(UTC), operation, partition, the Dagster run and drop that wrote it, rows added and
removed. --utility and --month: only the commits of that partition."""

VACUUM_DESCRIPTION = """\
Delete, in every table, the files no version inside the retention reads (superseded
partitions, files of writers that died before their commit) and the log entries past it.
The retention is $GRIDFLOW_RETENTION_DAYS days (default 30): `gridflow dq --as-of` and
Delta readers' time travel reach back that far. The Dagster schedule warehouse_vacuum does
the same every day."""

MIGRATE_DESCRIPTION = """\
Convert a warehouse written by gridflow before Delta Lake (each partition a _current.json
pointer naming v=<id>/part-N.parquet) in place: each partition's current files are moved
into the partition folder (not rewritten) and committed as one Delta version; superseded
versions and the pointers are deleted. Commands that read the warehouse refuse one not
converted. Running it again finishes a migration cut short; on a converted warehouse it
has nothing to do.

exit codes:
  0 converted, or nothing to do; 1 a partition could not be converted (the line says
  which; the tables before it are converted, run it again after fixing it); 2 bad
  arguments or an unusable warehouse."""
