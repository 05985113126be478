"""A real S3 API on 127.0.0.1 for the object-storage tests: moto's server mode (a dev
dependency) on a free port, one per test session, and the standard AWS variables that
point a client at it, set for one test at a time (``conftest.s3``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import boto3

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen

    @classmethod
    def start(cls, timeout: float = 60, authenticate: bool = False) -> S3Server:
        """``authenticate``: the server checks credentials (moto accepts any by default)
        and refuses keys it does not know, as a real store does."""
        port = free_port()
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"} if authenticate else None
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {proc.returncode}")
            try:
                socket.create_connection((HOST, port), 0.2).close()
                return cls(f"http://{HOST}:{port}", proc)
            except OSError:
                time.sleep(0.1)
        proc.kill()
        raise RuntimeError(f"moto server did not listen on {HOST}:{port} in {timeout}s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def env(self) -> dict[str, str]:
        """The standard variables an S3 client reads (test credentials moto accepts)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "gridflow-test",
            "AWS_SECRET_ACCESS_KEY": "gridflow-test-secret",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self):
        env = self.env()
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_REGION"],
        )

    def bucket(self) -> str:
        """A fresh, empty bucket."""
        name = f"gridflow-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """The bucket's objects, less the zero-byte folder markers pyarrow leaves for the
        folder it deleted something from (``…/month=M/``: no data, never read)."""
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        keys = (o["Key"] for page in pages for o in page.get("Contents", []))
        return sorted(k for k in keys if not k.endswith("/"))
