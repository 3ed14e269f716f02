"""Pseudonyms: keyed hashes (HMAC-SHA-256) of identifying values.

The ingest stage hashes a firm's chamber-of-commerce number for the duplicate rule, and the link
stage builds the panel ids the same way; both use this one function, so a pseudonym means the same
in every stage that reads it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pandas as pd


def keyed_hash(values: pd.Series, key: bytes, prefix: str) -> pd.Series:
    """HMAC-SHA-256 (hex, 32 chars) of each non-missing value; missing stays missing."""

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return None
        return hmac.new(key, f"{prefix}:{v}".encode(), hashlib.sha256).hexdigest()[:32]

    return values.map(one).astype(object)
