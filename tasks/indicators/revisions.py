"""The `r` flag: a comparison-year figure that differs from that year's own last publication.

Comparison years are always recomputed from their archived exports with the current code and
config; where that gives another figure than the year's latest release, the cell is flagged `r`
so report authors see that a published number was revised.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from prefect import task

from innomon import storage
from schemas.cells import KEYS


def latest_tables_ref(published_root: str, year: int) -> dict[str, Any] | None:
    """Reference to `data/tables.csv` of a year's latest release, or None if never published."""
    pointer_uri = storage.join(published_root, str(year), "latest.json")
    if not storage.exists(pointer_uri):
        return None
    pointer = json.loads(storage.read_bytes(pointer_uri))
    manifest = json.loads(storage.read_bytes(storage.join(published_root, str(year), pointer["manifest"])))
    entry = next((f for f in manifest["files"] if f["path"] == "data/tables.csv"), None)
    if entry is None:
        return None
    uri = storage.join(published_root, str(year), "runs", pointer["run_id"], "data/tables.csv")
    return {"uri": uri, "sha256": entry["sha256"], "size": entry["size"], "run_id": pointer["run_id"]}


def mark_revisions(
    cells: pd.DataFrame, previous: dict[int, pd.DataFrame], not_comparable: set[str] | frozenset[str] = frozenset()
) -> pd.DataFrame:
    """Add `r` to comparison-year cells whose value differs from that year's own last publication.

    Tables in `not_comparable` are skipped: a panel table's previous-year column describes the firms
    in both this and the previous year, a different panel from the one the previous release showed.
    """
    cells = cells.copy()
    for year, pub in previous.items():
        pub = pub[~pub["table_id"].isin(not_comparable)]
        own = pub[pub["year"] == year][[*KEYS, "value"]].rename(columns={"value": "published"})
        mine = cells[cells["year"] == year].reset_index().merge(own, on=KEYS, how="inner")
        ours = mine["value"].astype(float).round(6)
        theirs = mine["published"].astype(float).round(6)
        differs = (ours.isna() != theirs.isna()) | (
            ours.notna() & theirs.notna() & ~np.isclose(ours, theirs, atol=1e-6)
        )
        for idx in mine.loc[differs, "index"]:
            if "r" not in cells.at[idx, "flag"]:
                cells.at[idx, "flag"] = cells.at[idx, "flag"] + "r"
    return cells


@task(name="previous-publications")
def previous_publications_task(published_root: str, years: list[int]) -> dict[str, Any]:
    """Never cached: it reads what is published now. Returns small refs (with SHA-256) per year."""
    return {str(y): latest_tables_ref(published_root, y) for y in years}
