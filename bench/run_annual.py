"""Benchmark: synthesise 2021-2023 and time the annual runs (cold, then warm from cache).

Prints its figures; results are recorded by hand in bench/RESULTS.md with the machine they ran on.
Usage: python bench/run_annual.py [N_PER_YEAR]
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def main() -> None:
    from innomon.cli import run_year
    from innomon.synth.export import write_year

    n = int(sys.argv[1]) if len(sys.argv) > 1 else None
    root = Path(tempfile.mkdtemp(prefix="innomon-bench-"))
    t0 = time.perf_counter()
    for year in (2021, 2022, 2023):
        write_year(
            year, root / "exports", n=None if n is None else int(n * {2021: 400, 2022: 430, 2023: 423}[year] / 423)
        )
    print(f"synth 3 years: {time.perf_counter() - t0:.1f} s")
    for label in ("cold", "warm"):
        for year in (2021, 2022, 2023):
            t = time.perf_counter()
            run_year(year, str(root / "exports"), str(root / "store"))
            print(f"run {year} ({label}): {time.perf_counter() - t:.1f} s")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
