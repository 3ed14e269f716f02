"""Worker processes that draw the charts while the workbook is written (see `Rendering`).

Kept apart from `tasks.publish.charts` so that starting the workers at the beginning of a run does not
import matplotlib into the flow's process.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

# Rendering is the slowest part of publishing (matplotlib, about 0.3 s a chart) and pure CPU, so the
# charts are drawn in worker processes while the workbook is written. The workers are forked from a
# forkserver that has imported the drawing code (`chart_server`): a clean single-threaded parent,
# safe to fork, unlike the flow's process with its threads. Same code, same rcParams: the same
# bytes. Any failure of the pool falls back to drawing in this process.
_POOL: ProcessPoolExecutor | None = None
_LOCK = threading.Lock()  # the prestart thread and a publish may ask for the pool at once


def _pool() -> ProcessPoolExecutor | None:
    global _POOL
    workers = min(4, os.cpu_count() or 1)
    if workers < 2 or os.environ.get("INNOMON_CHART_PROCESSES") == "0":
        return None
    with _LOCK:
        if _POOL is None:
            import multiprocessing

            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["tasks.publish.chart_server"])
            _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
            import atexit

            atexit.register(_POOL.shutdown, wait=True, cancel_futures=True)
        return _POOL


def _ready() -> bool:
    return True


def prestart() -> None:
    """Start the worker processes now, from a background thread (starting the forkserver takes a
    second or two), so they have imported matplotlib by the time a run publishes."""

    def start() -> None:
        pool = _pool()
        if pool is not None:
            try:
                pool.submit(_ready)
            except Exception:  # no pool: charts are drawn in-process later
                pass

    threading.Thread(target=start, name="chart-workers-prestart", daemon=True).start()


class Rendering:
    """Charts being drawn (in worker processes when available); `result()` gives them in order."""

    def __init__(self, jobs: list[tuple[Any, ...]]) -> None:
        self.jobs = jobs
        self.futures: list[Future] | None = None
        pool = _pool() if len(jobs) > 1 else None
        if pool is not None:
            try:
                from tasks.publish.charts import render

                self.futures = [pool.submit(render, *job) for job in jobs]
            except Exception:  # a broken pool: draw here instead
                self.futures = None

    def result(self) -> list[tuple[bytes, bytes, str]]:
        if self.futures is not None:
            try:
                return [f.result(timeout=300) for f in self.futures]
            except Exception:
                global _POOL
                _POOL = None  # do not reuse a pool that failed
        from tasks.publish.charts import render

        return [render(*job) for job in self.jobs]
