"""Key rotation (issue 30, point 6): after `innomon rotate-key` and a rerun, every published figure is
byte-identical, no folder of the old key remains, the panel ids of repeat firms are continuous, and
a firm erased under the old key stays erased."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from innomon import keys
from innomon.cli import main, run_year
from innomon.pseudonyms import response_pseudonyms
from tests.conftest import copy_demo_store
from tests.helpers import latest_release

NEW_KEY = "the-organisations-next-panel-key-0123456789"
PUBLISHED = ("data/tables.csv", "data/models.csv", "data/model_fit.csv")


def _registry(store: Path, key: bytes, year: int) -> pd.DataFrame:
    return pd.read_parquet(store / "processed" / "panel" / keys.fingerprint(key) / f"{year}.parquet")


def test_rotation_keeps_every_figure_and_leaves_no_trace_of_the_old_key(
    demo: dict, tmp_path: Path, monkeypatch, capsys
) -> None:
    store = copy_demo_store(demo, tmp_path / "store")
    demo_key = keys.DEMO_KEY.encode()
    respondents = _registry(store, demo_key, 2023)
    pseudonym = respondents.loc[respondents["in_previous"] == 0, "response_id"].iloc[0]  # a 2023-only firm
    identities = pd.read_parquet(next((store / "processed" / "2023" / "private").glob("identities-*.parquet")))
    erased = identities.set_index("response_id").loc[pseudonym, "platform_response_id"]  # as the firm knows it
    assert main(["erase", "--response-id", str(erased), "--store", str(store)]) == 0
    capsys.readouterr()
    run_year(2023, str(demo["exports"]), str(store))  # the release without it: what rotation must keep
    release = latest_release(store, 2023)
    before = {p: (release / p).read_bytes() for p in PUBLISHED}
    old_ids = {y: _registry(store, demo_key, y) for y in (2021, 2022, 2023)}

    monkeypatch.setenv("INNOMON_PANEL_KEY_OLD", keys.DEMO_KEY)
    monkeypatch.setenv("INNOMON_PANEL_KEY", NEW_KEY)
    assert main(["rotate-key", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    said = json.loads(out[out.index("{\n") :])  # after any stage lines of an earlier run
    assert said["old_key"] == keys.fingerprint(demo_key) and said["new_key"] == keys.fingerprint(NEW_KEY.encode())
    assert said["ledger_rewrapped"] is True and said["panel_ids_rekeyed"] == sum(len(f) for f in old_ids.values())
    run_year(2023, str(demo["exports"]), str(store))

    assert latest_release(store, 2023) == release  # the same release: nothing published depends on the key
    assert {p: (release / p).read_bytes() for p in PUBLISHED} == before
    old = keys.fingerprint(demo_key)
    assert not [p for p in store.rglob("*") if old in p.name], "a file or folder named by the old key remains"
    new_ids = {y: _registry(store, NEW_KEY.encode(), y) for y in (2021, 2022, 2023)}
    assert not set(new_ids[2023]["panel_id"]) & set(old_ids[2023]["panel_id"])  # every id re-keyed
    for year in (2022, 2023):  # continuous: a repeat firm carries last year's panel id
        repeat = new_ids[year].loc[new_ids[year]["in_previous"] == 1, "panel_id"]
        assert len(repeat) > 20 and set(repeat) <= set(new_ids[year - 1]["panel_id"]), year
    assert len(new_ids[2023]) == len(old_ids[2023]) and said["registry_rows_without_export"] == 0
    under_new = response_pseudonyms(pd.Series([erased]), 2023, NEW_KEY.encode()).iloc[0]
    assert under_new not in set(new_ids[2023]["response_id"])  # still erased, under the new key
    # every response pseudonym was computed again with the new key: the new run's respondents agree
    respondents = pd.read_parquet(
        max((store / "processed" / "2023").glob("respondents-*.parquet"), key=lambda p: p.stat().st_mtime)
    )
    assert set(respondents["response_id"]) == set(new_ids[2023]["response_id"])
    assert not set(new_ids[2023]["response_id"]) & set(old_ids[2023]["response_id"])
