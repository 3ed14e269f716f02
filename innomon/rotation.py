"""`innomon rotate-key`: move a store from one panel key to the next.

The old key comes from `INNOMON_PANEL_KEY_OLD`, the new one from the variable the configuration
names (`INNOMON_PANEL_KEY`). The panel registry is re-keyed (every panel id mapped by an HMAC with the
new key, so the ids of repeat firms stay continuous across the years; every response pseudonym
computed again with the new key from the platform's response ids in the year's archived exports; a
year whose exports are gone can no longer be computed, and its entry is dropped), the erasure ledger's key is
wrapped under the new key, and the old key's folders are removed. The next run pseudonymises again
with the new key (the keyed stages take the key's fingerprint as a parameter) and publishes the same
figures: nothing published depends on the key.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from typing import Any

import pandas as pd

from innomon import config as config_mod
from innomon import keys, ledger, refs, storage
from innomon.erasure import archived_exports, identity_columns
from innomon.errors import ConfigError
from innomon.exports import read_export
from innomon.pseudonyms import response_pseudonyms

OLD_KEY_ENV = "INNOMON_PANEL_KEY_OLD"


def rekeyed(panel_id: str, new_key: bytes) -> str:
    """A panel id under the new key: the same old id always maps to the same new one."""
    return hmac.new(new_key, f"rekey|{panel_id}".encode(), hashlib.sha256).hexdigest()[:32]


def pseudonym_map(raw_zone: str, year: int, old: bytes, new: bytes) -> dict[str, str]:
    """Old pseudonym -> new pseudonym of every response in the year's archived exports."""
    ids: set[str] = set()
    for uri in archived_exports(raw_zone, year):
        export = read_export(storage.read_bytes(uri), uri.rsplit("/", 1)[-1])
        column = identity_columns(year, export.format, {"response_id": "response_id"})["response_id"]
        ids |= {i.strip() for i in export.frame[column].astype(str) if i.strip()}
    platform = pd.Series(sorted(ids), dtype=object)
    return dict(zip(response_pseudonyms(platform, year, old), response_pseudonyms(platform, year, new), strict=True))


def rotate(store: str) -> dict[str, Any]:
    """Re-key the store; returns what moved."""
    key_env = config_mod.load_typed(
        config_mod.available_years()[-1], region=config_mod.current_region()
    ).linking.key_env
    old, new = keys.panel_key(OLD_KEY_ENV), keys.panel_key(key_env)
    if old == new:
        raise ConfigError(f"{OLD_KEY_ENV} and {key_env} hold the same key; nothing to rotate.")
    processed = storage.zone_root(store, "processed")
    old_id, new_id = keys.fingerprint(old), keys.fingerprint(new)
    folder = storage.join(processed, "panel", old_id)
    raw_zone = storage.zone_root(store, "raw")
    moved = dropped = 0
    for uri in storage.list_uris(folder):
        name = uri.rsplit("/", 1)[-1]
        if not name.endswith(".parquet") or not name.removesuffix(".parquet").isdigit():
            continue
        entry = pd.read_parquet(io.BytesIO(storage.read_bytes(uri)))
        mapping = pseudonym_map(raw_zone, int(name.removesuffix(".parquet")), old, new)
        entry["response_id"] = entry["response_id"].map(mapping)
        dropped += int(entry["response_id"].isna().sum())
        entry = entry.dropna(subset=["response_id"]).sort_values("response_id", kind="mergesort")
        entry["panel_id"] = [rekeyed(p, new) for p in entry["panel_id"]]
        if len(entry):
            data = refs.frame_bytes(entry.reset_index(drop=True))
            storage.write_bytes(storage.join(processed, "panel", new_id, name), data)
        moved += len(entry)
    secret = ledger.ledger_key(processed, old)
    if secret is not None:
        ledger.wrap(processed, secret, new)
    removed = storage.list_uris(folder)
    for uri in removed:  # the old key's folder goes once everything is under the new key
        storage.remove(uri)
    if folder.startswith("file://"):  # a local store: the empty folder too (a bucket has no folders)
        path = storage.local_path(folder)
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return {
        "old_key": old_id,
        "new_key": new_id,
        "panel_ids_rekeyed": moved,
        "registry_rows_without_export": dropped,
        "ledger_rewrapped": secret is not None,
        "old_key_objects_removed": len(removed),
    }
