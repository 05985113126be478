"""Everything derived from a table declaration: Arrow schema, Polars types, pandas dtypes,
pandera schemas (Polars backend), Dagster column metadata and the data dictionary."""

from __future__ import annotations

from functools import cache

import pandas as pd
import polars as pl
import pyarrow as pa_arrow

from gridflow_assets.registry.model import Column, Table

ARROW_TYPES = {
    "string": pa_arrow.string(),
    "int": pa_arrow.int64(),
    "float": pa_arrow.float64(),
    "bool": pa_arrow.bool_(),
    "timestamp": pa_arrow.timestamp("us", tz="UTC"),
    "date": pa_arrow.date32(),
}

POLARS_TYPES = {
    "string": pl.String,
    "int": pl.Int64,
    "float": pl.Float64,
    "bool": pl.Boolean,
    "timestamp": pl.Datetime("us", "UTC"),
    "date": pl.Date,
}

PANDAS_DTYPES = {
    "string": "object",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "timestamp": "datetime64[ns, UTC]",
    "date": "datetime64[ns]",
}


def arrow_schema(table: Table) -> pa_arrow.Schema:
    fields = []
    for col in table.columns:
        meta = {"description": col.description, "pii": str(col.pii).lower()}
        if col.unit:
            meta["unit"] = col.unit
        fields.append(
            pa_arrow.field(col.name, ARROW_TYPES[col.dtype], nullable=col.nullable, metadata=meta)
        )
    return pa_arrow.schema(fields)


class SchemaMismatch(ValueError):
    """A frame does not carry exactly the registry's columns."""


def _conform_column(series: pd.Series, col: Column) -> pd.Series:
    if col.dtype == "string":
        return series.astype("object").where(series.notna(), None)
    if col.dtype == "timestamp":
        out = pd.to_datetime(series, utc=True)
        return out.dt.as_unit("ns") if hasattr(out, "dt") else out
    if col.dtype == "date":
        out = pd.to_datetime(series)
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        return out.dt.normalize().dt.as_unit("ns")
    return series.astype(PANDAS_DTYPES[col.dtype])


def conform(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Order and type ``df``'s columns as the registry says.

    Missing or extra columns raise: a transform that forgets or invents a column is a bug
    to fix, never something to paper over.
    """
    names = table.column_names
    missing = [n for n in names if n not in df.columns]
    extra = [n for n in df.columns if n not in names]
    if missing or extra:
        raise SchemaMismatch(f"{table.key}: missing columns {missing}, unexpected {extra}")
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    for col in table.columns:
        out[col.name] = _conform_column(df[col.name].reset_index(drop=True), col)
    return out


def polars_schema(table: Table) -> pl.Schema:
    """The table's columns as Polars types, in registry order."""
    return pl.Schema({col.name: POLARS_TYPES[col.dtype] for col in table.columns})


def conform_pl(df: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Order and cast a Polars frame's columns as the registry says (strictly: a value that
    does not fit its declared type raises). Missing or extra columns raise, as ``conform``."""
    names = table.column_names
    missing = [n for n in names if n not in df.columns]
    extra = [n for n in df.columns if n not in names]
    if missing or extra:
        raise SchemaMismatch(f"{table.key}: missing columns {missing}, unexpected {extra}")
    schema = polars_schema(table)
    return df.select(
        [pl.col(n).cast(t) if df.schema[n] != t else pl.col(n) for n, t in schema.items()]
    )


def stored_schema(df: pl.DataFrame, table: Table) -> pa_arrow.Schema:
    """The Arrow schema a frame conformed to ``table`` is stored with: the registry's,
    except that a null where the registry says "not null" is stored as it is (the field
    marked nullable) so that schema__structure reports it, rather than failing the write."""
    schema = arrow_schema(table)
    return pa_arrow.schema(
        [f.with_nullable(True) if df[f.name].null_count() else f for f in schema],
        metadata=schema.metadata,
    )


def arrow_of(frame: pl.DataFrame, schema: pa_arrow.Schema) -> pa_arrow.Table:
    """A conformed Polars frame as Arrow in the stored schema: string views leave Polars
    without a copy, and the one cast makes them the stored string type."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest()).cast(schema)


def to_arrow(df: pd.DataFrame | pl.DataFrame | pa_arrow.Table, table: Table) -> pa_arrow.Table:
    """A frame (Polars, pandas or Arrow) as the Arrow table the warehouse stores."""
    if isinstance(df, pa_arrow.Table):
        df = pl.from_arrow(df)
    if isinstance(df, pl.DataFrame):
        frame = conform_pl(df, table)
        return arrow_of(frame, stored_schema(frame, table))
    return pa_arrow.Table.from_pandas(
        conform(df, table), schema=arrow_schema(table), preserve_index=False
    )


_TYPES_MAPPER = {pa_arrow.int64(): pd.Int64Dtype(), pa_arrow.bool_(): pd.BooleanDtype()}


def from_arrow(tbl: pa_arrow.Table) -> pd.DataFrame:
    """Arrow → pandas with the registry's canonical dtypes (nullable ints and bools)."""
    df = tbl.to_pandas(types_mapper=_TYPES_MAPPER.get, date_as_object=False)
    for name in df.columns:
        kind = df[name].dtype
        if isinstance(kind, pd.DatetimeTZDtype) and kind.unit != "ns":
            df[name] = df[name].dt.as_unit("ns")
        elif kind.kind == "M" and str(kind) != "datetime64[ns]":
            df[name] = df[name].astype("datetime64[ns]")
    return df


# pandera and Dagster are imported where their schemas are built: every reader of the
# warehouse imports this module (arrow schemas), and those two cost ~1 s of start-up.


def _range_checks(col: Column) -> list:
    import pandera.polars as pa

    checks = []
    if col.ge is not None:
        checks.append(pa.Check.ge(col.ge))
    if col.le is not None:
        checks.append(pa.Check.le(col.le))
    if col.isin is not None:
        checks.append(pa.Check.isin(list(col.isin)))
    return checks


@cache
def structure_schema(table: Table):
    """Columns, dtypes (the registry's Polars types) and nullability: what the table
    guarantees about itself. For Polars frames, the engine the checks run on."""
    import pandera.polars as pa

    return pa.DataFrameSchema(
        {
            col.name: pa.Column(
                POLARS_TYPES[col.dtype], nullable=col.nullable, description=col.description
            )
            for col in table.columns
        },
        strict=True,
        ordered=False,
        name=f"{table.key} structure",
    )


@cache
def range_schema(table: Table):
    """Value ranges and allowed values: what the delivered data should look like. No dtypes
    here: a wrong type is the structure schema's finding, not a range failure."""
    import pandera.polars as pa

    cols = {
        col.name: pa.Column(checks=_range_checks(col), nullable=True, required=True)
        for col in table.columns
        if col.has_range
    }
    if not cols:
        return None
    return pa.DataFrameSchema(cols, strict=False, name=f"{table.key} ranges")


def column_schema(table: Table):
    import dagster as dg

    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=col.name,
                type=col.dtype,
                description=col.description + (f" [{col.unit}]" if col.unit else ""),
                constraints=dg.TableColumnConstraints(nullable=col.nullable),
                tags={"pii": ""} if col.pii else {},
            )
            for col in table.columns
        ]
    )


def data_dictionary_markdown(tables: list[Table], sources: dict[str, dict] | None = None) -> str:
    """The data dictionary of ``docs/data-dictionary.md``, generated, never hand-edited."""
    lines = [
        "# Data dictionary",
        "",
        (
            "Generated from the schema registry (`gridflow_assets/registry`) by "
            "`gridflow dictionary`. Do not edit by hand."
        ),
        "",
    ]
    for t in tables:
        lines += [
            f"## `{t.key}`",
            "",
            t.description,
            "",
            f"- grain: {t.grain}",
            f"- partitioned: {'month × utility' if t.partitioned else 'no'}",
            f"- primary key: {', '.join(t.primary_key) or '—'}",
        ]
        for fk in t.foreign_keys:
            lines.append(
                f"- foreign key: ({', '.join(fk.columns)}) → {fk.ref_table} "
                f"({', '.join(fk.ref_columns)})"
            )
        lines += [
            "",
            "| column | type | unit | PII | nullable | range | description |",
            "|---|---|---|---|---|---|---|",
        ]
        for col in t.columns:
            rng = []
            if col.ge is not None:
                rng.append(f"≥ {col.ge:g}")
            if col.le is not None:
                rng.append(f"≤ {col.le:g}")
            if col.isin is not None:
                rng.append("in " + ", ".join(map(str, col.isin)))
            lines.append(
                f"| {col.name} | {col.dtype} | {col.unit or ''} | "
                f"{'yes' if col.pii else ''} | {'yes' if col.nullable else 'no'} | "
                f"{'; '.join(rng)} | {col.description} |"
            )
        lines.append("")
    if sources:
        lines += ["# Source schemas (bronze, per utility)", ""]
        for utility, files in sources.items():
            lines += [f"## {utility}", ""]
            for table_name, spec in files.items():
                pii = set(spec.pii_columns)
                cols = ", ".join(f"{n}{' (PII)' if n in pii else ''}" for n in spec.columns)
                lines.append(f"- `bronze/{table_name}` ← `{spec.filename}`: {cols}")
                lines += _variant_lines(spec.variants)
            lines.append("")
    return "\n".join(lines)


def _variant_lines(variants) -> list[str]:
    """A file's format variants (when it declares several): what each lacks and the rules
    that derive it, each rule with its meaning."""
    lines = []
    for v in variants:
        lacks = [d.column for d in v.derived]
        what = f" ({v.description})" if v.description else ""
        shape = f"lacks {', '.join(lacks)}" if lacks else "every column delivered"
        lines.append(f"  - format variant `{v.name}`{what}: {shape}")
        for d in v.derived:
            for name, meaning in d.rules:
                lines.append(f"    - `{d.column}` ← `{name}`: {meaning}")
    return lines
