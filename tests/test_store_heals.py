"""A damaged object heals (issue 29): a stage whose cached result names a missing or changed object
is computed again and rewrites it; a content-addressed write checks what it would skip."""

from __future__ import annotations

from pathlib import Path

from innomon import refs, storage
from innomon.cli import run_year
from tests.conftest import copy_demo_store
from tests.helpers import latest_release, task_states


def _flip(path: Path) -> bytes:
    data = path.read_bytes()
    middle = len(data) // 2
    path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    return data


def test_a_flipped_byte_in_a_processed_object_heals_on_the_next_run_that_needs_it(demo: dict, tmp_path: Path) -> None:
    store = copy_demo_store(demo, tmp_path / "store")
    answers = sorted((store / "processed" / "2023").glob("answers-*.parquet"))
    assert len(answers) == 1
    whole = _flip(answers[0])
    tables_before = (latest_release(store, 2023) / "data" / "tables.csv").read_bytes()

    result = run_year(2023, str(demo["exports"]), str(store), refresh=["derive"])  # derive reads the answers
    states = task_states()
    assert states["ingest"].count("Completed") == 1  # 2023's: its cached result named a damaged object
    assert answers[0].read_bytes() == whole  # rewritten with the same bytes
    assert (latest_release(store, 2023) / "data" / "tables.csv").read_bytes() == tables_before
    assert result["run_id"] == latest_release(store, 2023).name

    run_year(2023, str(demo["exports"]), str(store))  # and the next run finds its cache whole again
    again = task_states()
    assert set(again["ingest"]) == {"Cached"} and set(again["derive"]) == {"Cached"}, again


def test_a_missing_processed_object_is_computed_again(demo: dict, tmp_path: Path) -> None:
    store = copy_demo_store(demo, tmp_path / "store")
    valid = sorted((store / "processed" / "2022").glob("valid-*.parquet"))
    assert len(valid) == 1
    whole = valid[0].read_bytes()
    valid[0].unlink()
    run_year(2023, str(demo["exports"]), str(store))
    assert task_states()["validate"].count("Completed") == 1  # 2022's, the one whose object was gone
    assert valid[0].read_bytes() == whole


def test_a_content_addressed_write_rewrites_a_damaged_object(tmp_path: Path) -> None:
    root = storage.as_uri(tmp_path)
    ref = refs.put_bytes(root, "x", b"the figures", "txt")
    path = storage.local_path(ref["uri"])
    path.write_bytes(b"the fiXures")
    assert refs.damaged({"a": [ref]}) == [ref["uri"]]
    again = refs.put_bytes(root, "x", b"the figures", "txt")
    assert again == ref and path.read_bytes() == b"the figures"
    assert refs.damaged({"a": [ref]}) == []
