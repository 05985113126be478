"""Sensors, schedules and jobs of the platform, collected for ``build_defs``.

The loop: ``drop_sensor`` launches ``partition_job`` for each new or re-delivered drop;
``refresh_sensor`` then rebuilds the tables made from every partition (``refresh_job``);
``monthly_drop_freshness`` flags utilities whose drop is late (``freshness_job``).
"""

from gridflow_assets.defs.downstream import refresh_job, refresh_sensor
from gridflow_assets.defs.freshness import freshness_job
from gridflow_assets.defs.schedules import monthly_drop_freshness
from gridflow_assets.defs.sensors import drop_sensor

SENSORS: list = [drop_sensor, refresh_sensor]
SCHEDULES: list = [monthly_drop_freshness]
JOBS: list = [refresh_job, freshness_job]
