"""`innomon verify-store`: every object of every zone checked against its name or its manifest, one
line per problem, and (`--repair`) what can be mended, mended.

How an object is checked, by zone:
- raw: an archived export or frame is named by its SHA-256 (`<sha256>.<ext>`); `archived.json` must
  point at an archive that exists.
- processed: a computed object is named `<key>-<first 16 hex of its SHA-256>.<suffix>`; a kept chart
  or bundle (`charts/`, `bundles/`) is a ZIP whose entries carry their CRC-32.
- published: every file of a release is listed in its `manifest.json` with its SHA-256, and
  `latest.json` must point at a release that exists.

What `--repair` does: a damaged computed or kept object is removed, so the next run that needs it
computes it again (a cached step whose result names a missing or damaged object is recomputed,
`innomon.prefect_support.damaged_result`); a damaged archive likewise (the next fetch archives the
export again from the drop folder); a published file is restored from a kept bundle of its year that
holds the same bytes. What cannot be mended is said so.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass

from innomon import storage
from innomon.hashing import sha256_bytes

_ARCHIVE = re.compile(r"^([0-9a-f]{64})\.[A-Za-z0-9]+$")
_COMPUTED = re.compile(r"^.+-([0-9a-f]{16})\.[A-Za-z0-9]+$")


@dataclass
class Finding:
    """One problem: the object (store-relative where it can be), what is wrong, what was done."""

    uri: str
    problem: str
    action: str = ""

    def line(self, store: str) -> str:
        where = self.uri.removeprefix(store.rstrip("/") + "/")
        return f"{where}: {self.problem}" + (f"; {self.action}" if self.action else "")


def _remove(uri: str) -> None:
    uri = storage.resolve(uri)
    if uri.startswith("file://"):
        storage.local_path(uri).unlink(missing_ok=True)
    else:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        storage.s3_client().delete_object(Bucket=bucket, Key=key)


def _zip_whole(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _pointed(pointer_uri: str) -> str | None:
    """The archive an `archived.json` points at (None when it cannot be read)."""
    try:
        meta = json.loads(storage.read_bytes(pointer_uri))
        return storage.join(pointer_uri.rsplit("/", 1)[0], f"{meta['sha256']}.{meta['ext']}")
    except (ValueError, KeyError, TypeError):
        return None


def check_raw(raw_zone: str, repair: bool) -> list[Finding]:
    """Archived exports and frames against their names; each `archived.json` against its archive. A
    damaged archive is removed with the pointer that names it: the next run archives the export
    again from the drop folder."""
    found: list[Finding] = []
    uris = storage.list_uris(raw_zone)
    pointers = [u for u in uris if u.rsplit("/", 1)[-1] == "archived.json"]
    removed: set[str] = set()
    for uri in uris:
        match = _ARCHIVE.match(uri.rsplit("/", 1)[-1])
        if match and sha256_bytes(storage.read_bytes(uri)) != match.group(1):
            action = "removed; the next run archives the export again from the drop folder" if repair else ""
            found.append(Finding(uri, "damaged (its SHA-256 is not its name)", action))
            if repair:
                _remove(uri)
                removed.add(uri)
    for pointer in pointers:
        target = _pointed(pointer)
        if target is None:
            found.append(Finding(pointer, "not a readable archive pointer", "removed" if repair else ""))
        elif target in removed:
            pass  # its archive's repair: the pointer goes with it
        elif not storage.exists(target):
            action = "removed; the next run archives the export again" if repair else ""
            found.append(Finding(pointer, f"points at a missing archive {target.rsplit('/', 1)[-1]}", action))
        else:
            continue
        if repair:
            _remove(pointer)
    return found


def check_processed(processed_zone: str, repair: bool) -> list[Finding]:
    """Computed objects against the hash in their names; kept ZIPs against their CRCs."""
    found: list[Finding] = []
    for uri in storage.list_uris(processed_zone):
        rel = uri.removeprefix(processed_zone.rstrip("/") + "/")
        if rel.startswith("_prefect-results/"):
            continue  # Prefect's own records: a damaged one is recomputed by Prefect
        name = rel.rsplit("/", 1)[-1]
        parts = rel.split("/")
        data = storage.read_bytes(uri)
        if len(parts) >= 2 and parts[-2] in ("charts", "bundles") and name.endswith(".zip"):
            whole = _zip_whole(data)
        else:
            match = _COMPUTED.match(name)
            if not match:
                continue  # not content-addressed (the panel registry): checked by the step that reads it
            whole = sha256_bytes(data).startswith(match.group(1))
        if not whole:
            action = "removed; the next run that needs it computes it again" if repair else ""
            found.append(Finding(uri, "damaged (its content does not match its name)", action))
            if repair:
                _remove(uri)
    return found


def _kept_copy(processed_zone: str, year: str, path: str, sha256: str) -> bytes | None:
    """The bytes of a release's file from a kept bundle of its year, if one holds the same bytes."""
    for uri in storage.list_uris(storage.join(processed_zone, year, "bundles")):
        try:
            with zipfile.ZipFile(io.BytesIO(storage.read_bytes(uri))) as archive:
                name = f"files/{path}"  # a kept bundle holds the release's files under files/
                if name in archive.namelist():
                    data = archive.read(name)
                    if sha256_bytes(data) == sha256:
                        return data
        except (zipfile.BadZipFile, OSError, ValueError):
            continue
    return None


def check_published(published_zone: str, processed_zone: str, repair: bool) -> list[Finding]:
    """Every release's files against its manifest; every `latest.json` against its release."""
    found: list[Finding] = []
    uris = storage.list_uris(published_zone)
    for uri in uris:
        rel = uri.removeprefix(published_zone.rstrip("/") + "/")
        parts = rel.split("/")
        if len(parts) == 2 and parts[1] == "latest.json":
            try:
                pointer = json.loads(storage.read_bytes(uri))
                target = storage.join(published_zone, parts[0], str(pointer["manifest"]))
            except (ValueError, KeyError, TypeError):
                found.append(Finding(uri, "not a readable pointer"))
                continue
            if not storage.exists(target):
                found.append(Finding(uri, "points at a release that does not exist (innomon rollback)"))
            continue
        if len(parts) != 4 or parts[1] != "runs" or parts[3] != "manifest.json":
            continue
        year, release = parts[0], storage.join(published_zone, *parts[:3])
        try:
            manifest = json.loads(storage.read_bytes(uri))
        except ValueError:
            found.append(Finding(uri, "not a readable manifest; the release cannot be verified"))
            continue
        for entry in manifest.get("files", []):
            target = storage.join(release, entry["path"])
            exists = storage.exists(target)
            if exists and sha256_bytes(storage.read_bytes(target)) == entry["sha256"]:
                continue
            problem = "damaged (does not match its manifest)" if exists else "missing (listed in its manifest)"
            kept = _kept_copy(processed_zone, year, entry["path"], entry["sha256"]) if repair else None
            if kept is not None:
                storage.write_bytes(target, kept)
            action = "restored from the kept bundle" if kept is not None else ""
            if repair and kept is None:
                action = "no kept copy: run the year again to rebuild the release"
            found.append(Finding(target, problem, action))
    return found


def verify_store(store_root: str, published_root: str | None = None, repair: bool = False) -> list[Finding]:
    """Every problem of a store's three zones (and a separate published root), repaired if asked."""
    store = storage.as_uri(store_root)
    processed = storage.zone_root(store, "processed")
    published = storage.zone_root(store, "published", {"published": published_root or ""})
    return [
        *check_raw(storage.zone_root(store, "raw"), repair),
        *check_processed(processed, repair),
        *check_published(published, processed, repair),
    ]
