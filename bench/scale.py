"""Scale benchmark: synthetic years of N respondents, the annual flow for three years, per stage.

For each size it synthesises 2021-2023 (in a child process, not timed as part of the run), then in a
fresh child process runs the annual flow for 2021, 2022 and 2023 into an empty store (cold: the 2022
and 2023 runs take their comparison years from cache, as the yearly run does) and prints:
- the wall time of the three runs and of each stage (the task bodies' own time, summed);
- Prefect's share: flow wall time minus the sum of the task bodies' own time;
- the run process's peak memory (RSS, `ru_maxrss`).

The task bodies are timed by wrapping each task's function in this process only; the pipeline code
is unchanged. With `--server` (the default) a real `prefect server start` on a free loopback port is
started first and warmed, so the figures include a real API, as in production.

    python bench/scale.py                    # 423, 10000 and 100000 per year
    python bench/scale.py 423 10000          # chosen sizes
    python bench/scale.py --no-server 423    # a local API started by the run process instead
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("INNOMON_DEMO", "1")  # synthetic firms: the built-in demo key, said so (innomon.keys)

PROJECT = Path(__file__).resolve().parent.parent
YEARS = (2021, 2022, 2023)
# The report's sizes: 400, 430 and 423 responses; other sizes keep those proportions.
REPORT_SIZES = {2021: 400, 2022: 430, 2023: 423}


def sizes_for(n: int) -> dict[int, int]:
    return {y: round(n * REPORT_SIZES[y] / 423) for y in YEARS}


def scaled_configs(n: int, folder: Path) -> Path:
    """A copy of `configs/` whose invitation counts grow with the sample (a response rate above
    100% is refused by the output schema, rightly)."""
    import yaml

    target = folder / "configs"
    shutil.copytree(PROJECT / "configs", target)
    for year, size in sizes_for(n).items():
        path = target / f"{year}.yaml"
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        if cfg.get("invited"):
            text = path.read_text(encoding="utf-8")
            scaled = round(int(cfg["invited"]) * size / REPORT_SIZES[year])
            path.write_text(text.replace(f"invited: {cfg['invited']}", f"invited: {scaled}", 1), encoding="utf-8")
    return target


def synthesise(n: int, root: Path) -> None:
    """Write the three years' exports (child process entry)."""
    from innomon.synth.export import write_year

    for year, size in sizes_for(n).items():
        write_year(year, root / "exports", n=size)


def _timed(fn: Any, name: str, bodies: dict[str, float]) -> Any:
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            bodies[name] += time.perf_counter() - t

    return wrapper


def run_three_years(root: Path, store: Path) -> dict[str, Any]:
    """Run 2021-2023 into an empty store, timing the task bodies (child process entry)."""
    from prefect import Task

    import flows.annual as annual
    from innomon.cli import run_year

    bodies: dict[str, float] = defaultdict(float)
    for value in vars(annual).values():
        if isinstance(value, Task):
            value.fn = _timed(value.fn, value.name, bodies)
    from innomon.api import PrefectApi

    walls = {}
    with PrefectApi() as api:  # the configured server, or one local API for the three runs
        for year in YEARS:
            t = time.perf_counter()
            run_year(year, str(root / "exports"), str(store), api=api)
            walls[year] = time.perf_counter() - t
    wall = sum(walls.values())
    body = sum(bodies.values())
    return {
        "wall_s": wall,
        "wall_by_year_s": walls,
        "stages_s": dict(sorted(bodies.items(), key=lambda kv: -kv[1])),
        "task_bodies_s": body,
        "prefect_s": wall - body,
        "prefect_share": (wall - body) / wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    """A real Prefect server (SQLite) on loopback; returns when /api/health answers."""
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    prefect = str(Path(sys.executable).parent / "prefect")
    proc = subprocess.Popen(
        [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
                if r.status == 200:
                    return proc, api
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("prefect server did not start")


def _child(mode: str, n: int, root: Path, env: dict[str, str], store: str = "store") -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--root", str(root), "--store", store, str(n)],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"{mode} of n={n} failed (exit {out.returncode}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("sizes", nargs="*", type=int, default=[423, 10_000, 100_000])
    p.add_argument("--no-server", action="store_true")
    p.add_argument("--child", choices=["synth", "run"])
    p.add_argument("--root")
    p.add_argument("--store", default="store")
    p.add_argument("--repeat", type=int, default=1, help="runs per size (fresh store each); median reported")
    args = p.parse_args()
    if args.child:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        root = Path(args.root)
        if args.child == "synth":
            t = time.perf_counter()
            synthesise(args.sizes[0], root)
            print(json.dumps({"synth_s": time.perf_counter() - t}))
        else:
            print(json.dumps(run_three_years(root, root / args.store)))
        return

    work = Path(tempfile.mkdtemp(prefix="innomon-scale-"))
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = None
    if not args.no_server:
        server, api = start_server(work / "prefect-home")
        env["PREFECT_API_URL"] = api
        warm = work / "warm"
        _child("synth", 60, warm, env)  # warm the server (and the file cache) with a small run
        _child("run", 60, warm, env)
    sys.stdout.reconfigure(line_buffering=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"Prefect API: {'real server ' + env['PREFECT_API_URL'] if server else 'local (innomon.api)'}")
    results = {}
    try:
        for n in args.sizes:
            root = work / f"n{n}"
            size_env = {**env, "INNOMON_CONFIG_DIR": str(scaled_configs(n, root))}
            synth = _child("synth", n, root, size_env)
            runs = [_child("run", n, root, size_env, store=f"store-{k}") for k in range(args.repeat)]
            runs.sort(key=lambda r: r["wall_s"])
            res = runs[len(runs) // 2]  # the median run (its stages and memory are reported)
            results[n] = res
            if len(runs) > 1:
                print(f"n={n}: {len(runs)} runs, wall (s) " + ", ".join(f"{r['wall_s']:.1f}" for r in runs))
            stages = ", ".join(f"{k} {v:.2f}" for k, v in res["stages_s"].items())
            print(
                f"n={n} per year ({sizes_for(n)}): synth {synth['synth_s']:.1f} s (not in run); "
                f"three-year run {res['wall_s']:.1f} s "
                f"({', '.join(f'{y}: {w:.1f}' for y, w in res['wall_by_year_s'].items())}); "
                f"peak RSS {res['peak_rss_mb']:.0f} MB; task bodies {res['task_bodies_s']:.1f} s; "
                f"Prefect {res['prefect_s']:.1f} s = {100 * res['prefect_share']:.0f}%"
            )
            print(f"  stages (s): {stages}")
            shutil.rmtree(root / "exports", ignore_errors=True)
        if 10_000 in results and 100_000 in results:
            ratio = results[100_000]["wall_s"] / results[10_000]["wall_s"]
            print(f"time(100000) / time(10000) = {ratio:.2f}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
