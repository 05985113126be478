"""Small hand-made drops with known defects, so tests can assert exact counts.

UTILITY1 (2025-03, includes the 9 March spring-forward day):
- service points: SP-10001001, SP-10001002 (delivered twice: an older and a newer version)
- meters: MTR-00000001 ×3 reads (one exact repeat), MTR-00000002 ×1, one malformed `MTR-`
- intervals: 6 rows for MTR-00000001 on SP-10001001 (KWH 15 min), of which 1 exact repeat
  and 1 conflicting repeat with a later last_update_time (it wins); 1 row on orphan service
  point SP-99999999; 1 row with an unparseable timestamp; 1 row whose duration disagrees
  with its channel; 1 ragged row.
"""

from __future__ import annotations

from pathlib import Path

from gridflow_assets.generate.common import write_drop
from gridflow_assets.silver.adapters import get_utility
from gridflow_assets.silver.adapters.base import SilverOutput, Utility

BOM = "\ufeff"

U1_SP = """SERVICE_POINT_ID,SERVICE_POINT_NUMBER,SERVICE_POINT_STREET,SERVICE_POINT_CITY,SERVICE_POINT_ZIP,SERVICE_POINT_STATE,INSTALLED_AT,REMOVED_AT,CREATED,UPDATED
SP-10001001,10001001,1 Main St,New York,10001,NY,,,2020-01-01,2020-01-01
SP-10001002,10001002,2 Old Rd,Albany,06390,NY,,,2020-01-01,2020-01-02
SP-10001002,10001002,2 New Rd,Albany,06390,NY,,,2020-01-01,2024-05-01"""

U1_METERS = """meter_id,meter_timestamp,meter_duration,meter_value,meter_type,meter_category
MTR-00000001,2025-03-01T05:00:00Z,900,120,Company,Periodic
MTR-00000001,2025-03-02T05:00:00Z,900,125,Estimation,Periodic
MTR-00000001,2025-03-02T05:00:00Z,900,125,Estimation,Periodic
MTR-00000002,2025-03-01T05:00:00Z,900,7,Company,Periodic
MTR-,2025-03-01T05:00:00Z,900,7,Company,Periodic"""

CH = "KWH 15 Minute Interval Read Interval"
U1_INTERVALS = f"""service_delivery_point_id,meter_id,channel,duration,value,quality,timestamp,last_update_time,exported_at
SP-10001001,MTR-00000001,{CH},900,0.5,VAL,2025-03-09T00:00:00-05:00,2025-03-10T00:00:00-04:00,null
SP-10001001,MTR-00000001,{CH},900,0.7,VAL,2025-03-09T00:15:00-05:00,2025-03-10T00:00:00-04:00,null
SP-10001001,MTR-00000001,{CH},900,0.7,VAL,2025-03-09T00:15:00-05:00,2025-03-10T00:00:00-04:00,null
SP-10001001,MTR-00000001,{CH},900,0.9,NV,2025-03-09T03:00:00-04:00,2025-03-10T00:00:00-04:00,null
SP-10001001,MTR-00000001,{CH},900,1.9,VAL,2025-03-09T03:00:00-04:00,2025-03-11T00:00:00-04:00,null
SP-10001001,MTR-00000001,{CH},900,0.2,VAL,2025-03-09T03:15:00-04:00,2025-03-10T00:00:00-04:00,null
SP-99999999,MTR-00000002,{CH},900,0.3,VAL,2025-03-09T00:00:00-05:00,2025-03-10T00:00:00-04:00,null
SP-10001001,MTR-00000001,{CH},900,0.4,VAL,not-a-time,2025-03-10T00:00:00-04:00,null
SP-10001001,MTR-00000001,{CH},300,0.4,VAL,2025-03-09T04:00:00-04:00,2025-03-10T00:00:00-04:00,null
SP-10001001,MTR-00000001,{CH},900"""

U2_SP = """premise_id,created_date,premise_house_num,premise_street,premise_house_supp,premise_city,premise_zip,premise_region
PREM-00000001,2019-01-01,12,O’Connor St,,Buffalo,14201,NY
PREM-00000001,2023-06-01,14,O’Connor St,APT 2,Buffalo,14201,NY
PREM-00000002,2020-01-01,5,Elm St,,Rochester,14604,NY"""

U2_METERS = """premise_id,meter_id,meter_number,meter_type,meter_status,meter_channel,installed_at,removed_at,created,updated
PREM-00000001,123456789,123456789,KV2,Retired,MT,2020-01-01T00:00:00Z,2025-03-10T00:00:00Z,2020-01-01T00:00:00Z,2025-03-10T00:00:00Z
PREM-00000002,123456789,123456789,KV2,Customer,MT,2025-03-10T00:00:00Z,,2025-03-10T00:00:00Z,2025-03-10T00:00:00Z
PREM-00000404,0987654321,0987654321,AMI Cell,Customer,,2021-01-01T00:00:00Z,,2021-01-01T00:00:00Z,2021-01-01T00:00:00Z"""

U2_INTERVALS = """channel,duration,meter_id,quality,timestamp,value
1,0,123456789,1,20250309,10
1,0,123456789,1,20250309,12
1,0,123456789,1,20250309,12
1,0,123456789,1,20250311,20
9,0,123456789,1,20250311,999120
1,0,0987654321,51,20250311,0
1,0,555555555,77,20250311,3"""


def _bytes(text: str) -> bytes:
    return (BOM + text).encode("utf-8")


def land_utility1(landing: Path, month: str = "2025-03", **files: str) -> Path:
    content = {
        "utility1_service_points.csv": U1_SP,
        "utility1_meters.csv": U1_METERS,
        "utility1_intervals.csv": U1_INTERVALS,
    }
    content.update({k.replace("__", "."): v for k, v in files.items()})
    return write_drop(
        landing, "UTILITY1", month, {k: _bytes(v) for k, v in content.items()}, manifest=False
    )


def land_utility2(landing: Path, month: str = "2025-03") -> Path:
    content = {
        "utility2_service_points.csv": U2_SP,
        "utility2_meters.csv": U2_METERS,
        "utility2_intervals.csv": U2_INTERVALS,
    }
    return write_drop(
        landing, "UTILITY2", month, {k: _bytes(v) for k, v in content.items()}, manifest=False
    )


def _lossy(inp):
    """An adapter with a bug: it silently drops one interval row."""
    out = get_utility("UTILITY1").to_silver(inp)
    out.tables["intervals"] = out.tables["intervals"][1:]
    return SilverOutput(out.tables, out.rejects)


def lossy_utility() -> Utility:
    """UTILITY1's files read by an adapter that silently loses a row: the accounting check
    must catch it and block the partition."""
    u1 = get_utility("UTILITY1")
    return Utility(
        "LOSSY", "Lossy test utility", "US", u1.timezone, "USD", "service point", u1.sources, _lossy
    )
