"""How every stage task is cached: inputs + config hash + code version (the stages that pseudonymise
also take the panel key's fingerprint as a parameter).

Prefect's default policy includes the flow run id, so a new run would recompute everything; ours is
keyed only on what determines the result, so a rerun of unchanged inputs reuses finished steps, a
Retry resumes at the failed step, and a code or config change recomputes (anchors.md section 3).

Where the store lives is no input of a result: keys and cached results name the store's objects
store-relative, so a copied or moved store resumes from its own cache (decision D34). The store's
location stays in the key only when the results are kept outside the store (a shared result
storage), where two stores must not answer for each other.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from innomon import keys, storage
from innomon.codeversion import code_version
from innomon.errors import ConfigError
from innomon.hashing import sha256_json


def run_key(env_name: str, key_id: str) -> bytes:
    """The panel key on this worker, checked against the fingerprint the run started with: a worker
    with another key would write pseudonyms that never meet the run's others."""
    key = keys.panel_key(env_name)
    if keys.fingerprint(key) != key_id:
        raise ConfigError(f"The panel key in {env_name} on this worker is not the key the run started with.")
    return key


def _results_inside(context: Any, store: str) -> bool:
    """Whether this task run keeps its result inside the store, so that the results travel with the
    store's objects: the CLI's default for a local store (`STORE/processed/_prefect-results`), or an
    S3 result storage whose folder lies under an S3 store (`s3://B/STORE/processed/_prefect-results`)."""
    result_storage = getattr(getattr(context, "result_store", None), "result_storage", None)
    if store.startswith("file://"):
        basepath = getattr(result_storage, "basepath", None)
        return bool(basepath) and Path(basepath).expanduser().resolve().is_relative_to(storage.local_path(store))
    bucket = getattr(result_storage, "bucket_name", None)
    if store.startswith("s3://") and bucket:
        folder = str(getattr(result_storage, "bucket_folder", "") or "").strip("/")
        return f"s3://{bucket}/{folder}/".startswith(store.rstrip("/") + "/")
    return False


def cache_key(context: Any, parameters: dict[str, Any]) -> str:
    """Cache key of a stage task run: its parameters with the store's URIs written store-relative."""
    root = parameters.get("processed_root")
    store = storage.store_of(root) if root else None
    return sha256_json(
        {
            "task": context.task.name,
            "code": code_version(),
            "parameters": storage.relative(parameters, store) if store else parameters,
            "store": None if store and _results_inside(context, store) else store,
        }
    )


class _StageFunction:
    """A stage function wrapped (`functools.update_wrapper`), so that Prefect sees the wrapped
    function's name, signature and docstring.

    A distributed runner (Dask) pickles each task it sends, with its function, and tokenises it too.
    A closure, or a function defined inside a factory, can only be pickled by value: cloudpickle
    then writes its code and walks every global it reaches: some 70 function reductions for each of
    a year's 38 submissions (each task is pickled several times, to tokenise it and to send it). So
    the wrapper pickles as the name of the module-level task that holds it (a task is bound to its
    function's name), and the other side imports that module: a worker runs its own installed copy
    of the stage, which must be the flow's commit. In a Dask run of the demo's 2023, the 38
    submissions took 6.4-6.9 s before and 4.4-4.6 s after. A wrapped function that no importable
    module's task holds (a test's own, or one defined in a script, whose `__main__` is another
    module in a worker) pickles by value, as before.

    The wrapper's own state lives in slots: Prefect copies the wrapper's `__dict__` into the task
    (`update_wrapper`), and the wrapped function must not travel in it by value."""

    __slots__ = ("__dict__", "_fn", "_signature")

    def __init__(self, fn: Callable[..., Any]) -> None:
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._signature = inspect.signature(fn)

    def _arguments(self) -> tuple[Any, ...]:
        """The constructor's arguments after `fn` (for pickling by value)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, '__module__', '?')}.{getattr(self, '__qualname__', '?')}>"

    def __reduce__(self) -> tuple[Any, ...]:
        module, name = getattr(self, "__module__", None) or "", getattr(self, "__name__", None) or ""
        if _task_function(sys.modules.get(module), name) is self and _importable_by_name(module):
            return stage_function, (module, name)
        return type(self), (self._fn, *self._arguments())


def _importable_by_name(module: str) -> bool:
    """Whether another process finds `module` by importing its name: not a script's `__main__`,
    nor a module Prefect loaded from a file path under a made-up name."""
    spec = getattr(sys.modules.get(module), "__spec__", None)
    return module != "__main__" and spec is not None and spec.name == module and not module.startswith("__prefect")


def _task_function(module: Any, name: str) -> Any:
    """The function of the task `name` of a loaded `module`, or None."""
    return getattr(getattr(module, name, None), "fn", None)


def stage_function(module: str, name: str) -> Callable[..., Any]:
    """The function of the task `name` of `module`: what a pickled `_StageFunction` resolves to."""
    fn = _task_function(importlib.import_module(module), name)
    if fn is None:
        raise pickle.UnpicklingError(f"{module} has no task {name}: is the flow's commit installed here?")
    return fn


class _InStore(_StageFunction):
    """See `in_store`."""

    __slots__ = ("_relative_result",)

    def __init__(self, fn: Callable[..., Any], relative_result: bool) -> None:
        super().__init__(fn)
        self._relative_result = relative_result

    def _arguments(self) -> tuple[Any, ...]:
        return (self._relative_result,)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        root = self._signature.bind_partial(*args, **kwargs).arguments.get("processed_root")
        if not root:
            return self._fn(*args, **kwargs)
        store = storage.store_of(root)
        with storage.within(store):
            result = self._fn(*args, **kwargs)
        return storage.relative(result, store) if self._relative_result else result


class _ReadingOnly(_StageFunction):
    """See `reading_only`."""

    __slots__ = ("_reads",)

    def __init__(self, fn: Callable[..., Any], reads: dict[str, tuple[str, ...]]) -> None:
        super().__init__(fn)
        self._reads = reads

    def _arguments(self) -> tuple[Any, ...]:
        return (self._reads,)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        bound = self._signature.bind_partial(*args, **kwargs)
        bound.arguments.update(narrow(bound.arguments, self._reads))
        return self._fn(*bound.args, **bound.kwargs)


def in_store(fn: Callable[..., Any], relative_result: bool) -> Callable[..., Any]:
    """`fn` run with the store of its `processed_root` argument bound, so that the
    store-relative references it is given resolve there; with `relative_result`, what it returns
    names that store's objects store-relative (what a cached step must persist)."""
    return _InStore(fn, relative_result)


def bound_to_store(fn: Callable[..., Any]) -> Callable[..., Any]:
    """For a task that is not cached but reads what cached steps returned (publish, QA artifacts)."""
    return in_store(fn, relative_result=False)


def reading_only(fn: Callable[..., Any], reads: dict[str, tuple[str, ...]]) -> Callable[..., Any]:
    """`fn` given only the fields it reads of its dict arguments (`reads`: argument name -> fields).

    A step's cache key is computed from its arguments; an argument that carries more than the step
    reads (a year's validation report beside its data) would change the key without changing the
    result. The same narrowing applied to the call means a step that starts reading another field
    fails with a KeyError in the tests instead of being served a stale result (decision D36)."""
    return _ReadingOnly(fn, reads)


def narrow(arguments: dict[str, Any], reads: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """`arguments` with each dict named in `reads` cut down to its listed fields (None stays None)."""
    out = dict(arguments)
    for name, fields in reads.items():
        if out.get(name) is not None:
            out[name] = {field: out[name][field] for field in fields}
    return out


def damaged_result(context: Any, key: str, processed_root: str | None) -> list[str]:
    """The objects a cached result under `key` names that are missing or damaged ([] when there is no
    such result, or it is whole). A stage whose cached result is damaged is recomputed under another
    key and rewrites its objects (`refs.put_bytes`), so the store heals itself on the next run that
    needs them; the next run after that finds the original key's result whole again."""
    store = getattr(context, "result_store", None)
    if store is None or not processed_root:
        return []
    try:
        if not store.exists(key):
            return []
        value = store.read(key).result
    except Exception:  # an unreadable record is Prefect's to handle: it recomputes
        return []
    from innomon import refs

    with storage.within(storage.store_of(processed_root)):
        return refs.damaged(value)


class StageKey:
    """The cache key function of a cached stage: `cache_key` of the fields the step reads. A class
    rather than a closure so that a task pickles small (see `_StageFunction`)."""

    def __init__(self, reads: dict[str, tuple[str, ...]]) -> None:
        self.reads = reads

    def __call__(self, context: Any, parameters: dict[str, Any]) -> str:
        key = cache_key(context, narrow(parameters, self.reads))
        broken = damaged_result(context, key, parameters.get("processed_root"))
        if broken:  # the cached result names an object that is gone or changed: compute it again
            return sha256_json({"heal": key, "damaged": broken})
        return key


def cached_stage(
    name: str, report: bool = True, reads: dict[str, tuple[str, ...]] | None = None
) -> Callable[[Callable[..., Any]], Any]:
    """The task decorator of a cached stage (ingest, derive, validate, link, indicators, models, and
    their per-table and per-model parts): results persisted as JSON references, keyed by
    `cache_key`, and (`report`) one console line when the stage finishes, computed or cached
    (`innomon.stage_report`). `reads`: the fields the step reads of its dict arguments, the only
    ones in its key (`reading_only`)."""
    from prefect import task

    from innomon import stage_report

    declared = reads or {}
    key = StageKey(declared)

    def decorate(fn: Callable[..., Any]) -> Any:
        body = reading_only(fn, declared) if declared else fn
        return task(
            name=name,
            cache_key_fn=key,
            persist_result=True,
            result_serializer="json",
            on_completion=[stage_report.hook] if report else None,
        )(in_store(body, relative_result=True))

    return decorate
