"""Pseudonymisation for anything that leaves the utility: keyed hashes, never plain ids.

The key comes from ``GRIDFLOW_PII_SECRET``. Without it, a random per-installation key is
created once beside a local warehouse (mode 0600, git-ignored) so that demo runs work and
ids stay stable across reruns; production sets the variable, and a warehouse at a URL
(object storage, written by many processes that must share one key) requires it. There is
no key in the code.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd
import polars as pl

from gridflow_assets.store.settings import is_url

ENV_SECRET = "GRIDFLOW_PII_SECRET"


class SecretMissing(ValueError):
    """No key to pseudonymise with, and none may be made up here."""


def check_secret(warehouse: str | Path) -> None:
    """Raise ``SecretMissing`` when ``load_secret`` could not give a key for ``warehouse``."""
    if not os.environ.get(ENV_SECRET) and is_url(str(warehouse)):
        raise SecretMissing(
            f"a warehouse at a URL ({warehouse}) needs {ENV_SECRET} set: the one key every "
            "process writing it pseudonymises with"
        )


def load_secret(warehouse: str | Path) -> bytes:
    check_secret(warehouse)
    value = os.environ.get(ENV_SECRET)
    if value:
        return value.encode()
    path = Path(warehouse).parent / ".pii_secret"
    if not path.exists():
        # Worker processes may get here together: each writes a whole key to a file of
        # its own and links it into place; the first link wins, the others read that key.
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".pii_secret.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


def pseudonymize(
    values: pd.Series | pl.Series, secret: bytes, prefix: str = "sp_"
) -> pd.Series | pl.Series:
    """HMAC-SHA256 of each value (first 20 hex digits): stable, not reversible without key.
    Each distinct value is hashed once; a Polars series gives a Polars series."""

    def one(v: object) -> str | None:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return None
        return prefix + hmac.new(secret, str(v).encode(), hashlib.sha256).hexdigest()[:20]

    if isinstance(values, pl.Series):
        text = values.cast(pl.String)
        return text.replace_strict(
            {u: one(u) for u in text.drop_nulls().unique().to_list()},
            default=None,
            return_dtype=pl.String,
        )
    uniques = pd.unique(values.astype("object"))
    mapping = {u: one(u) for u in uniques}
    return values.astype("object").map(mapping)
