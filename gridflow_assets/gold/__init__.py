"""Gold logic: the star schema's dimensions, facts and aggregates as pure Polars functions.

Asset modules call these; nothing here knows about Dagster, partitions or the warehouse.
"""
