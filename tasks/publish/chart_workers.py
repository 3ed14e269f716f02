"""Worker processes that draw the charts while the workbook is written (see `Rendering`).

Kept apart from `tasks.publish.charts` so that starting the workers does not import matplotlib into
the flow's process. The publish stage starts them when it first draws.
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
_LOCK = threading.Lock()  # two publishes of one process (threads of a task runner) may ask at once


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
