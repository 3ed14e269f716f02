"""The SeaweedFS fixture chooses every port `weed` listens on, so a second `weed` on the machine
(on SeaweedFS's default ports, e.g. 9101 and 8181) cannot break the S3 tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def listening_ports(pid: int) -> set[int]:
    """TCP ports in LISTEN state held by a process (from /proc: its socket inodes)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for row in Path(table).read_text().splitlines()[1:]:
            cols = row.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_weed_listens_only_on_ports_the_fixture_chose(s3) -> None:
    chosen = {
        int(arg.split("=", 1)[1])
        for arg in s3.process.args
        if arg.split("=", 1)[0].lstrip("-").endswith(("port", "port.grpc"))
    }
    assert len(chosen) == 8
    ports = listening_ports(s3.process.pid)
    assert ports, "weed listens somewhere"
    assert ports <= chosen, f"weed listens on ports the fixture did not choose: {sorted(ports - chosen)}"
    assert not ports & {8181, 9101, 8333, 9333, 8888, 8080}
