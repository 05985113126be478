"""Where the warehouse lives: a local folder or a URL (``s3://bucket/prefix``, ``gs://…``,
``abfs://…``, ``hdfs://…``), opened as one ``pyarrow.fs`` filesystem that every reader and
writer of the warehouse goes through.

Credentials, region and endpoint come from the environment the standard way
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``, an
AWS profile or an instance role), never from the code or the URL. A location that cannot be
used raises ``StorageError`` with one line that says why; nothing here ever turns a URL into
a local folder of that name.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow.fs as pafs

from gridflow_assets.store.settings import is_url

# Schemes pyarrow.fs opens natively (S3, Google Cloud Storage, Azure, HDFS, a local file:).
SCHEMES = ("s3", "gs", "gcs", "abfs", "abfss", "hdfs", "file")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
HOST_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9.@_-]*(:\d{1,5})?$")
SEGMENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._=+-]*$")
ENDPOINT_ENV = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


class StorageError(ValueError):
    """The warehouse location cannot be used (bad URL, missing bucket, refused, unreachable)."""


@dataclass(frozen=True)
class Location:
    """An opened warehouse root: ``url`` as a person writes it (an absolute local path or
    ``scheme://…``), the filesystem, and ``base``, the root's path inside that filesystem."""

    url: str
    fs: pafs.FileSystem
    base: str
    local: bool

    def path(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def uri(self, path: str) -> str:
        """A path inside the filesystem as a reader outside gridflow names it."""
        return self.url + path[len(self.base) :]

    def bytes_or_none(self, path: str) -> bytes | None:
        """A whole (small) object, or None when there is none."""
        try:
            with self.fs.open_input_stream(path) as stream:
                return stream.readall()
        except FileNotFoundError:
            return None

    def put(self, path: str, data: bytes) -> None:
        """Make ``path`` hold ``data`` in one step: a reader sees the old object or the new
        one. An object store's PUT is that already; a local file is written aside and
        renamed over the old one."""
        if not self.local:
            with self.fs.open_output_stream(path) as out:
                out.write(data)
            return
        self.ensure_dir(path.rsplit("/", 1)[0])
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        try:
            with self.fs.open_output_stream(tmp) as out:
                out.write(data)
            self.fs.move(tmp, path)
        except BaseException:
            if self.fs.get_file_info(tmp).is_file:
                self.fs.delete_file(tmp)
            raise

    def ensure_dir(self, path: str) -> None:
        """Local folders must exist before a file goes in; an object store has no folders
        (creating one would leave a marker object behind)."""
        if self.local:
            self.fs.create_dir(path, recursive=True)

    def listing(self, path: str, recursive: bool = False) -> list[pafs.FileInfo]:
        """What is under ``path`` (nothing when it does not exist)."""
        selector = pafs.FileSelector(path, recursive=recursive, allow_not_found=True)
        return self.fs.get_file_info(selector)

    def delete_dir(self, path: str) -> None:
        self.fs.delete_dir(path)

    def check(self) -> None:
        """Reach the location once: the bucket exists, the credentials are accepted, the
        root is not a file. Raises ``StorageError`` naming what is wrong."""
        try:
            if isinstance(self.fs, pafs.S3FileSystem):
                bucket = self.base.split("/")[0]
                if self.fs.get_file_info(bucket).type == pafs.FileType.NotFound:
                    raise StorageError(
                        f"warehouse {self.url}: bucket {bucket!r} does not exist at "
                        f"{_endpoint()} (gridflow never creates buckets)"
                    )
            if self.fs.get_file_info(self.base).type == pafs.FileType.File:
                raise StorageError(f"warehouse {self.url}: is a file, not a folder or prefix")
        except OSError as exc:
            raise StorageError(f"warehouse {self.url}: {_explain(exc)}") from None


def open_location(root: str | Path) -> Location:
    """A local path or a supported URL as a ``Location``; a bad one raises ``StorageError``.
    Opening does not reach the network beyond what ``pyarrow.fs`` does to set up a client;
    ``Location.check`` does."""
    text = str(root)
    if not is_url(text):
        path = Path(text).resolve()
        return Location(str(path), pafs.LocalFileSystem(), path.as_posix(), local=True)
    return _open_url(text.rstrip("/"))


@cache
def _open_url(url: str) -> Location:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StorageError(f"warehouse {url!r}: not a URL of the form scheme://bucket/prefix")
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise StorageError(
            f"warehouse {url!r}: unsupported scheme {scheme!r} (supported: {', '.join(SCHEMES)})"
        )
    if scheme == "file":
        return open_location(rest)
    host, _, prefix = rest.partition("/")
    if (scheme == "s3" and not BUCKET_RE.match(host)) or ".." in host:
        raise StorageError(
            f"warehouse {url!r}: {host!r} is not a bucket name (3-63 characters: a-z, 0-9, "
            "'.', '-')"
        )
    if not HOST_RE.match(host):
        raise StorageError(f"warehouse {url!r}: {host!r} is not a bucket or host name")
    for segment in prefix.split("/") if prefix else []:
        if not SEGMENT_RE.match(segment):
            raise StorageError(
                f"warehouse {url!r}: prefix part {segment!r} is not allowed (A-Z, a-z, 0-9, "
                "'.', '_', '-', '=', '+'; no empty part, no '.' or '..')"
            )
    try:
        fs, base = pafs.FileSystem.from_uri(f"{scheme}://{rest}")
    except (OSError, ValueError) as exc:
        raise StorageError(f"warehouse {url}: {_explain(exc)}") from None
    return Location(f"{scheme}://{rest}", fs, base.rstrip("/"), local=False)


def _endpoint() -> str:
    for name in ENDPOINT_ENV:
        if os.environ.get(name):
            return f"{os.environ[name]} ({name})"
    return "the provider's default endpoint"


def _explain(exc: Exception) -> str:
    """pyarrow's (AWS SDK's) error as one line a person can act on."""
    text = " ".join(str(exc).split())
    if "NETWORK_CONNECTION" in text or "Could not connect" in text or "resolve host" in text:
        return f"cannot reach the object store at {_endpoint()}"
    if any(
        code in text
        for code in ("ACCESS_DENIED", "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH", "403")
    ):
        return (
            "the object store refused the credentials (set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, for this bucket)"
        )
    return text[:300]
