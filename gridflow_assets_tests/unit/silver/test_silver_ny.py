"""The New York bronze → silver transforms on crafted drops with known defects."""

import pandas as pd
import polars as pl
import pytest

from gridflow_assets.silver.adapters import SilverInput, SilverOutput, get_utility
from gridflow_assets.store.landing import find_drop, read_source
from gridflow_assets_tests.crafted import land_utility1, land_utility2


def _silver(landing, utility):
    u = get_utility(utility)
    drop = find_drop(landing, utility, "2025-03")
    bronze = {name: read_source(drop, src) for name, src in u.sources.items()}
    out = u.to_silver(SilverInput(utility, "2025-03", u.timezone, bronze))
    assert all(isinstance(df, pl.DataFrame) for df in [*out.tables.values(), out.rejects])
    # compared as pandas frames (index by row, .loc)
    return bronze, SilverOutput(
        tables={k: v.to_pandas() for k, v in out.tables.items()}, rejects=out.rejects.to_pandas()
    )


def _accounting(bronze, out, table, source):
    rej = out.rejects[out.rejects.target_table == table]
    cats = rej.category.value_counts().to_dict()
    return {
        "landed": len(bronze[source]),
        "kept": len(out.tables[table]),
        "exact": cats.get("duplicate_exact", 0),
        "conflicting": cats.get("duplicate_conflicting", 0),
        "rejected": cats.get("rejected", 0),
    }


@pytest.fixture
def u1(folders):
    land_utility1(folders[0])
    return _silver(folders[0], "UTILITY1")


@pytest.fixture
def u2(folders):
    land_utility2(folders[0])
    return _silver(folders[0], "UTILITY2")


def test_utility1_accounting_is_exact(u1):
    bronze, out = u1
    assert _accounting(bronze, out, "intervals", "readings") == {
        "landed": 10,
        "kept": 5,
        "exact": 1,
        "conflicting": 1,
        "rejected": 3,
    }
    assert _accounting(bronze, out, "meters", "meters") == {
        "landed": 5,
        "kept": 3,
        "exact": 1,
        "conflicting": 0,
        "rejected": 1,
    }
    assert _accounting(bronze, out, "service_points", "service_points") == {
        "landed": 3,
        "kept": 2,
        "exact": 0,
        "conflicting": 1,
        "rejected": 0,
    }
    reasons = out.rejects[out.rejects.target_table == "intervals"].set_index("source_row")
    assert reasons.reason_code.to_dict() == {
        3: "DUP_EXACT",
        4: "DUP_CONFLICT",
        8: "INVALID_TIMESTAMP",
        9: "CHANNEL_DURATION_MISMATCH",
        10: "MALFORMED_ROW",
    }
    assert reasons.loc[8, "column_name"] == "timestamp"
    assert "'not-a-time'" in reasons.loc[8, "detail"]
    assert '"value":"0.9"' in reasons.loc[4, "raw_record"]  # the loser, as delivered


def test_utility1_conflict_resolved_by_latest_update_with_flag(u1):
    _, out = u1
    iv = out.tables["intervals"].set_index("source_row")
    assert iv.loc[5, "value"] == 1.9 and iv.loc[5, "value_original"] == "1.9"
    assert "V2_CONFLICT_WINNER" in iv.loc[5, "rule_ids"]
    assert iv.loc[5, "quality_code"] == 0 and iv.loc[1, "quality_code_original"] == "VAL"


def test_utility1_types_times_and_orphans(u1):
    _, out = u1
    iv = out.tables["intervals"].set_index("source_row")
    assert (iv.measurement == "kWh").all() and (iv.direction == "delivered").all()
    assert (iv.interval_s == 900).all()
    # 2025-03-09 00:00 EST and 03:00 EDT (after spring-forward) are both that local day.
    assert iv.loc[1, "start_utc"] == pd.Timestamp("2025-03-09T05:00Z")
    assert iv.loc[6, "start_utc"] == pd.Timestamp("2025-03-09T07:15Z")
    assert (iv.local_date == pd.Timestamp("2025-03-09")).all()
    assert iv.loc[1, "service_point_id"] == "UTILITY1:SP-10001001"
    assert iv.loc[7, "is_orphan_service_point"] and not iv.loc[1, "is_orphan_service_point"]


def test_utility1_latest_service_point_version_kept(u1):
    _, out = u1
    sp = out.tables["service_points"].set_index("service_point_id")
    assert sp.loc["UTILITY1:SP-10001002", "street"] == "2 New Rd"
    assert sp.loc["UTILITY1:SP-10001002", "address_versions"] == 2
    assert sp.loc["UTILITY1:SP-10001002", "zip"] == "06390"


def test_utility2_premise_versions_and_apostrophes(u2):
    _, out = u2
    sp = out.tables["service_points"].set_index("service_point_id")
    assert sp.loc["UTILITY2:PREM-00000001", "house_number"] == "14"
    assert sp.loc["UTILITY2:PREM-00000001", "street"] == "O’Connor St"
    assert sp.loc["UTILITY2:PREM-00000001", "resolution_rule"] == "SP_LATEST_VERSION"


def test_utility2_daily_reads_are_local_days(u2):
    _, out = u2
    iv = out.tables["intervals"].set_index("source_row")
    # 2025-03-09 is the spring-forward day: 23 hours long.
    assert iv.loc[2, "interval_s"] == 23 * 3600
    assert iv.loc[4, "interval_s"] == 24 * 3600
    assert iv.loc[2, "start_utc"] == pd.Timestamp("2025-03-09T05:00Z")
    assert "DUR0_AS_LOCAL_DAY" in iv.loc[4, "rule_ids"]


def test_utility2_service_points_resolved_effective_dated(u2):
    _, out = u2
    iv = out.tables["intervals"].set_index("source_row")
    assert iv.loc[2, "service_point_id"] == "UTILITY2:PREM-00000001"  # before 03-10 move
    assert iv.loc[4, "service_point_id"] == "UTILITY2:PREM-00000002"  # after it
    assert iv.loc[4, "service_point_rule"] == "SP_EFFECTIVE_DATED"
    assert iv.loc[7, "service_point_rule"] == "SP_UNRESOLVED"
    assert iv.loc[7, "is_orphan_meter"] and pd.isna(iv.loc[7, "service_point_id"])
    assert iv.loc[6, "service_point_id"] == "UTILITY2:PREM-00000404"
    assert iv.loc[6, "is_orphan_service_point"]


def test_utility2_codes_from_code_tables(u2):
    _, out = u2
    iv = out.tables["intervals"].set_index("source_row")
    assert iv.loc[5, "reading_kind"] == "register"
    assert iv.loc[6, "quality_code"] == 10 and iv.loc[6, "quality_code_original"] == "51"
    assert iv.loc[7, "quality_code"] == 14 and "QUALITY_UNKNOWN" in iv.loc[7, "rule_ids"]
    assert iv.loc[2, "value"] == 12.0  # conflicting repeat: delivered last wins
    rej = out.rejects[out.rejects.target_table == "intervals"].set_index("source_row")
    assert rej.reason_code.to_dict() == {1: "DUP_CONFLICT", 3: "DUP_EXACT"}


def test_outside_install_window_links_nearest_installation():
    from gridflow_assets.silver.adapters.utility2 import resolve_service_points

    installs = pl.DataFrame(
        {
            "meter_id": ["M", "M"],
            "service_point_id": ["P1", "P2"],
            "installed_at_utc": pd.to_datetime(["2024-01-01", "2024-06-01"], utc=True),
            "removed_at_utc": pd.to_datetime(["2024-03-01", "2024-09-01"], utc=True),
        }
    )
    reads = pl.DataFrame(
        {
            "meter_id": ["M", "M", "M"],
            "start_utc": pd.to_datetime(["2024-02-01", "2024-05-25", "2025-01-01"], utc=True),
        }
    )
    got = resolve_service_points(reads, installs).to_pandas().set_index("start_utc")
    assert list(got.service_point_id) == ["P1", "P2", "P2"]
    assert list(got.service_point_rule) == [
        "SP_EFFECTIVE_DATED",
        "SP_OUTSIDE_INSTALL_WINDOW",
        "SP_OUTSIDE_INSTALL_WINDOW",
    ]
