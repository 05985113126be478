"""The schema registry generates everything else; a column is declared once."""

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from pandera.errors import SchemaError

from gridflow_assets.registry import TABLES, table
from gridflow_assets.registry.derive import (
    SchemaMismatch,
    arrow_schema,
    column_schema,
    conform,
    conform_pl,
    data_dictionary_markdown,
    range_schema,
    structure_schema,
)
from gridflow_assets.silver.adapters import all_utilities


def test_every_interface_table_is_declared():
    expected = {
        "bronze": {"service_points", "meters", "readings", "bills", "payments"},
        "silver": {"service_points", "meters", "intervals", "bills", "payments", "rejects"},
        "gold": {
            "dim_meter",
            "dim_service_point",
            "dim_utility",
            "dim_date",
            "dim_time",
            "fact_readings",
        },
        "experience": {"daily_summaries"},
    }
    for layer, names in expected.items():
        assert names <= {t.name for t in TABLES.values() if t.layer == layer}


@pytest.mark.parametrize("key", sorted(TABLES))
def test_schemas_generated_for_every_table(key):
    spec = table(key)
    assert arrow_schema(spec).names == spec.column_names
    assert set(structure_schema(spec).columns) == set(spec.column_names)
    assert [c.name for c in column_schema(spec).columns] == spec.column_names
    assert set(spec.primary_key) <= set(spec.column_names)
    for fk in spec.foreign_keys:
        assert set(fk.columns) <= set(spec.column_names)
        assert set(fk.ref_columns) <= set(table(fk.ref_table).column_names)


@pytest.mark.parametrize("key", sorted(TABLES))
def test_pandera_polars_schemas_follow_the_registry(key):
    """A frame typed by ``conform_pl`` is what the structure schema asks for; the range
    schema holds one check per declared bound or allowed-value list."""
    spec = table(key)
    typed = conform_pl(pl.DataFrame(schema=spec.column_names), spec)
    assert structure_schema(spec).validate(typed).schema == typed.schema
    declared = {
        c.name: (c.ge is not None) + (c.le is not None) + (c.isin is not None)
        for c in spec.columns
        if c.has_range
    }
    ranges = range_schema(spec)
    assert ({n: len(c.checks) for n, c in ranges.columns.items()} if ranges else {}) == declared
    flipped = typed.with_columns(
        pl.col(spec.columns[0].name).cast(pl.Int8 if spec.columns[0].dtype != "int" else pl.String)
    )
    with pytest.raises(SchemaError, match="to have type"):
        structure_schema(spec).validate(flipped)


def test_pii_is_tagged_where_the_spec_says():
    sp = table("silver/service_points")
    for col in (
        "service_point_id",
        "street",
        "house_number",
        "customer_name",
        "father_name",
        "reference_no",
        "latitude",
        "longitude",
    ):
        assert sp.column(col).pii, col
    assert not sp.column("city").pii
    # UTILITY1's ids embed the ZIP: the id itself is PII, in bronze too.
    u1 = next(u for u in all_utilities() if u.utility_id == "UTILITY1")
    assert "SERVICE_POINT_ID" in u1.sources["service_points"].pii_columns


def test_external_tables_carry_no_pii():
    externals = [t for t in TABLES.values() if t.external]
    assert externals
    for t in externals:
        assert t.pii_columns == [], t.key


def test_conform_refuses_missing_and_extra_columns():
    spec = table("gold/dim_time")
    good = pd.DataFrame(
        {"time_key": [0], "hour": [0], "minute": [0], "label": ["00:00"], "day_part": ["night"]}
    )
    assert list(conform(good, spec).columns) == spec.column_names
    with pytest.raises(SchemaMismatch, match="missing columns \\['day_part'\\]"):
        conform(good.drop(columns="day_part"), spec)
    with pytest.raises(SchemaMismatch, match="unexpected \\['extra'\\]"):
        conform(good.assign(extra=1), spec)


def test_arrow_types_follow_the_registry():
    schema = arrow_schema(table("silver/intervals"))
    assert schema.field("start_utc").type == pa.timestamp("us", tz="UTC")
    assert schema.field("local_date").type == pa.date32()
    assert schema.field("quality_code").type == pa.int64()
    assert schema.field("service_point_id").metadata[b"pii"] == b"true"


def test_data_dictionary_lists_every_table_and_source():
    sources = {u.utility_id: u.sources for u in all_utilities()}
    md = data_dictionary_markdown(list(TABLES.values()), sources)
    for key in TABLES:
        assert f"## `{key}`" in md
    assert "utility1_intervals.csv" in md and "premise_street (PII)" in md


def test_published_data_dictionary_is_current():
    """docs/data-dictionary.md is generated: regenerate it with `make dictionary`."""
    from pathlib import Path

    from gridflow_assets.app.cli import dictionary_text

    published = Path(__file__).parents[3] / "docs" / "data-dictionary.md"
    assert published.read_text(encoding="utf-8").strip() == dictionary_text().strip()
