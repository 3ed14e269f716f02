"""Command-line benchmark: what a person waits for, each command a fresh process (issue 12).

Prints, on this machine:
1. `innomon --help` (median of 5).
2. The Prefect API's start on its own, by phase, in a brand-new and in a used `PREFECT_HOME`:
   importing the server, creating/migrating the database, registering block types, building the
   app; and the time to a healthy `/api/health` of the local API the CLI starts
   (`innomon.api.LocalApi`) beside Prefect's own ephemeral server settings (block registration on).
3. Three years into an empty store as three `innomon run` commands (local API), then a rerun of
   2023 with nothing changed: with the local API, and against a running `prefect server start`.
4. The newcomer's first run: `innomon demo` with a brand-new `PREFECT_HOME` and no bytecode at all
   (`PYTHONPYCACHEPREFIX` pointing at an empty folder, so every module, the libraries' too, is
   compiled again): it must pass, and its time is printed.

    python bench/cli.py [--repeat K] [--skip-first-run]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scale import start_server  # bench/scale.py: a real `prefect server start` on a free port

os.environ.setdefault("INNOMON_DEMO", "1")  # synthetic firms: the built-in demo key, said so (innomon.keys)

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
INNOMON = str(BIN / "innomon")
YEARS = (2021, 2022, 2023)

PHASES = r"""
import asyncio, os, time
t0 = time.perf_counter()
import prefect.server.api.server as srv
t1 = time.perf_counter()
from prefect.server.database import provide_database_interface
db = provide_database_interface()
async def main():
    a = time.perf_counter(); await db.create_db(); b = time.perf_counter()
    from prefect.server.models.block_registration import run_block_auto_registration
    import prefect.plugins
    prefect.plugins.load_prefect_collections()
    c = time.perf_counter()
    session = await db.session()
    async with session:
        await run_block_auto_registration(session=session)
    d = time.perf_counter()
    return b - a, c - b, d - c
migrate, plugins, blocks = asyncio.run(main())
a = time.perf_counter(); srv.create_app(ephemeral=True, final=True); app = time.perf_counter() - a
print(f"{t1 - t0:.2f} {migrate:.2f} {plugins:.2f} {blocks:.2f} {app:.2f}")
"""


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_LOGGING_LEVEL")}
    return {**base, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


def timed(cmd: list[str], **kw: object) -> tuple[float, subprocess.CompletedProcess[str]]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=PROJECT, **kw)  # type: ignore[call-overload]
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return elapsed, proc


def local_api_ready(home: Path, registration: bool) -> float:
    """Seconds to a healthy local API (the CLI's), optionally with Prefect's block registration on."""
    code = (
        "import os, sys\n"
        "from innomon import api\n"
        "if sys.argv[1] == 'on':  # Prefect's defaults: block registration and automations on\n"
        "    for key in ('PREFECT_API_BLOCKS_REGISTER_ON_START', 'PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION',\n"
        "                'PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED'):\n"
        "        api.SERVER_ENV.pop(key)\n"
        "local = api.LocalApi.start(); print(f'{local.wait_ready():.2f}'); local.stop()\n"
    )
    home_env = env(PREFECT_HOME=str(home), INNOMON_LOCAL_API_IDLE="0")
    _, proc = timed([sys.executable, "-c", code, "on" if registration else "off"], env=home_env)
    return float(proc.stdout.strip().splitlines()[-1])


def api_phases(home: Path) -> list[float]:
    _, proc = timed([sys.executable, "-c", PHASES], env=env(PREFECT_HOME=str(home)))
    return [float(x) for x in proc.stdout.split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3, help="runs of each rerun measure (median reported)")
    parser.add_argument("--skip-first-run", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    work = Path(tempfile.mkdtemp(prefix="innomon-bench-cli-"))
    try:
        helps = [timed([INNOMON, "--help"])[0] for _ in range(5)]
        print(f"innomon --help: median {statistics.median(helps):.2f} s (runs {', '.join(f'{h:.2f}' for h in helps)})")

        fresh = work / "phases-home"
        names = ("import server", "create/migrate database", "import block collections", "register blocks", "app")
        for label in ("brand-new PREFECT_HOME", "used PREFECT_HOME"):
            phases = api_phases(fresh)
            print(f"API phases, {label}: " + ", ".join(f"{n} {v:.2f} s" for n, v in zip(names, phases, strict=True)))
        new_home = work / "ready-home"
        print(f"local API ready, brand-new PREFECT_HOME: {local_api_ready(new_home, False):.2f} s")
        used_off = [local_api_ready(new_home, False) for _ in range(args.repeat)]
        used_on = [local_api_ready(new_home, True) for _ in range(args.repeat)]
        print(
            f"local API ready, used PREFECT_HOME: median {statistics.median(used_off):.2f} s without block "
            f"registration and automations, {statistics.median(used_on):.2f} s with them (Prefect's defaults)"
        )

        home = work / "home"
        data = work / "data"
        for year in YEARS:
            timed(
                [INNOMON, "synth", "--year", str(year), "--out", str(data / "exports")], env=env(PREFECT_HOME=str(home))
            )
        api_phases(home)  # the home's database exists, as on an operator's machine after the first run
        store = data / "store"
        times = []
        for year in YEARS:
            t, proc = timed(
                [INNOMON, "run", "--year", str(year), "--raw-root", str(data / "exports"), "--store", str(store)],
                env=env(PREFECT_HOME=str(home)),
            )
            times.append(t)
        print(
            f"three years into an empty store, three commands (local API): {sum(times):.1f} s "
            f"({', '.join(f'{t:.1f}' for t in times)})"
        )
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        warn = sum("warn" in line.lower() for line in lines)
        print(f"output of `innomon run --year 2023`: {len(lines)} lines, {warn} with a warning")
        rerun = [INNOMON, "run", "--year", "2023", "--raw-root", str(data / "exports"), "--store", str(store)]
        local = [timed(rerun, env=env(PREFECT_HOME=str(home)))[0] for _ in range(args.repeat)]
        print(
            f"rerun, nothing changed, local API reused: median {statistics.median(local):.2f} s "
            f"({', '.join(f'{t:.2f}' for t in local)})"
        )
        timed([INNOMON, "local-api", "--stop"], env=env(PREFECT_HOME=str(home)))
        own = [timed(rerun, env=env(PREFECT_HOME=str(home), INNOMON_LOCAL_API_IDLE="0"))[0] for _ in range(args.repeat)]
        print(
            f"rerun, nothing changed, a local API started and stopped by the command: median "
            f"{statistics.median(own):.2f} s ({', '.join(f'{t:.2f}' for t in own)})"
        )
        server, url = start_server(work / "server-home")
        try:
            timed(rerun, env=env(PREFECT_HOME=str(home), PREFECT_API_URL=url))  # warm the server
            running = [
                timed(rerun, env=env(PREFECT_HOME=str(home), PREFECT_API_URL=url))[0] for _ in range(args.repeat)
            ]
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(
            f"rerun, nothing changed, running prefect server: median {statistics.median(running):.2f} s "
            f"({', '.join(f'{t:.2f}' for t in running)})"
        )

        if not args.skip_first_run:
            first_home = work / "first-home"
            pycache = work / "empty-pycache"
            pycache.mkdir()
            t, proc = timed(
                [INNOMON, "demo", "--out", str(work / "demo")],
                env=env(PREFECT_HOME=str(first_home), PYTHONPYCACHEPREFIX=str(pycache)),
            )
            print(f"first run (brand-new PREFECT_HOME, no bytecode): innomon demo passed in {t:.1f} s")
            timed([INNOMON, "local-api", "--stop"], env=env(PREFECT_HOME=str(first_home)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
