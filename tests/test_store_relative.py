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


def _s3_context(bucket: str, folder: str) -> SimpleNamespace:
    block = SimpleNamespace(bucket_name=bucket, bucket_folder=folder)  # the fields of prefect-aws's S3Bucket
    return SimpleNamespace(task=SimpleNamespace(name="derive"), result_store=SimpleNamespace(result_storage=block))


def test_an_s3_store_with_its_results_inside_keeps_its_keys_across_locations() -> None:
    def key(store: str, bucket: str, folder: str) -> str:
        return cache_key(_s3_context(bucket, folder), _parameters_at(store))

    inside = key("s3://one/stores/a", "one", "stores/a/processed/_prefect-results")
    assert inside == key("s3://two/b", "two", "b/processed/_prefect-results")
    # results beside the store (a shared folder), in a folder that only starts with its name, or in
    # another bucket: the store stays in the key
    shared = key("s3://one/stores/a", "one", "results")
    assert shared != key("s3://one/stores/b", "one", "results")
    assert key("s3://one/dask", "one", "dask-store/r") != key("s3://one/dask2", "one", "dask-store/r")
    assert key("s3://one/a", "two", "a/processed/_prefect-results") != key("s3://one/b", "two", "b/processed/r")


def _parameters_at(store: str) -> dict:
    processed = storage.zone_root(store, "processed")
    ingested = {"answers": {"uri": storage.join(processed, "2023", "answers-0123.parquet"), "sha256": "ab"}}
    return {"ingested": ingested, "cfg_ref": {"uri": "s3://elsewhere/cfg.json"}, "processed_root": processed}


def test_a_step_is_keyed_on_and_given_only_the_fields_it_reads(tmp_path: Path) -> None:
    """D36: a validated year's report travels beside the data; a step that declares what it reads is
    keyed on those fields only, and is given only those fields."""
    from innomon.prefect_support import narrow, reading_only

    reads = {"validated": ("valid",)}
    store = tmp_path / "store"
    processed = storage.zone_root(str(store), "processed")
    data = {"valid": {"uri": storage.join(processed, "2023", "valid-01.parquet"), "sha256": "ab"}}
    one = {"validated": {**data, "report": {"reader": "utf-8, comma"}}, "processed_root": processed}
    other = {"validated": {**data, "report": {"reader": "cp1252, semicolon"}}, "processed_root": processed}
    context = _context(store / "processed" / "_prefect-results")
    assert cache_key(context, narrow(one, reads)) == cache_key(context, narrow(other, reads))
    assert cache_key(context, one) != cache_key(context, other)  # undeclared, the report is in the key

    def step(validated: dict, processed_root: str) -> str:
        return validated["valid"]["sha256"]

    def greedy(validated: dict, processed_root: str) -> str:
        return validated["report"]["reader"]

    assert reading_only(step, reads)(one["validated"], processed) == "ab"
    with pytest.raises(KeyError, match="report"):
        reading_only(greedy, reads)(one["validated"], processed_root=processed)


def _echo(processed_root: str) -> str:
    return f"ran with {processed_root}"


def test_a_stage_task_pickles_as_a_reference_to_its_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """A distributed runner (Dask) pickles every task it sends. A stage's function travels as the
    name of its module's task, found on the other side by importing the module (the Dask test runs
    that in its worker processes); it is not pickled by value with its code and the globals it
    reaches. A wrapped function that no importable module's task holds still pickles, by value."""
    import pickle
    import sys
    from types import SimpleNamespace

    import cloudpickle

    from innomon.prefect_support import bound_to_store, stage_function
    from tasks.indicators.stage import table_task
    from tasks.link.stage import link_task
    from tasks.publish.stage import publish_task

    submitted = table_task.with_options(refresh_cache=True)  # what the compute flow maps over
    again = cloudpickle.loads(cloudpickle.dumps(submitted))
    assert again.fn is table_task.fn  # the module's own function, not a copy rebuilt from its code
    assert again.refresh_cache is True
    linked = cloudpickle.loads(cloudpickle.dumps(link_task))  # a step keyed on what it reads
    assert linked.cache_key_fn.reads == {"validated": ("year", "valid", "identities", "counts")}
    for task in (link_task, publish_task):  # one narrowed to what it reads, one bound to its store
        assert pickle.loads(pickle.dumps(task.fn)) is task.fn
    assert stage_function("tasks.link.stage", "link_task") is link_task.fn

    local = bound_to_store(_echo)  # held by no task of `tests.test_store_relative`
    copied = cloudpickle.loads(cloudpickle.dumps(local))
    assert copied is not local and copied(processed_root="") == "ran with "

    # A task in a script: a worker's `__main__` is another module, so its function goes by value.
    def scripted(processed_root: str) -> str:
        return f"script with {processed_root}"

    scripted.__module__, scripted.__qualname__ = "__main__", "scripted"
    wrapped = bound_to_store(scripted)
    monkeypatch.setattr(sys.modules["__main__"], "scripted", SimpleNamespace(fn=wrapped), raising=False)
    assert wrapped.__reduce__()[0] is not stage_function
    assert cloudpickle.loads(cloudpickle.dumps(wrapped))(processed_root="") == "script with "
