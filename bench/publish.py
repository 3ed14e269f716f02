"""Benchmark: building one year's bundle (charts, workbook, report draft, data files), the publish
step's own work and the part of every fresh run that the tests pay most often.

Runs 2021-2023 of the demo into a temporary store once, then builds 2023's bundle from its stored
tables and models `--repeat` times (charts drawn in the worker processes, as in a run) and prints
each time, the median, and the time of the charts, the workbook and the draft on their own.
Usage: python bench/publish.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("INNOMON_DEMO", "1")  # synthetic firms: the built-in demo key, said so (innomon.keys)

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from innomon.api import PrefectApi

    with PrefectApi():
        release = _demo_release()
    measure(release, args.repeat)


def _demo_release() -> dict:
    """The demo's 2023 release in a temporary store (the run's own result)."""
    from demo_years import exports_with_earlier_years

    from innomon.cli import run_year

    root = exports_with_earlier_years("innomon-publish-")
    return run_year(2023, str(root / "exports"), str(root / "store"))


def measure(release: dict, repeat: int) -> None:
    """Time `bundle_files` on the release's own inputs, and its three writers apart."""
    import io
    import json

    import pandas as pd

    from innomon import config, storage
    from innomon.config import config_dir
    from schemas.cells import read_tables_csv
    from tasks.publish.concept import build_concept
    from tasks.publish.stage import bundle_files, chart_assets
    from tasks.publish.workbook import build_workbook

    base = release["release"]
    manifest = json.loads(storage.read_bytes(storage.join(base, "manifest.json")))
    files = {name: storage.read_bytes(storage.join(base, name)) for name in ("data/tables.csv",)}
    files["data/models.csv"] = storage.read_bytes(storage.join(base, "data/models.csv"))
    files["data/model_fit.csv"] = storage.read_bytes(storage.join(base, "data/model_fit.csv"))
    reports = json.loads(storage.read_bytes(storage.join(base, "validation/report.json")))["years"]
    cfg = config.load_typed(2023)
    meta = {k: v for k, v in manifest.items() if k not in ("files", "charts")}
    args = (files["data/tables.csv"], files["data/models.csv"], files["data/model_fit.csv"], reports, cfg)
    bundle_files(*args, dict(meta))  # the chart workers start and import matplotlib once
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        bundle_files(*args, dict(meta))
        times.append(time.perf_counter() - t)
    cells = read_tables_csv(files["data/tables.csv"])
    models = pd.read_csv(io.BytesIO(files["data/models.csv"]))
    fits = pd.read_csv(io.BytesIO(files["data/model_fit.csv"]), dtype={"value": str}, keep_default_na=False)
    parts = {}
    t = time.perf_counter()
    chart_files, charts = chart_assets(cells, cfg)
    parts["charts (worker processes)"] = time.perf_counter() - t
    t = time.perf_counter()
    build_workbook(cells, cfg, dict(meta), models, fits)
    parts["workbook"] = time.perf_counter() - t
    pictures = {c["id"]: (chart_files[c["png"]], c["alt_text"]) for c in charts}
    assert cfg.report is not None and cfg.report_file is not None
    template = (config_dir() / cfg.report_file).parent / cfg.report.template
    t = time.perf_counter()
    build_concept(cells, models, fits, cfg, dict(meta), pictures, template)
    parts["report draft"] = time.perf_counter() - t
    print(f"bundle of 2023, {repeat} builds: " + ", ".join(f"{x:.2f}" for x in times) + " s")
    print(f"median {statistics.median(times):.2f} s")
    for name, seconds in parts.items():
        print(f"  {name}: {seconds:.2f} s")
    sizes = {p: len(b) for p, b in chart_files.items() if p.endswith(".png")}
    print(f"  chart PNGs: {len(sizes)} files, {sum(sizes.values()) / 1e6:.2f} MB")
    print(
        f"machine: {platform.node()}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
