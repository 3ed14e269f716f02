"""Benchmark: the full run of a year, the resumed run after a failed publish, and the publish step.

A fault (a file where the year's published folder belongs) makes publish fail; after removing it, a
new run with the same inputs takes every finished step from cache. Prints the three wall times.
Usage: python bench/resume.py   (uses the configured demo sizes)
"""

from __future__ import annotations

import os
import platform
import time

os.environ.setdefault("INNOMON_DEMO", "1")  # synthetic firms: the built-in demo key, said so (innomon.keys)

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _publish_task_seconds() -> float:
    """`total_run_time` of the publish task in the latest flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        run = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)[0]
        deadline = time.monotonic() + 30  # task runs reach the API as events, a moment after the flow run
        while True:
            tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
            done = [t for t in tasks if t.name.startswith("publish") and t.state and t.state.is_final()]
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    return max(t.total_run_time.total_seconds() for t in done)


def main() -> None:
    from innomon.api import PrefectApi

    with PrefectApi():  # one API for every step (the configured server, or a local one)
        measure()


def measure() -> None:
    from demo_years import exports_with_earlier_years

    from innomon.cli import main as cli
    from innomon.cli import run_year

    root = exports_with_earlier_years("innomon-resume-")
    published = root / "store" / "published"
    (published / "2023").write_text("fault")
    t = time.perf_counter()
    code = cli(["run", "--year", "2023", "--raw-root", str(root / "exports"), "--store", str(root / "store")])
    failed = time.perf_counter() - t
    (published / "2023").unlink()
    t = time.perf_counter()
    run_year(2023, str(root / "exports"), str(root / "store"))
    resumed = time.perf_counter() - t
    t = time.perf_counter()
    run_year(2023, str(root / "exports"), str(root / "store"), refresh=["publish"])
    publish_only = time.perf_counter() - t
    print(f"full run of 2023 up to the failed publish (exit {code}, incl. 2 publish retries): {failed:.1f} s")
    print(f"resumed run (all but publish from cache): {resumed:.1f} s")
    print(f"run with only publish recomputed: {publish_only:.1f} s")
    print(f"the publish step's own time (task run, last run): {_publish_task_seconds():.1f} s")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
