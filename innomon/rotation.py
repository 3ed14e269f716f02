"""`innomon rotate-key`: move a store from one panel key to the next.

The old key comes from `INNOMON_PANEL_KEY_OLD`, the new one from the variable the configuration
names (`INNOMON_PANEL_KEY`). The panel registry is re-keyed (every panel id mapped by an HMAC with the
new key, so the ids of repeat firms stay continuous across the years), the erasure ledger's key is
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
from innomon.errors import ConfigError

OLD_KEY_ENV = "INNOMON_PANEL_KEY_OLD"


def rekeyed(panel_id: str, new_key: bytes) -> str:
    """A panel id under the new key: the same old id always maps to the same new one."""
    return hmac.new(new_key, f"rekey|{panel_id}".encode(), hashlib.sha256).hexdigest()[:32]


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
    moved = 0
    for uri in storage.list_uris(folder):
        if not uri.endswith(".parquet"):
            continue
        entry = pd.read_parquet(io.BytesIO(storage.read_bytes(uri)))
        entry["panel_id"] = [rekeyed(p, new) for p in entry["panel_id"]]
        storage.write_bytes(storage.join(processed, "panel", new_id, uri.rsplit("/", 1)[-1]), refs.frame_bytes(entry))
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
        "ledger_rewrapped": secret is not None,
        "old_key_objects_removed": len(removed),
    }
