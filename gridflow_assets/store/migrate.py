"""``gridflow migrate``: a warehouse of the pointer layout (gridflow before Delta Lake)
converted in place, and the check that refuses a warehouse not converted yet.

The pointer layout: a partition folder (``<table>/utility=U/month=M/``, or the table folder
of a table that is not partitioned) held versions ``v=<id>/part-N.parquet`` and a pointer
``_current.json`` naming the current one::

    {"version": "<id>", "files": [{"name": "part-0.parquet", "rows": 12}, …],
     "buckets": [rows of each meter bucket, when written in buckets], …}

Converting a table: the files of each partition's current version are moved (renamed, not
rewritten) from ``v=<id>/`` into the partition folder under the names the Delta writer
gives files (``part-<bucket>-<seq>-stream-<id>.parquet``, so a partition written in meter
buckets keeps them where a file was a bucket), and become one Delta commit whose add
actions carry the rows the pointer records. Then the partition's other versions
(superseded, or never published) and its pointer are deleted. A marker in the table folder
(``_migrating.json``) stays until every partition of the table is done, so a migration cut
short is still refused by ``unconverted`` and is finished by running ``gridflow migrate``
again: a file already moved is found under its new name, a partition the Delta log holds
is not committed twice.

This module imports neither Dagster nor the warehouse at import time (``unconverted`` runs
before every command that reads the warehouse); ``migrate`` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import TYPE_CHECKING

import pyarrow.fs as pafs

from gridflow_assets.domain.names import is_valid_month, is_valid_utility_id
from gridflow_assets.registry import TABLES
from gridflow_assets.store.delta import LOG_DIR, file_name
from gridflow_assets.store.storage import Location, StorageError

if TYPE_CHECKING:
    import pyarrow as pa

    from gridflow_assets.registry import Table
    from gridflow_assets.store.warehouse import Warehouse

POINTER = "_current.json"
VERSION_PREFIX = "v="
MARKER = "_migrating.json"
HINT = "run `gridflow migrate` first (it converts the warehouse to Delta Lake tables in place)"


class MigrationError(StorageError):
    """A pointer that cannot be converted (unreadable, or naming a file that is gone)."""


def _loc(store: Warehouse | Location) -> Location:
    return store if isinstance(store, Location) else store.loc


def _folders(loc: Location, path: str) -> dict[str, pafs.FileInfo]:
    return {i.base_name: i for i in loc.listing(path)}


def table_folders(store: Warehouse | Location) -> dict[str, str]:
    """``layer/name`` → folder of every table folder in the warehouse (registry or not):
    one listing of the root and one of each layer folder."""
    loc = _loc(store)
    found = {}
    for layer in loc.listing(loc.base):
        if layer.type != pafs.FileType.Directory or layer.base_name.startswith((".", "_")):
            continue
        for folder in loc.listing(layer.path):
            if folder.type == pafs.FileType.Directory:
                found[f"{layer.base_name}/{folder.base_name}"] = folder.path
    return found


def _pointer_layout(loc: Location, folder: str) -> bool:
    """Whether a table folder is (still partly) in the pointer layout: a pointer or the
    migration's marker in it; or, without a Delta log, a pointer or version folder in its
    first partition folder. At most three listings."""
    names = _folders(loc, folder)
    if POINTER in names or MARKER in names:
        return True
    if LOG_DIR in names:
        return False
    if any(n.startswith(VERSION_PREFIX) for n in names):
        return True
    for name in sorted(n for n in names if n.startswith("utility=")):
        for month in sorted(loc.listing(names[name].path), key=lambda i: i.base_name):
            if month.base_name.startswith("month="):
                inner = _folders(loc, month.path)
                return POINTER in inner or any(n.startswith(VERSION_PREFIX) for n in inner)
    return False


def unconverted(store: Warehouse | Location, keys: list[str] | None = None) -> list[str]:
    """The registry tables (``keys`` only, given) of the warehouse still in the pointer
    layout, or whose migration was cut short: what ``gridflow migrate`` converts. Cheap: it
    lists the layer and table folders and looks one or two levels further down only in a
    table folder without a Delta log; it never walks the files."""
    loc = _loc(store)
    if keys is not None:
        folders = {k: loc.path(*k.split("/")) for k in keys}
    else:
        folders = {k: p for k, p in table_folders(loc).items() if k in TABLES}
    return sorted(k for k, path in folders.items() if _pointer_layout(loc, path))


def refusal(keys: list[str]) -> str:
    """The one line a command prints for a warehouse that is not converted yet."""
    shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
    return f"the warehouse is in the old pointer layout ({shown}): {HINT}"


@dataclass
class Converted:
    """What converting one table did."""

    key: str
    partitions: int = 0  # partitions committed to Delta
    rows: int = 0  # rows those commits name
    kept: int = 0  # partitions the Delta log already held (a migration resumed)
    versions_removed: int = 0  # superseded or never published version folders deleted
    pointers_removed: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{self.partitions} partition(s) converted ({self.rows:,} rows)"]
        if self.kept:
            parts.append(f"{self.kept} already in Delta")
        parts.append(f"{self.versions_removed} superseded version folder(s) removed")
        return f"{self.key}: " + ", ".join(parts)


def _old_partition(loc: Location, folder: str) -> bool:
    """Whether a partition folder holds a pointer or version folders."""
    return any(
        i.base_name == POINTER
        or (i.type == pafs.FileType.Directory and i.base_name.startswith(VERSION_PREFIX))
        for i in loc.listing(folder)
    )


def _read_pointer(loc: Location, folder: str) -> dict | None:
    path = f"{folder}/{POINTER}"
    data = loc.bytes_or_none(path)
    if data is None:
        return None
    try:
        doc = json.loads(data)
        files = [(str(f["name"]), int(f["rows"])) for f in doc["files"]]
        version = str(doc["version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise MigrationError(f"{loc.uri(path)}: not a readable partition pointer ({exc})") from None
    if not version or "/" in version or any("/" in n or not n for n, _ in files):
        raise MigrationError(f"{loc.uri(path)}: not a readable partition pointer")
    try:
        buckets = [int(n) for n in doc.get("buckets") or []]
    except (ValueError, TypeError):
        buckets = []
    return {
        "version": version,
        "files": files,
        "buckets": buckets,
        "written_at": str(doc.get("written_at", "")),
    }


def _partitions(
    loc: Location, key: str, folder: str, partitioned: bool, notes: list[str]
) -> list[tuple[str | None, str | None, str]]:
    """``(utility, month, folder)`` of every partition folder of a table."""
    if not partitioned:
        return [(None, None, folder)]
    found = []
    for u in sorted(loc.listing(folder), key=lambda i: i.base_name):
        if u.type != pafs.FileType.Directory or not u.base_name.startswith("utility="):
            continue
        utility = u.base_name[len("utility=") :]
        for m in sorted(loc.listing(u.path), key=lambda i: i.base_name):
            if m.type != pafs.FileType.Directory or not m.base_name.startswith("month="):
                continue
            month = m.base_name[len("month=") :]
            if is_valid_utility_id(utility) and is_valid_month(month):
                found.append((utility, month, m.path))
            else:
                notes.append(f"{key}: {u.base_name}/{m.base_name} is not a partition, left as is")
    return found


# What a partition was stored with: the registry table of ``key`` for a utility (bronze
# tables take the utility's columns). The app passes the utility registry's
# (``silver.adapters.storage_spec``); without one, every table is the registry's own.
SpecOf = Callable[[str, "str | None"], "Table"]


def _registry_spec(key: str, utility: str | None) -> Table:
    from gridflow_assets.registry import table

    return table(key)


def _spec(spec_of: SpecOf, key: str, utility: str | None) -> Table:
    """The registry table a partition was stored with; the generic one for a utility that
    has no adapter any more."""
    try:
        return spec_of(key, utility)
    except KeyError:
        return _registry_spec(key, utility)


def _schema(loc: Location, spec: Table, paths: list[str], notes: list[str]) -> pa.Schema:
    """The registry's columns, then any column the files hold beside them (a file written
    before the registry dropped a column keeps it readable through Delta). A column whose
    type in a file differs from the registry's is noted."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gridflow_assets.registry.derive import arrow_schema

    schema = arrow_schema(spec)
    fields = list(schema)
    for path in paths:
        with loc.fs.open_input_file(path) as fh:
            have = pq.ParquetFile(fh).schema_arrow
        for f in have:
            if f.name in ("utility", "month"):
                continue
            i = schema.get_field_index(f.name)
            if i < 0:
                if f.name not in {g.name for g in fields}:
                    fields.append(f.with_nullable(True))
            elif not schema.field(i).type.equals(f.type):
                notes.append(
                    f"{loc.uri(path)}: column {f.name} is {f.type} in the file, "
                    f"{schema.field(i).type} in the registry"
                )
    return pa.schema(fields)


def _layout(files: list[tuple[str, int]], buckets: list[int]) -> list[tuple[int, int]]:
    """``(bucket, seq)`` of each file of a version: a file that starts a meter bucket (the
    pointer's ``buckets``: rows of each) starts a bucket of its own; a file that starts
    inside one continues the bucket before it. A version of one file per bucket keeps its
    buckets; one file holding several buckets is one bucket (read whole)."""
    rows = [n for _, n in files]
    if len(buckets) < 2 or sum(buckets) != sum(rows):
        return [(0, i) for i in range(len(files))]
    starts = set(accumulate(buckets, initial=0))
    found, bucket, seq, at = [], 0, 0, 0
    for i, n in enumerate(rows):
        if i and at in starts:
            bucket, seq = bucket + 1, 0
        elif i:
            seq += 1
        found.append((bucket, seq))
        at += n
    return found


def _token(version: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", version)[:16] or "migrated"


def _move_into_partition(loc: Location, folder: str, pointer: dict) -> list[pafs.FileInfo]:
    """Move the files of the pointer's version from ``v=<id>/`` into the partition folder
    under the names the Delta writer gives files (``delta.file_name``: bucket, place in
    the bucket, the version id as the token). The bytes stay as they are (a rename on a
    local disk, a server-side copy on an object store). Resumable: a file already moved is
    found under its new name. Returns the files at their new places.

    Why move at all: Delta readers that read partition values from the folder names as
    well (Polars' ``scan_delta``) refuse a ``v=<id>`` folder inside a partition."""
    vdir = f"{folder}/{VERSION_PREFIX}{pointer['version']}"
    token = _token(pointer["version"])
    layout = _layout(pointer["files"], pointer["buckets"])
    pairs = [
        (f"{vdir}/{name}", f"{folder}/{file_name(bucket, seq, token)}")
        for (name, _), (bucket, seq) in zip(pointer["files"], layout, strict=True)
    ]
    infos = loc.fs.get_file_info([p for pair in pairs for p in pair])
    for i, (src, dst) in enumerate(pairs):
        if infos[2 * i].type == pafs.FileType.File:
            loc.fs.move(src, dst)
        elif infos[2 * i + 1].type != pafs.FileType.File:
            raise MigrationError(f"{loc.uri(src)}: named by its partition's pointer, but gone")
    return loc.fs.get_file_info([dst for _, dst in pairs])


def _convert_partition(
    store: Warehouse,
    key: str,
    partitioned: bool,
    utility: str | None,
    month: str | None,
    folder: str,
    done: Converted,
    spec_of: SpecOf,
) -> None:
    from gridflow_assets.store.writers import WrittenFile

    loc = store.loc
    log = store.delta(key)
    pointer = _read_pointer(loc, folder)
    if pointer is not None:
        held = log.partition(utility, month)
        if held is not None:  # committed by a migration cut short (or newer: kept)
            done.kept += 1
        else:
            infos = _move_into_partition(loc, folder, pointer)
            spec = _spec(spec_of, key, utility)
            paths = [i.path for i in infos]
            log.ensure(_schema(loc, spec, paths, done.notes), partitioned, store.retention_days)
            store.commit_info = {
                "migrated_from": f"{VERSION_PREFIX}{pointer['version']}",
                "written_at": pointer["written_at"],
            }
            files = [
                WrittenFile(i.path, rows, i.size)
                for i, (_, rows) in zip(infos, pointer["files"], strict=True)
            ]
            store.commit(key, utility, month, files, spec)
            done.partitions += 1
            done.rows += sum(rows for _, rows in pointer["files"])
    # every version folder the Delta log does not name goes (superseded, never published)
    prefix = folder[len(store.table_dir(key)) + 1 :] + "/" if utility is not None else ""
    named = {f.path[len(prefix) :].split("/", 1)[0] for f in log.partition(utility, month) or []}
    for info in loc.listing(folder):
        if (
            info.type == pafs.FileType.Directory
            and info.base_name.startswith(VERSION_PREFIX)
            and info.base_name not in named
        ):
            loc.delete_dir(info.path)
            if pointer is None or info.base_name != f"{VERSION_PREFIX}{pointer['version']}":
                done.versions_removed += 1
    if pointer is not None:
        loc.fs.delete_file(f"{folder}/{POINTER}")
        done.pointers_removed += 1


def migrate(
    store: Warehouse, out: Callable[[str], None] = print, spec_of: SpecOf = _registry_spec
) -> list[Converted]:
    """Convert every registry table of the warehouse still in the pointer layout (see the
    module's description); ``out`` gets a line per table converted and per note;
    ``spec_of(key, utility)`` gives the table a partition was stored with. Returns
    what was done, table by table (empty: nothing to do). Raises ``MigrationError`` for a
    pointer that cannot be converted: the tables before it are converted, the rest left
    as they were, and running it again goes on from there."""
    loc = store.loc
    folders = table_folders(loc)
    for key in sorted(k for k in folders if k not in TABLES):
        if _pointer_layout(loc, folders[key]):
            out(f"{key}: not a table of the registry, left in the old layout")
    done = []
    for key in [k for k in TABLES if k in folders]:
        folder = folders[key]
        result = Converted(key)
        partitioned = TABLES[key].partitioned
        # every partition folder is looked at (not only what ``unconverted`` looks at): a
        # table that got Delta commits before it was converted still has old partitions
        todo = [
            p
            for p in _partitions(loc, key, folder, partitioned, result.notes)
            if _old_partition(loc, p[2])
        ]
        marker = f"{folder}/{MARKER}"
        if not todo and loc.fs.get_file_info(marker).type != pafs.FileType.File:
            continue
        stamp = {"started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        loc.put(marker, json.dumps(stamp).encode())
        for utility, month, part in todo:
            _convert_partition(store, key, partitioned, utility, month, part, result, spec_of)
        loc.fs.delete_file(marker)
        out(result.line())
        for note in result.notes:
            out(f"  note: {note}")
        done.append(result)
    store.commit_info = {}
    return done
