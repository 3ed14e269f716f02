"""`innomon retention`: what the store may keep, and for how long (`retention:` in the configuration).

- An archived export and frame of monitor year Y are kept `raw_exports_years` years after Y, then
  removed (the year can then no longer be computed again).
- The identities of year Y (firm names, KvK numbers, e-mail addresses, full postcodes) are kept
  `identities_years` years after Y: a firm's identities are needed only to link the next year's
  answers, and a run recomputes at most its two comparison years. After that, the identity columns
  of the year's archived exports are emptied, and the year's private objects (identities, links,
  review candidates, mapping issues), corrections and reviewed link decisions are removed. So a
  firm's identities are gone at most `identities_years` after its last participation.

A dry run by default: one line per object and what would happen to it; `--apply` does it. The policy
of the newest configuration applies to everything the store holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from innomon import config as config_mod
from innomon import storage
from innomon.erasure import archived_exports, identity_columns, replace_archived, store_years
from innomon.exports import minimise, read_export


@dataclass(frozen=True)
class Action:
    """One thing retention does to one object."""

    what: str  # "remove" or "empty identities"
    uri: str
    why: str
    year: int

    def line(self, store: str) -> str:
        where = self.uri.removeprefix(store.rstrip("/") + "/")
        return f"{self.what:<17} {where}  ({self.why})"


def plan(store: str, as_of: int) -> list[Action]:
    """What retention would do on 1 January of `as_of`, oldest year first."""
    cfg = config_mod.load_typed(config_mod.available_years()[-1], region=config_mod.current_region())
    policy = cfg.retention
    if policy is None:
        return []
    raw_zone, processed = storage.zone_root(store, "raw"), storage.zone_root(store, "processed")
    actions: list[Action] = []
    for year in sorted(set(store_years(raw_zone)) | set(store_years(processed))):
        raw_expired = as_of > year + policy.raw_exports_years
        ids_expired = as_of > year + policy.identities_years
        if raw_expired:
            why = f"raw data of {year}, kept {policy.raw_exports_years} years"
            actions += [Action("remove", u, why, year) for u in storage.list_uris(storage.join(raw_zone, str(year)))]
        if not ids_expired:
            continue
        why = f"identities of {year}, kept {policy.identities_years} years"
        if not raw_expired:
            for uri in archived_exports(raw_zone, year):
                if _identities_left(uri, year):
                    actions.append(Action("empty identities", uri, why, year))
        private = storage.list_uris(storage.join(processed, str(year), "private"))
        edited = [
            storage.join(processed, "corrections", f"corrections-{year}.csv"),
            storage.join(processed, "linking", f"reviewed-{year}.csv"),
        ]
        actions += [Action("remove", uri, why, year) for uri in [*private, *edited] if storage.exists(uri)]
    return actions


IDENTITIES = {v: v for v in ("company_name", "kvk_number", "email", "postcode")}  # the datamap variables


def _identities_left(uri: str, year: int) -> bool:
    export = read_export(storage.read_bytes(uri), uri.rsplit("/", 1)[-1])
    columns = [c for c in identity_columns(year, export.format, IDENTITIES).values() if c in export.frame.columns]
    return bool(columns) and bool((export.frame[columns] != "").any().any())


def apply(actions: list[Action]) -> None:
    """Carry the plan out."""
    for action in actions:
        if action.what == "remove":
            storage.remove(action.uri)
            continue
        data = storage.read_bytes(action.uri)
        name = action.uri.rsplit("/", 1)[-1]
        export = read_export(data, name)
        blank = set(identity_columns(action.year, export.format, IDENTITIES).values())
        kept = minimise(data, name, set(export.frame.columns) - blank, export=export)
        replace_archived(action.uri.rsplit("/", 1)[0], action.uri, kept)


def this_year() -> int:
    return dt.date.today().year
