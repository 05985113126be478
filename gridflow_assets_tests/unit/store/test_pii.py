"""PII never reaches external views; pseudonyms are keyed by a secret from outside the code."""

import os
import stat
from pathlib import Path

import pandas as pd
import polars as pl

from gridflow_assets.store.pii import ENV_SECRET, load_secret, pseudonymize


def test_pseudonyms_depend_on_the_secret_and_are_stable():
    ids = pd.Series(["UTILITY1:SP-10001001", "UTILITY1:SP-10001002", None])
    a = pseudonymize(ids, b"one")
    assert a.iloc[0] != a.iloc[1] and a.iloc[2] is None
    assert list(pseudonymize(ids, b"one")) == list(a)
    assert pseudonymize(ids, b"two").iloc[0] != a.iloc[0]
    assert "10001001" not in a.iloc[0]


def test_a_polars_series_gets_the_same_pseudonyms():
    ids = ["UTILITY1:SP-10001001", "UTILITY1:SP-10001002", None, "UTILITY1:SP-10001001"]
    polars = pseudonymize(pl.Series(ids), b"one")
    assert isinstance(polars, pl.Series)
    assert polars.to_list() == list(pseudonymize(pd.Series(ids), b"one"))
    assert polars[0] == polars[3] != polars[1] and polars[2] is None


def test_secret_comes_from_the_environment_or_a_private_file(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_SECRET, "from-env")
    assert load_secret(tmp_path / "wh") == b"from-env"
    monkeypatch.delenv(ENV_SECRET)
    first = load_secret(tmp_path / "wh")
    path = tmp_path / ".pii_secret"
    assert len(first) == 64 and load_secret(tmp_path / "wh") == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_processes_making_the_key_together_all_get_the_first_one(tmp_path, monkeypatch):
    """Worker processes of one run may each find no key yet: the one that lost the race
    reads the winner's key instead of failing (FileExistsError) or making another."""
    monkeypatch.delenv(ENV_SECRET, raising=False)
    first = load_secret(tmp_path / "wh")
    monkeypatch.setattr(Path, "exists", lambda self: False)  # as if it saw no key yet
    assert load_secret(tmp_path / "wh") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == [".pii_secret"]  # no leftovers


def test_ui_binds_to_loopback_by_default():
    text = (Path(__file__).parents[3] / "Makefile").read_text(encoding="utf-8")
    assert "DAGSTER_HOST ?= 127.0.0.1" in text
    assert "gridflow_assets.app.dev --host $(DAGSTER_HOST)" in text
