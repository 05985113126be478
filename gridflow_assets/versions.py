"""Atomic partitions without rename: versions and the pointer that publishes one.

A partition folder holds versions, each under a fresh prefix, and one small pointer
object that names the current one::

    <partition>/v=<id>/part-0.parquet      the files of one version, written in place
    <partition>/_current.json              {"version", "files", "rows", "written_at",
                                            "superseded": [{"version", "at"}],
                                            "buckets" (meter buckets' rows, if any)}

A writer writes a whole version, then publishes it by putting the pointer (one PUT on an
object store, a rename on a local disk). Readers read the pointer first and then exactly
the files it names, so they see the old version or the new one, never half. A version
that lost the pointer stays readable for a grace period (a reader that read the old
pointer just before is still reading it) and is then deleted; so is a version no pointer
ever named (a writer killed before publishing) once its newest file is older than the
grace period.
"""

from __future__ import annotations

import json
import os
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gridflow_assets.storage import Location, StorageError

POINTER = "_current.json"
VERSION_PREFIX = "v="
GRACE_ENV = "GRIDFLOW_VERSION_GRACE_S"
DEFAULT_GRACE_S = 3600.0


def grace_seconds(value: float | None = None) -> float:
    """The grace period: ``value`` if given, else ``GRIDFLOW_VERSION_GRACE_S``, else one
    hour."""
    if value is not None:
        return float(value)
    text = os.environ.get(GRACE_ENV)
    if text is None:
        return DEFAULT_GRACE_S
    try:
        grace = float(text)
    except ValueError:
        grace = -1.0
    if grace < 0:
        raise StorageError(f"{GRACE_ENV}={text!r}: not a number of seconds >= 0")
    return grace


def new_version() -> str:
    return uuid.uuid4().hex


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seconds(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Manifest:
    """What the pointer says: the current version, its files (name, rows), when it was
    written, and the versions it superseded that are still inside their grace period."""

    version: str
    files: tuple[tuple[str, int], ...]
    written_at: float
    superseded: tuple[tuple[str, float], ...] = field(default=())
    # rows of each meter bucket, in file order, when the partition was written in buckets
    # (``Warehouse.write_buckets``); empty for a partition written whole
    buckets: tuple[int, ...] = field(default=())

    @property
    def rows(self) -> int:
        return sum(rows for _, rows in self.files)

    def to_json(self) -> bytes:
        doc = {
            "version": self.version,
            "files": [{"name": name, "rows": rows} for name, rows in self.files],
            "rows": self.rows,
            "written_at": _stamp(self.written_at),
            "superseded": [{"version": v, "at": _stamp(at)} for v, at in self.superseded],
        }
        if self.buckets:
            doc["buckets"] = list(self.buckets)
        return json.dumps(doc, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Manifest:
        try:
            doc = json.loads(data)
            return cls(
                version=doc["version"],
                files=tuple((f["name"], int(f["rows"])) for f in doc["files"]),
                written_at=_seconds(doc["written_at"]),
                superseded=tuple((s["version"], _seconds(s["at"])) for s in doc["superseded"]),
                buckets=tuple(int(n) for n in doc.get("buckets", ())),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"{where}: not a readable partition pointer ({exc})") from None


def version_dir(part_dir: str, version: str) -> str:
    return f"{part_dir}/{VERSION_PREFIX}{version}"


def current(loc: Location, part_dir: str, attempts: int = 5) -> Manifest | None:
    """The manifest the pointer of ``part_dir`` names, or None when nothing was published.

    An object store's reader asks for the object's size, then for that many bytes: when the
    pointer is replaced in between, it gets the new pointer cut at the old one's length.
    JSON that does not parse is read again; a pointer that stays unreadable is an error."""
    path = f"{part_dir}/{POINTER}"
    for attempt in range(attempts):
        data = loc.bytes_or_none(path)
        if data is None:
            return None
        try:
            return Manifest.from_json(data, loc.uri(path))
        except StorageError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))
    return None


def current_files(loc: Location, part_dir: str) -> list[str] | None:
    """Paths of the current version's files, or None when nothing was published."""
    manifest = current(loc, part_dir)
    if manifest is None:
        return None
    folder = version_dir(part_dir, manifest.version)
    return [f"{folder}/{name}" for name, _ in manifest.files]


def publish(
    loc: Location,
    part_dir: str,
    version: str,
    files: list[tuple[str, int]],
    grace_s: float,
    now: float | None = None,
    buckets: tuple[int, ...] = (),
) -> Manifest:
    """Make ``version`` (already written in full) the current one: one pointer put. The
    version it replaces is kept for ``grace_s`` seconds; expired ones are deleted."""
    now = time.time() if now is None else now
    old = current(loc, part_dir)
    superseded = [*old.superseded, (old.version, now)] if old else []
    manifest = Manifest(
        version=version,
        files=tuple(files),
        written_at=now,
        superseded=tuple((v, at) for v, at in superseded if now - at < grace_s and v != version),
        buckets=tuple(buckets),
    )
    loc.put(f"{part_dir}/{POINTER}", manifest.to_json())
    try:
        sweep(loc, part_dir, grace_s, now, manifest)
    except OSError as exc:  # published all the same; the next publish or vacuum sweeps
        warnings.warn(f"could not sweep {loc.uri(part_dir)}: {exc}")
    return manifest


def sweep(
    loc: Location,
    part_dir: str,
    grace_s: float,
    now: float | None = None,
    manifest: Manifest | None = None,
) -> list[str]:
    """Delete the versions of ``part_dir`` that no reader may still need: neither current
    nor superseded within the grace period, and no file of theirs newer than the grace
    period (a writer still at work). Returns the versions deleted. A deletion that fails
    is a warning: the partition is published either way."""
    now = time.time() if now is None else now
    manifest = manifest or current(loc, part_dir)
    keep = set()
    if manifest is not None:
        keep = {manifest.version, *(v for v, at in manifest.superseded if now - at < grace_s)}
    newest: dict[str, float] = {}
    prefix = f"{part_dir}/{VERSION_PREFIX}"
    for info in loc.listing(part_dir, recursive=True):
        if not info.path.startswith(prefix):
            continue
        version = info.path[len(prefix) :].split("/")[0]
        stamp = info.mtime.timestamp() if info.mtime is not None else 0.0
        newest[version] = max(newest.get(version, 0.0), stamp)
    deleted = []
    for version, stamp in sorted(newest.items()):
        if version in keep or now - stamp < grace_s:
            continue
        try:
            loc.delete_dir(version_dir(part_dir, version))
            deleted.append(version)
        except OSError as exc:
            warnings.warn(f"could not delete {loc.uri(version_dir(part_dir, version))}: {exc}")
    return deleted
