"""A drop in IESCO's legacy billing export, unedited, through every layer: every bill kept
with its amounts as delivered, the accounting reconciling, sub-category bills priced by the
reconcile checks, and the bills whose consumer cannot be derived reported, not lost."""

import pandas as pd
import polars as pl

from gridflow_assets.checks import reconcile
from gridflow_assets.defs.definitions import PARTITION_JOB, REFERENCE_JOB
from gridflow_assets.domain import tariff
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.registry.partitions import partition_key
from gridflow_assets.silver.adapters.iesco import LEGACY
from gridflow_assets.store.warehouse import Warehouse

MONTH = "2025-06"


def test_legacy_drop_end_to_end(defs, folders, instance):
    landing, warehouse, _ = folders
    (drop,) = generate_iesco(landing, [MONTH], meters=20, seed=3, faults="realistic", fmt=LEGACY)
    delivered = pd.read_csv(drop / "bills.csv", dtype=str, keep_default_na=False)
    assert "bill_id" not in delivered.columns  # the legacy shape, as exported
    instance.add_dynamic_partitions("utility", ["IESCO"])
    assert defs.resolve_job_def(REFERENCE_JOB).execute_in_process(instance=instance).success
    result = defs.resolve_job_def(PARTITION_JOB).execute_in_process(
        instance=instance, partition_key=partition_key("IESCO", MONTH), raise_on_error=False
    )
    assert result.success
    checks = {
        ("/".join(e.event_specific_data.asset_key.path), e.event_specific_data.check_name): (
            e.event_specific_data
        )
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    accounting = [c for (_, name), c in checks.items() if name == "conservation__accounting"]
    assert accounting and all(c.passed for c in accounting)

    store = Warehouse(warehouse)
    bills = store.read_pl("silver/bills", "IESCO", MONTH)
    sp = store.read_pl("silver/service_points", "IESCO", MONTH)
    # every bill kept, its id derived, its amounts exactly as delivered
    assert bills.height == len(delivered)
    assert (bills["derived_rules"] == "BILL_ID_FROM_METER_MONTH").all()
    money = ["units_consumed", *tariff.BILL_COLUMNS]
    as_delivered = pl.from_pandas(delivered).select(
        ("IESCO:" + pl.col("meter_number")).alias("meter_id"),
        *(pl.col(c).cast(pl.Float64) for c in money),
    )
    got = bills.select("meter_id", *money).sort("meter_id")
    assert got.equals(as_delivered.sort("meter_id"))
    assert store.row_count("gold/fact_bills", "IESCO", MONTH) == len(delivered)

    # the reconcile checks price the sub-category bills: every bill of a known consumer
    # type is judged against the tariff (an energy charge off by Rs 100 is found on each)
    arithmetic = checks[("silver/bills", "reconcile__bill_arithmetic")]
    assert arithmetic.metadata["total_rows"].value == len(delivered)
    assert arithmetic.metadata["details"].value == reconcile.bill_arithmetic(bills, sp).details
    assert set(bills["tariff_applied"]) <= set(tariff.tariff_codes())
    assert not set(bills["tariff_applied"]) & {"A-1", "A-2", "A-3"}  # sub-categories only
    known = sp.filter(pl.col("consumer_type") != "UNKNOWN")["service_point_id"]
    off = bills.with_columns(pl.col("variable_charges") + 100)
    found = reconcile.bill_arithmetic(off, sp).details["energy_vs_tariff"]
    assert found == bills.filter(pl.col("service_point_id").is_in(known.implode())).height

    # consumers no rule could derive: their bills kept, UNKNOWN, and reported (WARN)
    not_derived = checks[("silver/bills", "reconcile__not_derived")]
    unknown = sp.filter((pl.col("consumer_type") == "UNKNOWN") | (pl.col("district") == "UNKNOWN"))[
        "service_point_id"
    ]
    expected = bills.filter(pl.col("service_point_id").is_in(unknown.implode())).height
    assert expected > 0
    assert not not_derived.passed and not_derived.severity.value == "WARN"
    assert not_derived.metadata["failed_count"].value == expected
    fact = store.read_pl("gold/fact_bills", "IESCO", MONTH)
    assert fact.filter(pl.col("consumer_type") == "UNKNOWN").height == (
        sp.filter(pl.col("consumer_type") == "UNKNOWN").join(bills, on="service_point_id").height
    )
