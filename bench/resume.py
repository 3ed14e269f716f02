"""Benchmark: the full run of a year, the resumed run after a failed publish, and the publish step.

A fault (a file where the year's published folder belongs) makes publish fail; after removing it, a
new run with the same inputs takes every finished step from cache. Prints the three wall times.
Usage: python bench/resume.py   (uses the configured demo sizes)
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def main() -> None:
    from innomon.cli import main as cli
    from innomon.cli import run_year
    from innomon.synth.export import write_year

    root = Path(tempfile.mkdtemp(prefix="innomon-resume-"))
    for year in (2021, 2022, 2023):
        write_year(year, root / "exports")
    for year in (2021, 2022):
        run_year(year, str(root / "exports"), str(root / "store"))
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
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
