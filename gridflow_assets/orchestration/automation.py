"""Sensors, schedules and automation of the platform (filled by the orchestration work)."""

SENSORS: list = []
SCHEDULES: list = []
JOBS: list = []
