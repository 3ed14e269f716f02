"""Leases on a store: one run of a year at a time, one writer of the site's pointers and index.

A lock is an object `processed/locks/NAME.json` created only if absent (S3 `If-None-Match`, a local
compare-and-swap), holding who took it and until when. The holder renews it while it works; a lock
whose lease ran out, or whose holder on this host is gone, is taken over by compare-and-swap, so two
runs can never both believe they hold it. Written by hand over `storage`'s conditional writes: the
lock libraries on PyPI lock one machine's files or need a database, and the store is the one thing
every worker shares.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from innomon import storage
from innomon.errors import BusyError, InnomonError

LEASE_SECONDS = 600  # renewed every third of it while the holder works
POLL_SECONDS = 0.5


def lock_uri(processed_root: str, name: str) -> str:
    """`processed/locks/NAME.json`: private, beside the data it guards."""
    return storage.join(processed_root, "locks", f"{name}.json")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _record(name: str, what: str, run: str, lease: int) -> bytes:
    now = _now()
    body = {
        "lock": name,
        "what": what,
        "run": run,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "token": uuid.uuid4().hex,
        "acquired_at": now.isoformat(),
        "expires_at": (now + dt.timedelta(seconds=lease)).isoformat(),
    }
    return json.dumps(body, sort_keys=True).encode()


def _stale(record: dict[str, object]) -> bool:
    """A lease that ran out, or one held by a process of this host that no longer exists."""
    try:
        if dt.datetime.fromisoformat(str(record["expires_at"])) < _now():
            return True
    except (KeyError, ValueError):
        return True  # not a lock this code wrote: nobody renews it
    if record.get("host") == socket.gethostname():
        try:
            os.kill(int(str(record["pid"])), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, ValueError):
            return False
    return False


def describe(record: dict[str, object]) -> str:
    """Who holds a lock, in words (host, process, run and since when; never anything else)."""
    run = f", flow run {record['run']}" if record.get("run") else ""
    return (
        f"{record.get('what', 'a run')} (host {record.get('host')}, process {record.get('pid')}{run}, "
        f"since {record.get('acquired_at')}, lease until {record.get('expires_at')})"
    )


def busy(what: str, record: dict[str, object]) -> BusyError:
    """The refusal of a second holder, in one sentence."""
    return BusyError(
        f"{what[:1].upper()}{what[1:]} cannot start: the store is held by {describe(record)}; "
        "try again when it has finished (a holder that died is taken over when its lease ends, "
        "or at once on its own host)."
    )


def current_holder(processed_root: str, name: str) -> dict[str, object] | None:
    """Who holds lock `name` now (None: nobody, or a holder that is gone): a look, not a claim, for a
    command to refuse before it starts anything."""
    uri = lock_uri(processed_root, name)
    try:
        record = json.loads(storage.read_bytes(uri)) if storage.exists(uri) else None
    except (InnomonError, ValueError):
        return None
    return None if record is None or _stale(record) else dict(record)


@dataclass
class Lease:
    """A held lock: its object, the bytes we wrote there, and whether it was lost to a taker."""

    uri: str
    body: bytes
    lease_seconds: int
    lost: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)

    def renew(self) -> bool:
        """Move the lease's end on (compare-and-swap on our own record); False if it was taken."""
        record = json.loads(self.body)
        record["expires_at"] = (_now() + dt.timedelta(seconds=self.lease_seconds)).isoformat()
        renewed = json.dumps(record, sort_keys=True).encode()
        if storage.replace_if(self.uri, self.body, renewed):
            self.body = renewed
            return True
        self.lost = True
        return False

    def release(self) -> None:
        self._stop.set()
        storage.remove_if(self.uri, self.body)


def try_acquire(processed_root: str, name: str, what: str, run: str = "", lease: int = LEASE_SECONDS) -> Lease | dict:
    """The lease, or the record of whoever holds the lock now."""
    uri = lock_uri(processed_root, name)
    body = _record(name, what, run, lease)
    for _ in range(10):  # each turn loses only to another writer that just changed the lock
        if storage.replace_if(uri, None, body):
            return Lease(uri, body, lease)
        try:
            held = storage.read_bytes(uri)
        except InnomonError:  # released between our two steps: try again
            continue
        try:
            record = json.loads(held)
        except ValueError:
            record = {}
        if not _stale(record):
            return record
        if storage.replace_if(uri, held, body):  # take over a dead holder's lock, only if still theirs
            return Lease(uri, body, lease)
    raise InnomonError(f"The lock {uri} changed hands ten times while {what} tried to take it.")


@contextmanager
def hold(
    processed_root: str, name: str, what: str, run: str = "", wait_seconds: float = 0, lease: int = LEASE_SECONDS
) -> Iterator[Lease]:
    """Hold lock `name` for the block, renewing it in the background; wait up to `wait_seconds` for
    it, then refuse (BusyError, exit 4) naming who holds it."""
    deadline = time.monotonic() + wait_seconds
    while True:
        got = try_acquire(processed_root, name, what, run, lease)
        if isinstance(got, Lease):
            break
        if time.monotonic() >= deadline:
            raise busy(what, got)
        time.sleep(POLL_SECONDS)

    def keep() -> None:
        while not got._stop.wait(lease / 3):
            if not got.renew():
                return

    renewer = threading.Thread(target=keep, name=f"innomon-lock-{name}", daemon=True)
    renewer.start()
    try:
        yield got
    finally:
        got.release()
