"""Store-relative references (decision D34): cached results name no store location, and a store's
location stays in the cache key when the results are kept outside it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from innomon import refs, storage
from innomon.errors import InnomonError
from innomon.prefect_support import cache_key, in_store


def _context(results: Path) -> SimpleNamespace:
    storage_block = SimpleNamespace(basepath=str(results))
    return SimpleNamespace(
        task=SimpleNamespace(name="derive"), result_store=SimpleNamespace(result_storage=storage_block)
    )


def _parameters(store: Path) -> dict:
    processed = storage.zone_root(str(store), "processed")
    ingested = {"answers": {"uri": storage.join(processed, "2023", "answers-0123.parquet"), "sha256": "ab"}}
    return {"ingested": ingested, "cfg_ref": {"uri": "file:///elsewhere/cfg.json"}, "processed_root": processed}


def test_key_ignores_the_location_when_results_live_in_the_store(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    key_a = cache_key(_context(a / "processed" / "_prefect-results"), _parameters(a))
    key_b = cache_key(_context(b / "processed" / "_prefect-results"), _parameters(b))
    assert key_a == key_b
    # another input outside the store still changes the key
    other = _parameters(b) | {"cfg_ref": {"uri": "file:///elsewhere/cfg-2.json"}}
    assert cache_key(_context(b / "processed" / "_prefect-results"), other) != key_b


def test_key_names_the_store_when_results_are_shared(tmp_path: Path) -> None:
    shared = tmp_path / "shared-results"
    key_a = cache_key(_context(shared), _parameters(tmp_path / "a"))
    key_b = cache_key(_context(shared), _parameters(tmp_path / "b"))
    assert key_a != key_b
    assert key_a == cache_key(_context(shared), _parameters(tmp_path / "a"))


def test_results_are_written_store_relative_and_read_where_the_store_is(tmp_path: Path) -> None:
    def step(data: bytes, processed_root: str) -> dict:
        return refs.put_bytes(storage.join(processed_root, "2023"), "part", data, "bin")

    store = tmp_path / "store"
    ref = in_store(step, relative_result=True)(b"payload", storage.zone_root(str(store), "processed"))
    assert ref["uri"].startswith("store:processed/2023/part-") and str(tmp_path) not in str(ref)
    moved = tmp_path / "moved"
    store.rename(moved)
    with pytest.raises(InnomonError, match="no store is bound"):
        refs.get_bytes(ref)

    def reader(ref: dict, processed_root: str) -> bytes:
        return refs.get_bytes(ref)

    assert in_store(reader, relative_result=False)(ref, storage.zone_root(str(moved), "processed")) == b"payload"
    assert storage.relative({"x": [f"{moved.as_uri()}2/a"]}, moved.as_uri()) == {"x": [f"{moved.as_uri()}2/a"]}
