"""PII never reaches external views: a real warehouse built through Dagster, every value of
a PII-tagged silver column searched for in the external tables."""

import re

import pytest

from gridflow_assets.defs.definitions import PARTITION_JOB, REFERENCE_JOB
from gridflow_assets.generate.iesco import generate_iesco
from gridflow_assets.generate.ny import generate_utility1
from gridflow_assets.registry import TABLES
from gridflow_assets.registry.partitions import partition_key
from gridflow_assets.store.pii import ENV_SECRET
from gridflow_assets.store.warehouse import Warehouse


@pytest.fixture
def warehouse(defs, folders, instance, monkeypatch):
    monkeypatch.setenv(ENV_SECRET, "test-secret-1")
    landing, warehouse, _ = folders
    generate_utility1(landing, ["2025-03"], meters=6, seed=4)
    generate_iesco(landing, ["2025-03"], meters=6, seed=4)
    instance.add_dynamic_partitions("utility", ["UTILITY1", "IESCO"])
    defs.resolve_job_def(REFERENCE_JOB).execute_in_process(instance=instance)
    for utility in ("UTILITY1", "IESCO"):
        assert (
            defs.resolve_job_def(PARTITION_JOB)
            .execute_in_process(instance=instance, partition_key=partition_key(utility, "2025-03"))
            .success
        )
    return Warehouse(warehouse)


def _sensitive_values(store: Warehouse) -> set[str]:
    """Every value of a PII-tagged column in silver, and the raw ids inside namespaced ids."""
    values = set()
    for key, spec in TABLES.items():
        if spec.layer != "silver" or not spec.partitioned:
            continue
        for utility, month in store.partitions(key):
            df = store.read(key, utility, month, columns=spec.pii_columns)
            for col in df.columns:
                for v in df[col].dropna().astype(str):
                    values.add(v)
                    values.add(v.split(":", 1)[-1])
    return {v for v in values if len(v) >= 5}


def test_external_views_carry_no_pii(warehouse):
    sensitive = _sensitive_values(warehouse)
    assert any(re.fullmatch(r"SP-\d{8}", v) for v in sensitive)  # the ZIP-embedding ids
    externals = [k for k, t in TABLES.items() if t.external]
    assert externals
    for key in externals:
        for utility, month in warehouse.partitions(key):
            df = warehouse.read(key, utility, month)
            assert len(df) > 0
            for col in df.columns:
                text = df[col].dropna().astype(str)
                leaked = [v for v in text if v in sensitive or re.search(r"SP-\d{8}|PREM-\d", v)]
                assert leaked == [], (key, col, leaked[:3])
            assert (df.zip3.dropna().str.len() == 3).all()
            coarse = df.latitude_coarse.dropna()
            assert ((coarse * 10).round(6) % 1 == 0).all()
