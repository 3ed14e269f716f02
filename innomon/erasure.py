"""`innomon erase`: remove one firm from every zone of a store, on its request.

The firm is found in every year's archived exports (by KvK number, e-mail address or response id,
and then by every other identifier it was found under, and by its panel id across the years); its
responses are removed from every archived export (rewritten in its own format), every firm-level
object of those years is removed (answers, identities, links, weights, the year's computed tables:
the next run computes them again without the firm), its rows leave the panel registry, the
corrections and the reviewed link decisions, and the Prefect results kept in the store are removed
(a cached result would name objects that are gone). The request goes into the erasure ledger as
keyed hashes only, and fetch replays the ledger on every later import, so the firm never comes back.
Published releases hold aggregates only; the years it answered must be republished.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from innomon import config as config_mod
from innomon import keys, ledger, refs, storage
from innomon.errors import ConfigError
from innomon.exports import minimise, read_export
from innomon.hashing import canonical_json, sha256_bytes
from innomon.pseudonyms import response_pseudonyms
from schemas.datamap import spss_safe

EXPORT_EXTENSIONS = ("csv", "sav", "xlsx", "bin")
KEPT_AGGREGATES = ("bundles", "charts")  # a year's processed folders that hold no firm-level rows


def store_years(zone: str) -> list[int]:
    """The monitor years a zone holds folders of."""
    names = {uri[len(zone) + 1 :].split("/", 1)[0] for uri in storage.list_uris(zone)}
    return sorted(int(n) for n in names if n.isdigit())


def archived_exports(raw_zone: str, year: int) -> list[str]:
    """The archived exports of a year (every version): `raw/YEAR/<sha256>.<ext>`."""
    folder = storage.join(raw_zone, str(year))
    out = []
    for uri in storage.list_uris(folder):
        rest = uri[len(folder) + 1 :]
        if "/" not in rest and rest.rsplit(".", 1)[-1] in EXPORT_EXTENSIONS and rest != "archived.json":
            out.append(uri)
    return out


def identity_columns(year: int, fmt: str, names: Mapping[str, str] = ledger.IDENTIFIER_VARIABLES) -> dict[str, str]:
    """The export's column (as its format names it) of each kind of identifier, by the year's datamap."""
    columns = config_mod.load_typed(year, region=config_mod.current_region()).columns_of(names)
    return {k: spss_safe(c) if fmt == "sav" else c for k, c in columns.items()}


def _panel_entries(folder: str) -> dict[str, pd.DataFrame]:
    """Every entry of the panel registry under `folder` (one key's, or all keys'), by its URI."""
    out = {}
    for uri in storage.list_uris(folder):
        if uri.endswith(".parquet"):
            out[uri] = pd.read_parquet(io.BytesIO(storage.read_bytes(uri)))
    return out


def _entry_year(uri: str) -> int | None:
    name = uri.rsplit("/", 1)[-1].removesuffix(".parquet")
    return int(name) if name.isdigit() else None


@dataclass
class Found:
    """What `find` found: the firm's identifiers, its rows per archived export, and the keyed
    pseudonyms (under the current panel key) of its responses, by year."""

    wanted: set[tuple[str, str]]
    rows: dict[str, frozenset[int]]
    pseudonyms: dict[int, set[str]] = field(default_factory=dict)


def find(raw_zone: str, processed: str, kind: str, value: str, panel_key: bytes) -> Found:
    """Every identifier the firm is known under, and per archived export the responses that are its.
    A repeat firm linked without a shared identifier is found by its panel id in the registry of the
    current key (whose entries name responses by their pseudonyms)."""
    given = ledger.normalised(kind, pd.Series([value])).iloc[0]
    if not isinstance(given, str) or not given:
        raise ConfigError(f"{value!r} is not a valid {kind.replace('_', ' ')}.")
    wanted = {(kind, given)}
    exports: dict[str, list[set[tuple[str, str]]]] = {}
    pseudonym: dict[tuple[int, str], str] = {}  # (year, platform response id) -> its pseudonym
    for year in store_years(raw_zone):
        for uri in archived_exports(raw_zone, year):
            data = storage.read_bytes(uri)
            export = read_export(data, uri.rsplit("/", 1)[-1])
            exports[uri] = ledger.row_identifiers(export.frame, identity_columns(year, export.format))
            ids = pd.Series(sorted({v for row in exports[uri] for k, v in row if k == "response_id"}), dtype=object)
            pseudonym.update(zip(((year, i) for i in ids), response_pseudonyms(ids, year, panel_key), strict=True))
    platform = {(year, p): i for (year, i), p in pseudonym.items()}
    registry = {
        year: entry
        for uri, entry in _panel_entries(storage.join(processed, "panel", keys.fingerprint(panel_key))).items()
        if (year := _entry_year(uri)) is not None
    }
    while True:  # until no identifier is added: a response id leads to a KvK number, that to an e-mail
        before = set(wanted)
        for rows in exports.values():
            for ids in rows:
                if ids & wanted:
                    wanted |= ids
        responses = {v for k, v in wanted if k == "response_id"}
        mine = {p for (_, i), p in pseudonym.items() if i in responses}
        panel = {p for entry in registry.values() for p in entry.loc[entry["response_id"].isin(mine), "panel_id"]}
        for year, entry in registry.items():  # the same firm in other years, by its panel id
            for p in entry.loc[entry["panel_id"].isin(panel), "response_id"]:
                if (year, p) in platform:
                    wanted.add(("response_id", platform[(year, p)]))
        if wanted == before:
            break
    responses = {v for k, v in wanted if k == "response_id"}
    by_year: dict[int, set[str]] = {}
    for (year, i), p in pseudonym.items():
        if i in responses:
            by_year.setdefault(year, set()).add(p)
    found = {uri: frozenset(i for i, ids in enumerate(rows) if ids & wanted) for uri, rows in exports.items()}
    return Found(wanted, {uri: rows for uri, rows in found.items() if rows}, by_year)


def _rewrite_export(raw_zone: str, uri: str, rows: frozenset[int]) -> str:
    """The archived export without the firm's responses, under its new SHA-256."""
    data = storage.read_bytes(uri)
    return replace_archived(uri.rsplit("/", 1)[0], uri, minimise(data, uri.rsplit("/", 1)[-1], None, rows))


def replace_archived(folder: str, uri: str, kept: bytes) -> str:
    """Archive `kept` in place of the object at `uri` under its own SHA-256; `archived.json` follows
    it (the file as received keeps its own SHA-256 there)."""
    name = uri.rsplit("/", 1)[-1]
    digest = sha256_bytes(kept)
    ext = name.rsplit(".", 1)[-1]
    new = storage.join(folder, f"{digest}.{ext}")
    storage.write_bytes(new, kept)
    pointer = storage.join(folder, "archived.json")
    if storage.exists(pointer):
        meta = json.loads(storage.read_bytes(pointer))
        if meta.get("sha256") == name.rsplit(".", 1)[0]:
            meta["original_sha256"] = meta.get("original_sha256", meta["sha256"])
            meta["sha256"] = digest
            storage.write_bytes(pointer, canonical_json(meta) + b"\n")
    if new != uri:
        storage.remove(uri)
    return new


def _without_responses(uri: str, responses: set[str]) -> int:
    """A CSV the survey team edits (corrections, reviewed links) without the firm's rows."""
    frame = pd.read_csv(io.BytesIO(storage.read_bytes(uri)), dtype=str, keep_default_na=False)
    columns = [c for c in ("response_id", "previous_response_id") if c in frame.columns]
    mask = frame[columns].isin(responses).any(axis=1) if columns else pd.Series(False, index=frame.index)
    if mask.any():
        storage.write_bytes(uri, frame[~mask].to_csv(index=False, lineterminator="\n").encode())
    return int(mask.sum())


def erase(store: str, kind: str, value: str, reason: str, published_root: str | None = None) -> dict[str, Any]:
    """Erase one firm from the store; returns what was removed and which years to republish."""
    if kind not in ledger.KINDS:
        raise ConfigError(f"An erasure names a firm by {', '.join(ledger.KINDS)}, not {kind!r}.")
    raw_zone, processed = storage.zone_root(store, "raw"), storage.zone_root(store, "processed")
    published = storage.zone_root(store, "published", {"published": published_root or ""})
    years = store_years(raw_zone)
    newest = config_mod.load_typed(years[-1] if years else config_mod.available_years()[-1])
    panel_key = keys.panel_key(newest.linking.key_env)
    key = ledger.ledger_key_for_erasure(processed, panel_key)
    firm = find(raw_zone, processed, kind, value, panel_key)
    wanted, found = firm.wanted, firm.rows
    responses = {v for k, v in wanted if k == "response_id"}
    entries = ledger.read(ledger.ledger_uri(processed))
    entries.append(
        {
            "hashes": sorted(ledger.identifier_hash(key, k, v) for k, v in wanted),
            "requested": dt.date.today().isoformat(),
            "reason": " ".join(reason.split()) or "request of the firm",
        }
    )
    storage.write_bytes(ledger.ledger_uri(processed), canonical_json(entries) + b"\n")
    removed: dict[str, int] = {}
    affected: set[int] = set()
    for uri, rows in sorted(found.items()):
        year = int(uri[len(raw_zone) + 1 :].split("/", 1)[0])
        affected.add(year)
        _rewrite_export(raw_zone, uri, rows)
        removed[f"raw/{year}"] = removed.get(f"raw/{year}", 0) + len(rows)
    frames = 0
    for year in years:  # the invitation frames: the firm stays counted, no longer named
        folder = storage.join(raw_zone, str(year), "frame")
        for uri in storage.list_uris(folder):
            if uri.endswith(".csv"):
                data, changed = ledger.frame_without(storage.read_bytes(uri), key, set(entries[-1]["hashes"]))
                if changed:
                    replace_archived(folder, uri, data)
                    frames += changed
    if frames:
        removed["frame rows unnamed"] = frames
    objects = 0
    for year in sorted(affected):
        folder = storage.join(processed, str(year))
        for uri in storage.list_uris(folder):
            if uri[len(folder) + 1 :].split("/", 1)[0] not in KEPT_AGGREGATES:
                storage.remove(uri)
                objects += 1
    current = storage.join(processed, "panel", keys.fingerprint(panel_key))
    for uri, entry in _panel_entries(storage.join(processed, "panel")).items():
        year = _entry_year(uri)
        if uri.startswith(current + "/"):
            mask = entry["response_id"].isin(firm.pseudonyms.get(year or 0, set()))
        else:  # another key's registry, whose pseudonyms cannot be computed: its affected years go
            mask = pd.Series(year in affected, index=entry.index)
        if mask.all():
            storage.remove(uri)
        elif mask.any():
            storage.write_bytes(uri, refs.frame_bytes(entry[~mask].reset_index(drop=True)))
        if mask.any():
            removed["panel registry"] = removed.get("panel registry", 0) + int(mask.sum())
    for folder in ("corrections", "linking"):
        for uri in storage.list_uris(storage.join(processed, folder)):
            if uri.endswith(".csv"):
                n = _without_responses(uri, responses)
                if n:
                    removed[f"{folder} files"] = removed.get(f"{folder} files", 0) + n
    results = storage.list_uris(storage.join(processed, "_prefect-results"))
    for uri in results:
        storage.remove(uri)
    # a release shows its comparison years too: every published year from the first affected one on
    republish = sorted(y for y in store_years(published) if any(a <= y for a in affected))
    return {
        "found": bool(found),
        "responses": len(responses),
        "years": sorted(affected),
        "rows_removed": removed,
        "processed_objects_removed": objects,
        "prefect_results_removed": len(results),
        "ledger_entries": len(entries),
        "republish": republish,
    }
