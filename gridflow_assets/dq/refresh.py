"""The snapshot computed afresh: every partition's scorecard from the warehouse and the
Dagster instance's check evaluations (what the DQ refresh stores in the DQ tables; reading
them back is ``dq.snapshot.stored_snapshot``)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from gridflow_assets.dq.assess import Thresholds
from gridflow_assets.dq.checklist import check_dicts
from gridflow_assets.dq.scorecard import build_cards
from gridflow_assets.dq.snapshot import assemble, is_wanted
from gridflow_assets.store.warehouse import Warehouse


def build_snapshot(
    store: Warehouse,
    history: pd.DataFrame,
    utility: str | None = None,
    month: str | None = None,
    thresholds: Thresholds | None = None,
    now: dt.datetime | None = None,
    reuse: dict[tuple[str, str], dict] | None = None,
) -> dict:
    """The snapshot computed afresh from the warehouse and ``history`` (the instance's check
    evaluations): what the DQ refresh stores."""
    thresholds = thresholds or Thresholds()
    cards = build_cards(store, history, utility, month, thresholds, reuse)
    checks = [c for c in check_dicts(history) if is_wanted(c, utility, month)]
    return assemble(store, cards, checks, len(history), thresholds, utility, month, now)
