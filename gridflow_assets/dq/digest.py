"""A partition's content digest: what a sign-off is about.

Every data file gridflow writes is named by the SHA-256 of its bytes (``delta.file_name``),
and an identical rerun writes identical bytes, so the digest of a partition is a hash over
its tables' file digests, read from the Delta logs without opening a data file. It is the
same for a byte-identical rerun and changes with any row of any table of the partition. A
table's Delta version would not do: other partitions move it. Bronze files streamed bucket
by bucket carry no digest in their name; their rows and bytes stand in for it (the drop's
own content decides them).
"""

from __future__ import annotations

import hashlib
import json

from gridflow_assets.registry import data_tables
from gridflow_assets.store.delta import STREAMED
from gridflow_assets.store.warehouse import Warehouse


def table_digests(store: Warehouse, utility: str, month: str) -> dict[str, str]:
    """``table -> digest`` of every data table holding the partition."""
    out = {}
    for key in data_tables():
        files = store.delta(key).partition(utility, month)
        if not files:
            continue
        h = hashlib.sha256()
        for f in files:
            content = f"{f.rows}:{f.size}" if f.digest == STREAMED else f.digest
            h.update(f"{f.bucket}:{f.seq}:{content}\n".encode())
        out[key] = h.hexdigest()[:16]
    return out


def combined(digests: dict[str, str]) -> str:
    """One digest over the tables' digests (16 hex digits)."""
    text = json.dumps(digests, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def content_digest(store: Warehouse, utility: str, month: str) -> tuple[str, dict[str, str]]:
    """The partition's digest and its tables' digests."""
    tables = table_digests(store, utility, month)
    return combined(tables), tables
