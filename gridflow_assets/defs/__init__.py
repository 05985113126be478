"""The Dagster code location: ``definitions`` (``build_defs``), the embedded instance, and
the sensors, schedules and jobs that orchestrate the assets.

Imported by the app and by Dagster (``dagster dev``, the code server); nothing below it.
"""
