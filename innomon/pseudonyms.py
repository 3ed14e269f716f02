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


def response_pseudonyms(platform_ids: pd.Series, year: int, key: bytes) -> pd.Series:
    """The keyed pseudonym that stands for a survey response in every processed table outside
    `private/` (the platform's own response id stays in the private identities table only). The
    year is part of the input, so one response id of two platforms' years never collides."""
    return keyed_hash(f"{year}:" + platform_ids.astype(str), key, "respondent")


def response_order(platform_ids: pd.Series) -> pd.Series:
    """Each response's rank (0-based) in the order of the platform's response ids: the tie-break
    that rules used to take from the ids themselves, kept free of the key so that a new key never
    changes which duplicate record is kept."""
    values = platform_ids.astype(str).to_numpy()
    ranks = pd.Series(range(len(values)), index=platform_ids.index[values.argsort(kind="stable")])
    return ranks.reindex(platform_ids.index).astype("int64")
