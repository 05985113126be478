"""IESCO end to end through Dagster: the star schema of a clean month, every check passing."""

from gridflow_assets.defs.definitions import PARTITION_JOB, REFERENCE_JOB
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.registry.partitions import partition_key
from gridflow_assets.store.warehouse import Warehouse

MONTH = "2025-06"


def test_star_schema_end_to_end(defs, folders, instance):
    landing, warehouse, _ = folders
    generate_iesco(landing, [MONTH], meters=8, seed=2, faults="none")
    instance.add_dynamic_partitions("utility", ["IESCO"])
    assert defs.resolve_job_def(REFERENCE_JOB).execute_in_process(instance=instance).success
    result = defs.resolve_job_def(PARTITION_JOB).execute_in_process(
        instance=instance, partition_key=partition_key("IESCO", MONTH), raise_on_error=False
    )
    assert result.success
    checks = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    failing = [f"{'/'.join(c.asset_key.path)}:{c.check_name}" for c in checks if not c.passed]
    assert failing == []
    names = {c.check_name for c in checks}
    assert {"reconcile__bill_arithmetic", "reconcile__billed_units", "reconcile__payments"} <= names
    assert sum(c.check_name.startswith("orphans__") for c in checks) >= 15
    store = Warehouse(warehouse)
    for table in (
        "dim_location",
        "dim_consumer_type",
        "fact_bills",
        "fact_payments",
        "agg_monthly_consumption",
        "agg_daily_consumption",
        "agg_consumer_type_summary",
        "agg_payment_summary",
        "agg_location_summary",
    ):
        assert store.row_count(f"gold/{table}", "IESCO", MONTH) > 0, table
    bills = store.read("gold/fact_bills", "IESCO", MONTH)
    dates = store.read("gold/dim_date")
    assert bills.due_date_key.isin(dates.date_key).all()
    assert bills.is_arithmetic_ok.all()
    summary = store.read("gold/agg_payment_summary", "IESCO", MONTH)
    assert summary.bill_count.sum() == len(bills)
