"""A new year through configuration alone (tests/rollover.py: 2024 with a renumbered, a new and a
dropped item), run after 2022 and 2023 into one store: the window rolls from 2021-2023 to 2022-2024
without changing a figure the earlier releases published or any firm's panel_id, and the raw root
need hold only the new year's export."""

from __future__ import annotations

import glob
from pathlib import Path

import pandas as pd
import pytest

from innomon.cli import run_year
from tests.conftest import copy_demo_zones
from tests.helpers import YEAR_STAGES, assert_cached, latest_release, read_tables, task_states
from tests.rollover import config_with_2024


@pytest.fixture(scope="module")
def rolled(demo: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """2022 and 2023 run into a store that holds the demo's computed years (nothing published),
    with the 2024 configuration added (a new item in tables.yaml); then 2024 from its drop folder."""
    from innomon.synth.export import write_year

    root = tmp_path_factory.mktemp("rollover")
    mp = pytest.MonkeyPatch()
    mp.setenv("INNOMON_CONFIG_DIR", str(config_with_2024(root)))
    try:
        store = copy_demo_zones(demo, root / "store")
        results, per_year_states = {}, {}
        for year in (2022, 2023):
            results[year] = run_year(year, str(demo["exports"]), str(store))
            per_year_states[year] = task_states()
        panel_before = {year: _panel_ids(store, year) for year in (2022, 2023)}
        only_new = root / "drop-2024"  # this spring's drop folder: only the new export
        write_year(2024, only_new)
        results[2024] = run_year(2024, str(only_new), str(store))
    finally:
        mp.undo()
    releases = {year: read_tables(latest_release(store, year)) for year in (2022, 2023, 2024)}
    return {
        "store": store,
        "results": results,
        "panel_before": panel_before,
        "tables": releases,
        "states": per_year_states,
    }


def _panel_ids(store: Path, year: int) -> pd.Series:
    """Every firm's panel_id by response_id; every respondent table of the year must agree."""
    frames = [pd.read_parquet(p) for p in sorted(glob.glob(str(store / "processed" / str(year) / "respondents-*")))]
    assert frames
    ids = [f.set_index("response_id")["panel_id"].sort_index() for f in frames]
    for other in ids[1:]:
        pd.testing.assert_series_equal(other, ids[0])
    return ids[0]


def _k01(tables: pd.DataFrame, year: int) -> pd.DataFrame:
    rows = tables[(tables["table_id"] == "K01") & (tables["year"] == year)]
    return rows[["item", "stat", "value", "n", "flag"]].reset_index(drop=True)


def test_every_firm_keeps_its_panel_id(rolled: dict) -> None:
    for year in (2022, 2023):
        after = _panel_ids(rolled["store"], year)
        pd.testing.assert_series_equal(after, rolled["panel_before"][year])


def test_k01_figures_of_earlier_releases_are_unchanged(rolled: dict) -> None:
    tables = rolled["tables"]
    own_2022, own_2023 = _k01(tables[2022], 2022), _k01(tables[2023], 2023)
    repeat = own_2022[(own_2022["item"] == "repeat_respondents") & (own_2022["stat"] == "n")]
    assert repeat["value"].iloc[0] > 0 and repeat["flag"].iloc[0] == ""  # linked with 2021, not [x]
    pd.testing.assert_frame_equal(_k01(tables[2023], 2022), own_2022)
    pd.testing.assert_frame_equal(_k01(tables[2024], 2022), own_2022)  # the oldest year of 2024's window
    pd.testing.assert_frame_equal(_k01(tables[2024], 2023), own_2023)


def test_new_and_dropped_items_follow_the_questionnaire(rolled: dict) -> None:
    t13 = rolled["tables"][2024]
    t13 = t13[t13["table_id"] == "T13"]

    def cells(item: str, year: int) -> pd.DataFrame:
        return t13[(t13["item"] == item) & (t13["year"] == year)]

    assert (cells("tech_quantum", 2024)["flag"] == "").all() and cells("tech_quantum", 2024)["n"].gt(0).all()
    for year in (2022, 2023):  # not asked before 2024
        assert (cells("tech_quantum", year)["flag"] == "x").all() and len(cells("tech_quantum", year))
    assert (cells("tech_blockchain", 2024)["flag"] == "x").all() and len(cells("tech_blockchain", 2024))
    assert (cells("tech_blockchain", 2023)["flag"] == "").all()
    # The renumbered item (delivery_focus, Q32 -> Q33) is read from its new column: T25's groups exist.
    t25 = rolled["tables"][2024]
    assert (t25[(t25["table_id"] == "T25") & (t25["year"] == 2024)]["n"].fillna(0) > 0).any()


def test_comparison_years_come_from_the_archive(rolled: dict) -> None:
    result = rolled["results"][2024]
    assert result["new_release"] is True
    # The 2024 drop folder held no 2022 or 2023 export; their figures are in the release all the same.
    tables = rolled["tables"][2024]
    k02 = tables[(tables["table_id"] == "K02") & (tables["year"].isin([2022, 2023]))]
    assert len(k02) == 2 and k02["value"].notna().all()


def test_a_new_table_recomputes_no_years_data(rolled: dict) -> None:
    """tables.yaml gained an item (D35): the years' own steps come from the store's cache, and only
    the steps that combine the years are computed again."""
    for year, states in rolled["states"].items():
        assert_cached(states, YEAR_STAGES, year)
        assert states["indicators"] == ["Completed"] and states["models"] == ["Completed"], (year, states)
