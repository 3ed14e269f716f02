"""Same inputs, same config, same code: identical bytes, and the finished steps come from cache."""

from __future__ import annotations

from pathlib import Path

from innomon.cli import main, run_year
from tests.conftest import copy_demo_store
from tests.helpers import YEAR_STAGES, assert_cached, latest_release, task_states


def test_second_run_is_identical_and_cached(demo: dict, tmp_path: Path) -> None:
    store = copy_demo_store(demo, tmp_path / "store")
    release = latest_release(store, 2023)
    before = {p: (release / p).read_bytes() for p in ("data/tables.csv", "data/models.csv", "data/model_fit.csv")}
    result = run_year(2023, str(demo["exports"]), str(store))
    states = task_states()
    assert latest_release(store, 2023) == release and result["new_release"] is False
    for path, data in before.items():
        assert (release / path).read_bytes() == data, path
    assert_cached(states, (*YEAR_STAGES, "indicators", "models"))
    assert states["publish"] == ["Completed"]


def test_steps_option_recomputes_only_that_stage(demo: dict, tmp_path: Path) -> None:
    store = str(copy_demo_store(demo, tmp_path / "store"))
    args = ["run", "--year", "2023", "--raw-root", str(demo["exports"]), "--store", store, "--steps", "models,weights"]
    assert main(args) == 0  # the command line takes every stage of the flow (weights was refused once)
    states = task_states()
    assert states["models"] == ["Completed"]
    assert states["weights"] == ["Completed"]  # the current year's weights (the only year weighted)
    assert all(s == "Cached" for s in states["indicators"])


def test_a_moved_store_resumes_from_its_own_cache(demo: dict, tmp_path: Path) -> None:
    """A store copied elsewhere and the original gone (a restored backup, another disk): every step
    is found in the copy's own cache, and its references resolve in the copy, not the original."""
    import shutil

    first, moved = copy_demo_store(demo, tmp_path / "first"), tmp_path / "moved"
    run_year(2023, str(demo["exports"]), str(first))  # the copy's cached results name no location
    shutil.move(first, moved)
    result = run_year(2023, str(demo["exports"]), str(moved))
    states = task_states()
    assert_cached(states, (*YEAR_STAGES, "indicators", "models"))
    assert result["new_release"] is False and str(moved) in result["manifest"]
    release = latest_release(moved, 2023)
    assert (release / "data/tables.csv").read_bytes() == (
        latest_release(demo["store"], 2023) / "data/tables.csv"
    ).read_bytes()
