"""`innomon audit-disclosure`: the disclosure audit of a year's latest release, against every other
release the store holds (what an intruder holding all of them knows).

The primary cells come from the private disclosure record the indicators stage wrote beside the
tables (matched by the SHA-256 of the published tables.csv): which cells are primary says something
of their values, so it is never published.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from innomon import config as config_mod
from innomon import disclosure, storage
from innomon.errors import ConfigError
from innomon.hashing import sha256_bytes
from schemas.cells import read_tables_csv


def _releases(published: str) -> dict[str, bytes]:
    """Every release's tables.csv in the published zone, by its URI."""
    return {
        uri: storage.read_bytes(uri)
        for uri in storage.list_uris(published)
        if uri.endswith("/data/tables.csv") and "/runs/" in uri
    }


def _record(processed: str, year: int, digest: str) -> dict[str, Any]:
    folder = storage.join(processed, str(year), "private")
    for uri in storage.list_uris(folder):
        name = uri.rsplit("/", 1)[-1]
        if name.startswith("disclosure-") and name.endswith(".json"):
            record = json.loads(storage.read_bytes(uri))
            if record.get("tables_sha256") == digest:
                return record
    raise ConfigError(
        f"No disclosure record of {year}'s latest release is in the store (processed/{year}/private): "
        "run the year again to make one."
    )


def audit_year(store: str, year: int, published_root: str | None = None) -> dict[str, Any]:
    """The audit of `year`'s latest release; its summary (no value of a cell) with the releases counted."""
    published = storage.zone_root(store, "published", {"published": published_root or ""})
    processed = storage.zone_root(store, "processed")
    pointer_uri = storage.join(published, str(year), "latest.json")
    if not storage.exists(pointer_uri):
        raise ConfigError(f"{year} has no published release in this store.")
    pointer = json.loads(storage.read_bytes(pointer_uri))
    own_uri = storage.join(published, str(year), "runs", str(pointer["run_id"]), "data/tables.csv")
    releases = _releases(published)
    own = releases.pop(own_uri, None)
    if own is None:
        raise ConfigError(f"The latest release of {year} has no data/tables.csv.")
    record = _record(processed, year, sha256_bytes(own))
    cells = read_tables_csv(own)
    others = [read_tables_csv(data) for _, data in sorted(releases.items())]
    earlier = pd.concat(others, ignore_index=True) if others else None
    region = config_mod.current_region()
    cfg = config_mod.load_typed(year, region=region)
    years = [cfg, *(config_mod.load_typed(y, region=region) for y in cfg.comparison_years)]

    def scale_of(item: str) -> tuple[float, float]:
        """An item asked only in a comparison year has its scale in that year's datamap."""
        for c in years:
            try:
                return c.answer_scale(item)
            except ValueError:
                continue
        return cfg.answer_scale(item)  # raises, naming the item

    rules = disclosure.rules_of(cfg, cells, [tuple(d) for d in record["distributions"]], scale_of)
    result = disclosure.audit(cells, earlier, disclosure.primaries_of(record), rules)
    return {
        "year": year,
        "run_id": pointer["run_id"],
        "other_releases": len(others),
        "suppressed_cells": int(cells["flag"].str.contains("c").sum()),
        **disclosure.summary(result),
    }


def report_lines(summary: dict[str, Any]) -> list[str]:
    """What the command prints."""
    lines = [
        f"Disclosure audit of {summary['year']} (release {summary['run_id']}), against "
        f"{summary['other_releases']} other release(s) in the store",
        f"  suppressed cells: {summary['suppressed_cells']}, primary cells checked: {summary['checked']}",
    ]
    narrow = summary["narrowest"]
    if narrow:
        lines.append(
            f"  narrowest interval: {narrow['width']:.2f} (protection width {narrow['required']:g}) for "
            f"{narrow['item']} {narrow['category']} {narrow['stat']}, {narrow['group']}, {narrow['year']}, "
            f"n={narrow['n']}"
        )
    for cell in summary["unprotected"]:
        lines.append(
            f"  NOT PROTECTED: {cell['item']} {cell['category']} {cell['stat']}, {cell['group']}, {cell['year']}, "
            f"n={cell['n']}: {cell['width']:.2f} < {cell['required']:g}"
        )
    lines.append("  every primary cell is protected" if not summary["unprotected"] else "  the audit FAILS")
    return lines
