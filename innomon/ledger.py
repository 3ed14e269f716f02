"""The erasure ledger: which firms asked to be erased, as keyed hashes of their identifiers only.

`processed/erasure/ledger.json` holds one entry per request: the HMAC (with the ledger key) of every
identifier the firm was found under (chamber-of-commerce number, e-mail address, response ids), the
date and the reason; never an identifier itself. Fetch replays it on every export (`rows_to_erase`),
so a firm that was erased never comes back with the next import of the platform's export.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
from typing import Any

import pandas as pd

from innomon import storage
from innomon.normalise import normalise_kvk

# What identifies a firm in an export, by kind, and the datamap variable that holds it.
IDENTIFIER_VARIABLES = {"response_id": "response_id", "kvk": "kvk_number", "email": "email"}
KINDS = tuple(IDENTIFIER_VARIABLES)


def ledger_uri(processed_root: str) -> str:
    return storage.join(processed_root, "erasure", "ledger.json")


# The ledger key: a random 32-byte secret made at the first erasure, stored wrapped under the panel
# key (XOR with an HMAC of the panel key: a one-time pad, since each panel key wraps one ledger key
# once). A key rotation unwraps it with the old panel key and wraps it with the new one, so entries
# made under an old key still match: an identifier's hash cannot be re-keyed without the identifier,
# which is gone. Written by hand: one 32-byte secret needs no key-wrapping library.
def _key_uri(processed_root: str) -> str:
    return storage.join(processed_root, "erasure", "ledger-key.json")


def _pad(panel_key: bytes) -> bytes:
    return hmac.new(panel_key, b"innomon-ledger-key-wrap", hashlib.sha256).digest()


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def ledger_key(processed_root: str, panel_key: bytes) -> bytes | None:
    """The ledger key, unwrapped with the panel key (None: no erasure yet)."""
    from innomon import keys
    from innomon.errors import ConfigError

    uri = _key_uri(processed_root)
    if storage.exists(uri):
        record = json.loads(storage.read_bytes(uri))
        if record["key_id"] != keys.fingerprint(panel_key):
            raise ConfigError(
                "The erasure ledger is wrapped under another panel key than this one: after a new key, "
                "run innomon rotate-key with the old key in INNOMON_PANEL_KEY_OLD."
            )
        return _xor(bytes.fromhex(record["wrapped"]), _pad(panel_key))
    return None


def ledger_key_for_erasure(processed_root: str, panel_key: bytes) -> bytes:
    """The ledger key, made (random) and stored wrapped at the first erasure."""
    existing = ledger_key(processed_root, panel_key)
    if existing is not None:
        return existing
    secret = os.urandom(32)
    wrap(processed_root, secret, panel_key)
    return secret


def wrap(processed_root: str, secret: bytes, panel_key: bytes) -> None:
    """Store the ledger key wrapped under `panel_key`."""
    from innomon import keys

    record = {"key_id": keys.fingerprint(panel_key), "wrapped": _xor(secret, _pad(panel_key)).hex()}
    storage.write_bytes(_key_uri(processed_root), json.dumps(record, sort_keys=True).encode() + b"\n")


def identifier_hash(key: bytes, kind: str, value: str) -> str:
    """The keyed hash of one normalised identifier (kinds: `KINDS`)."""
    return hmac.new(key, f"erase|{kind}|{value}".encode(), hashlib.sha256).hexdigest()[:32]


def normalised(kind: str, values: pd.Series) -> pd.Series:
    """Identifiers as they are compared: a KvK number's eight digits, an e-mail address in lower
    case, a response id trimmed; blank is missing."""
    text = values.fillna("").astype(str).str.strip()
    if kind == "kvk":
        return normalise_kvk(text.where(text != ""))
    if kind == "email":
        text = text.str.lower()
    return text.where(text != "")


def row_identifiers(frame: pd.DataFrame, columns: dict[str, str]) -> list[set[tuple[str, str]]]:
    """Per response, its identifiers as (kind, value); `columns` names each kind's column."""
    out: list[set[tuple[str, str]]] = [set() for _ in range(len(frame))]
    for kind, column in columns.items():
        if column not in frame.columns:
            continue
        for i, value in enumerate(normalised(kind, frame[column]).tolist()):
            if isinstance(value, str) and value:
                out[i].add((kind, value))
    return out


def read(uri: str) -> list[dict[str, Any]]:
    """The ledger's entries (none when there is no ledger)."""
    return list(json.loads(storage.read_bytes(uri))) if storage.exists(uri) else []


def hashes(entries: list[dict[str, Any]]) -> set[str]:
    return {h for entry in entries for h in entry.get("hashes", [])}


def rows_to_erase(frame: pd.DataFrame, columns: dict[str, str], key: bytes, erased: set[str]) -> frozenset[int]:
    """The responses (0-based) any of whose identifiers the ledger holds."""
    if not erased:
        return frozenset()
    rows = row_identifiers(frame, columns)
    return frozenset(i for i, ids in enumerate(rows) if any(identifier_hash(key, k, v) in erased for k, v in ids))


FRAME_ID = "frame_id"  # the invitation frame's firm number: a KvK number in a register extract


def frame_without(data: bytes, key: bytes, erased: set[str]) -> tuple[bytes, int]:
    """The invitation frame (CSV) with the frame id of every erased firm replaced by a keyed
    pseudonym: the firm stays counted in the population its weights are raked to, but is no longer
    named. Returns the bytes (unchanged when nobody is erased) and the number of rows replaced."""
    import csv

    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or FRAME_ID not in rows[0] or not erased:
        return data, 0
    at = rows[0].index(FRAME_ID)
    changed = 0
    for row in rows[1:]:
        if len(row) > at:
            kvk = normalised("kvk", pd.Series([row[at]])).iloc[0]
            if isinstance(kvk, str) and identifier_hash(key, "kvk", kvk) in erased:
                row[at] = "erased-" + identifier_hash(key, "frame", kvk)[:16]
                changed += 1
    if not changed:
        return data, 0
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n" if "\r\n" in text[:1000] else "\n").writerows(rows)
    return (b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b"") + out.getvalue().encode("utf-8"), changed
