"""References passed between tasks: small dicts naming an object in storage by URI and SHA-256.

Tasks exchange these instead of DataFrames (anchors.md section 3), so Prefect persists tiny
results and the data itself lives in the private processed zone, content-addressed.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from innomon import storage
from innomon.hashing import canonical_json, sha256_bytes

Ref = dict[str, Any]


def put_bytes(root: str, key: str, data: bytes, suffix: str) -> Ref:
    """Store bytes at `root/key-<sha12>.suffix` (content-addressed) and return the reference."""
    digest = sha256_bytes(data)
    uri = storage.join(root, f"{key}-{digest[:16]}.{suffix}")
    if not intact(uri, digest):  # a missing or damaged object is (re)written: the store heals
        storage.write_bytes(uri, data)
    return {"uri": uri, "sha256": digest, "size": len(data)}


def intact(uri: str, sha256: str) -> bool:
    """Whether the object at `uri` exists and has the SHA-256 `sha256`."""
    if not storage.exists(uri):
        return False
    return sha256_bytes(storage.read_bytes(uri)) == sha256


def refs_in(obj: Any) -> list[Ref]:
    """Every reference (a dict with `uri` and `sha256`) inside a JSON-like result, in order."""
    if isinstance(obj, dict):
        if isinstance(obj.get("uri"), str) and isinstance(obj.get("sha256"), str):
            return [obj]
        return [r for v in obj.values() for r in refs_in(v)]
    if isinstance(obj, list):
        return [r for v in obj for r in refs_in(v)]
    return []


def damaged(obj: Any) -> list[str]:
    """The URIs of the references inside `obj` whose object is missing or no longer matches."""
    return [r["uri"] for r in refs_in(obj) if not intact(r["uri"], r["sha256"])]


def frame_bytes(df: pd.DataFrame) -> bytes:
    """Parquet bytes without pandas index; deterministic for equal frames."""
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def put_frame(root: str, key: str, df: pd.DataFrame) -> Ref:
    """Store a DataFrame as Parquet."""
    return put_bytes(root, key, frame_bytes(df), "parquet")


def get_frame(ref: Ref) -> pd.DataFrame:
    """Load a stored DataFrame, checking its SHA-256."""
    data = get_bytes(ref)
    return pq.read_table(io.BytesIO(data)).to_pandas()


def get_bytes(ref: Ref) -> bytes:
    """Load stored bytes, checking the SHA-256 so a changed object is never used silently."""
    data = storage.read_bytes(ref["uri"])
    if sha256_bytes(data) != ref["sha256"]:
        raise RuntimeError(f"Object {ref['uri']} changed since it was written (SHA-256 mismatch).")
    return data


def put_json(root: str, key: str, obj: Any) -> Ref:
    """Store JSON (canonical form)."""
    return put_bytes(root, key, canonical_json(obj), "json")


def get_json(ref: Ref) -> Any:
    """Load stored JSON."""
    return json.loads(get_bytes(ref).decode("utf-8"))
