"""Stage `link`: link a year's firms to the previous year's and give every firm a `panel_id`.

Issue 2 scope: exact match on a valid normalised KvK number. `panel_id` is a keyed hash
(HMAC-SHA-256) of the KvK number, so it is the same for the same firm in every year and cannot be
joined back to a firm without the key; a firm without KvK number gets a per-response pseudonym.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from prefect import task

from innomon import refs, storage
from innomon.prefect_support import cache_key, panel_key
from tasks.ingest import keyed_hash


def panel_ids(identities: pd.DataFrame, year: int, key: bytes) -> pd.Series:
    """HMAC of the KvK number where valid, else of year + ResponseId."""
    by_kvk = keyed_hash(identities["kvk_norm"], key, "kvk")
    by_response = keyed_hash(str(year) + ":" + identities["response_id"].astype(str), key, "response")
    return by_kvk.where(by_kvk.notna(), by_response)


def link_years(
    valid: pd.DataFrame, identities: pd.DataFrame, previous_identities: pd.DataFrame | None, year: int, key: bytes
) -> tuple[pd.DataFrame, int]:
    """Valid respondents with `panel_id` and `in_previous`; returns the table and the repeat count."""
    ident = identities.set_index("response_id").loc[valid["response_id"]].reset_index()
    out = valid.copy()
    out["panel_id"] = panel_ids(ident, year, key).to_numpy()
    if previous_identities is None:
        out["in_previous"] = pd.NA
        return out, -1
    prev_kvk = set(previous_identities["kvk_norm"].dropna())
    out["in_previous"] = ident["kvk_norm"].isin(prev_kvk).astype("int64").to_numpy()
    return out, int(out["in_previous"].sum())


@task(name="link", cache_key_fn=cache_key, persist_result=True, result_serializer="json")
def link_task(validated: dict[str, Any], previous: dict[str, Any] | None, processed_root: str) -> dict[str, Any]:
    """Prefect wrapper: valid respondents of a year -> the processed respondent table with panel_id."""
    year = int(validated["year"])
    valid = refs.get_frame(validated["valid"])
    ident = refs.get_frame(validated["identities"])
    prev_ident = None
    if previous is not None:
        prev_all = refs.get_frame(previous["identities"])
        prev_valid = refs.get_frame(previous["valid"])[["response_id"]]
        prev_ident = prev_all.merge(prev_valid, on="response_id")
    table, repeats = link_years(valid, ident, prev_ident, year, panel_key())
    table = table.drop(columns=["firm_hash"])
    root = storage.join(processed_root, str(year))
    facts = {**validated["counts"], "repeat": None if repeats < 0 else repeats}
    return {
        "year": year,
        "respondents": refs.put_frame(root, "respondents", table),
        "facts": facts,
        "report": validated["report"],
    }
