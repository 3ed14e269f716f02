"""Which release of a year is latest, and who may move it: `published/YEAR/latest.json`, the order
releases became latest in (`history.json`), withdrawals (`withdrawn.json`) and the index page.

Every move of a pointer happens under the store's `site` lock and by compare-and-swap on the pointer
(decision D42), and a publication never moves `latest` to a release built from older inputs than the
current latest's (an approval resumed days later, a run of an export that was replaced). Only an
operator's explicit `rollback` moves it back.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from innomon import locks, storage
from innomon.errors import ConfigError, InnomonError
from innomon.hashing import canonical_json, sha256_bytes
from schemas.config import RUN_ID_PATTERN
from tasks.publish.index_page import write_index

SITE_LOCK = "site"
SITE_LOCK_WAIT_SECONDS = 300  # a pointer move and an index take seconds: wait for the other writer


def release_base(root: str, year: int, rid: str) -> str:
    """`ROOT/YEAR/runs/RUN_ID`: a release's folder, in the staging area or the published zone."""
    return storage.join(root, str(year), "runs", rid)


def _pointer_uri(published_root: str, year: int) -> str:
    return storage.join(published_root, str(year), "latest.json")


def _history_uri(published_root: str, year: int) -> str:
    return storage.join(published_root, str(year), "history.json")


def latest_run_id(published_root: str, year: int) -> str | None:
    """The run id `latest` points at, or None."""
    uri = _pointer_uri(published_root, year)
    return str(json.loads(storage.read_bytes(uri))["run_id"]) if storage.exists(uri) else None


def read_history(published_root: str, year: int) -> list[str]:
    """The run ids that became latest of a year, oldest first."""
    uri = _history_uri(published_root, year)
    return [str(r) for r in json.loads(storage.read_bytes(uri))] if storage.exists(uri) else []


def read_withdrawn(published_root: str, year: int) -> dict[str, dict[str, str]]:
    """The withdrawn releases of a year (`published/YEAR/withdrawn.json`, a public notice): run id ->
    reason and time."""
    uri = storage.join(published_root, str(year), "withdrawn.json")
    return dict(json.loads(storage.read_bytes(uri))) if storage.exists(uri) else {}


# The order in which the store first saw each input (an export, a frame, a corrections or reviewed
# file, by SHA-256): private, in `processed/input-order.json`. A release's inputs are as new as the
# newest of them. Wall-clock times stay out of the manifest, which must be byte-identical on a rerun.
def _order_uri(processed_root: str) -> str:
    return storage.join(processed_root, "input-order.json")


def _read_order(processed_root: str) -> tuple[bytes | None, dict[str, int]]:
    uri = _order_uri(processed_root)
    if not storage.exists(uri):
        return None, {}
    data = storage.read_bytes(uri)
    return data, {str(k): int(v) for k, v in json.loads(data).items()}


def record_inputs(processed_root: str, inputs: dict[str, str]) -> None:
    """Give each input not seen before the next place in the store's order (compare-and-swap, so
    two runs recording at once both land)."""
    for _ in range(50):
        data, order = _read_order(processed_root)
        new = sorted(set(inputs.values()) - set(order))
        if not new:
            return
        start = max(order.values(), default=0) + 1
        order.update({sha: start + i for i, sha in enumerate(new)})
        if storage.replace_if(_order_uri(processed_root), data, canonical_json(order) + b"\n"):
            return
    raise InnomonError("The store's input order changed fifty times while this run recorded its inputs.")


def inputs_age(processed_root: str, manifest: dict[str, Any]) -> int:
    """How new a release's inputs are: the place of its newest input in the store's order (0 for a
    release from before the order was kept)."""
    _, order = _read_order(processed_root)
    return max((order.get(sha, 0) for sha in manifest.get("inputs_sha256", {}).values()), default=0)


def _pointer(year: int, rid: str, manifest_bytes: bytes) -> bytes:
    body = {
        "year": year,
        "run_id": rid,
        "manifest": f"runs/{rid}/manifest.json",
        "manifest_sha256": sha256_bytes(manifest_bytes),
    }
    return canonical_json(body) + b"\n"


def _move(published_root: str, year: int, rid: str, manifest_bytes: bytes, expected: bytes | None) -> None:
    """Swap the pointer from `expected` to `rid` and note `rid` in the history (under the site lock)."""
    if not storage.replace_if(_pointer_uri(published_root, year), expected, _pointer(year, rid, manifest_bytes)):
        raise InnomonError(f"latest.json of {year} changed while it was being moved; nothing was moved, run again.")
    history = read_history(published_root, year)
    if not history or history[-1] != rid:  # the order releases became latest in: where a withdrawal returns to
        storage.write_bytes(_history_uri(published_root, year), canonical_json([*history, rid]) + b"\n")


def promote(
    published_root: str,
    processed_root: str,
    year: int,
    rid: str,
    manifest_bytes: bytes,
    title: str,
    make_public: Callable[[], bytes],
) -> dict[str, Any]:
    """Make a release public (`make_public` copies it and returns its public manifest) and latest,
    unless the current latest was built from newer inputs: then nothing is copied, `latest` stays and
    the answer names the newer release. The index page is rebuilt. All under the site lock, so two
    years' publications never drop each other's entry from the index."""
    with locks.hold(processed_root, SITE_LOCK, "publishing", wait_seconds=SITE_LOCK_WAIT_SECONDS):
        uri = _pointer_uri(published_root, year)
        current = storage.read_bytes(uri) if storage.exists(uri) else None
        holder = json.loads(current)["run_id"] if current else None
        theirs_uri = storage.join(release_base(published_root, year, str(holder)), "manifest.json")
        if holder and holder != rid and storage.exists(theirs_uri):  # a latest without its release: replaced
            theirs = json.loads(storage.read_bytes(theirs_uri))
            if inputs_age(processed_root, theirs) > inputs_age(processed_root, json.loads(manifest_bytes)):
                return {"index": write_index(published_root, title), "promoted": False, "newer_latest": holder}
        public_manifest = make_public()
        if current != _pointer(year, rid, public_manifest):
            _move(published_root, year, rid, public_manifest, current)
        return {"index": write_index(published_root, title), "promoted": True}


def verified(published_root: str, year: int, rid: str) -> bytes | None:
    """The manifest of a published release whose every file matches it, else None."""
    base = release_base(published_root, year, rid)
    uri = storage.join(base, "manifest.json")
    if not storage.exists(uri):
        return None
    manifest_bytes = storage.read_bytes(uri)
    for entry in json.loads(manifest_bytes)["files"]:
        target = storage.join(base, entry["path"])
        if not storage.exists(target) or sha256_bytes(storage.read_bytes(target)) != entry["sha256"]:
            return None
    return manifest_bytes


def _check_run_id(run_id: str) -> None:
    if not re.fullmatch(RUN_ID_PATTERN, run_id):  # an id, never a path
        raise ConfigError(f"{run_id!r} is no run id (16 hexadecimal digits, as a release's folder is named).")


def withdraw(published_root: str, processed_root: str, year: int, run_id: str, reason: str) -> dict[str, Any]:
    """Take a published release off the site: its files are removed, the withdrawal (run id, reason,
    time) is noted in `published/YEAR/withdrawn.json`, and if it was latest, `latest` returns to the
    last release before it that is still published and verifies (none: no latest). A withdrawn
    release cannot be rolled back to."""
    _check_run_id(run_id)
    if not reason.strip():
        raise ConfigError("A withdrawal needs a reason (--reason): it is published with the notice.")
    base = release_base(published_root, year, run_id)
    manifest_uri = storage.join(base, "manifest.json")
    with locks.hold(processed_root, SITE_LOCK, "withdrawing", wait_seconds=SITE_LOCK_WAIT_SECONDS):
        if not storage.exists(manifest_uri):
            raise ConfigError(f"Year {year} has no published release {run_id!r} under {published_root}.")
        manifest = json.loads(storage.read_bytes(manifest_uri))
        withdrawn = read_withdrawn(published_root, year)
        when = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        withdrawn[run_id] = {"reason": " ".join(reason.split()), "withdrawn_at": when}
        notice = canonical_json(withdrawn) + b"\n"
        storage.write_bytes(storage.join(published_root, str(year), "withdrawn.json"), notice)
        pointer_uri = _pointer_uri(published_root, year)
        current = storage.read_bytes(pointer_uri) if storage.exists(pointer_uri) else None
        was_latest = current is not None and json.loads(current).get("run_id") == run_id
        storage.remove(manifest_uri)  # the manifest first: what is left of the release is incomplete, never whole
        for entry in manifest["files"]:
            storage.remove(storage.join(base, entry["path"]))
        latest: str | None = json.loads(current).get("run_id") if current and not was_latest else None
        if was_latest:
            for previous in reversed(read_history(published_root, year)):
                manifest_bytes = verified(published_root, year, previous) if previous not in withdrawn else None
                if manifest_bytes is not None:
                    _move(published_root, year, previous, manifest_bytes, current)
                    latest = previous
                    break
            else:
                if current is not None and not storage.remove_if(pointer_uri, current):
                    raise InnomonError(f"latest.json of {year} changed during the withdrawal; check it and run again.")
        index = write_index(published_root, manifest.get("site_title", "Innovatiemonitor"))
    return {"year": year, "withdrawn": run_id, "reason": withdrawn[run_id]["reason"], "latest": latest, "index": index}


def rollback(published_root: str, processed_root: str, year: int, run_id: str) -> dict[str, Any]:
    """Point `latest` of a year back at an earlier release, after verifying that release against its
    manifest; regenerates index.html. The operator's explicit choice: the one move that may go to
    older inputs. Releases are immutable, so nothing else changes."""
    _check_run_id(run_id)
    withdrawn = read_withdrawn(published_root, year).get(run_id)
    if withdrawn:
        raise ConfigError(f"Release {run_id} of {year} was withdrawn ({withdrawn['reason']}); it cannot become latest.")
    base = release_base(published_root, year, run_id)
    manifest_uri = storage.join(base, "manifest.json")
    if not storage.exists(manifest_uri):
        raise ConfigError(f"Year {year} has no release {run_id!r} under {published_root}.")
    manifest_bytes = verified(published_root, year, run_id)
    if manifest_bytes is None:
        raise InnomonError(f"Release {run_id} is damaged: a file does not match its manifest.")
    title = json.loads(manifest_bytes).get("site_title", "Innovatiemonitor")
    with locks.hold(processed_root, SITE_LOCK, "rolling back", wait_seconds=SITE_LOCK_WAIT_SECONDS):
        uri = _pointer_uri(published_root, year)
        current = storage.read_bytes(uri) if storage.exists(uri) else None
        if current != _pointer(year, run_id, manifest_bytes):
            _move(published_root, year, run_id, manifest_bytes, current)
        index = write_index(published_root, title)
    return {"year": year, "run_id": run_id, "release": base, "index": index}
