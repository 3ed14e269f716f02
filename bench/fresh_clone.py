"""`make test` on a fresh clone, as CI runs it, with what the machine did meanwhile.

    python bench/fresh_clone.py [--repeat N] [--dir /tmp/fresh] [--target test]

One row per run: the wall time of `make TARGET` (install included), pytest's own time, the CPU the
run used (user + system of every process it waited for; a server left running is not counted),
and two figures of the machine: the time the hypervisor took from this machine's CPUs (steal,
from /proc/stat) and a fixed Python loop timed before and after (`for i in range(20_000_000):
s += i`). Two runs of the same commit have differed
by a minute and more here; the steal time and the loop tell a slow machine from a slow change.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
TIMEOUT = 3600  # seconds: a hung run is a failed run, not a hung benchmark


def loop_seconds() -> float:
    """The fixed loop, timed in a fresh interpreter (the same one for every run)."""
    code = (
        "import time\nt = time.perf_counter()\ns = 0\n"
        "for i in range(20_000_000): s += i\nprint(time.perf_counter() - t)"
    )
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def cpu_ticks() -> dict[str, int]:
    """The machine's CPU time so far by kind (clock ticks), from the first line of /proc/stat."""
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return dict(zip(names, map(int, fields), strict=False))


def one_run(target: str, folder: Path) -> dict[str, object]:
    if folder.exists() and any(folder.iterdir()) and not (folder / ".git").exists():
        sys.exit(f"{folder} holds something that is not a clone; not removing it")
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(PROJECT), str(folder)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    before_loop, before_ticks = loop_seconds(), cpu_ticks()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.strftime("%H:%M")
    t0 = time.perf_counter()
    done = subprocess.run(["make", target], cwd=folder, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ticks, after_loop = cpu_ticks(), loop_seconds()
    hz = os.sysconf("SC_CLK_TCK")
    summary = re.findall(r"^=*\s*(.*) in ([\d.]+)s(?: \(|\s*=*$)", done.stdout, re.M)  # pytest's last line
    passed = re.findall(r"(\d+) passed", summary[-1][0]) if summary else []
    return {
        "start": started,
        "exit": done.returncode,
        "passed": int(passed[0]) if passed else 0,
        "wall": wall,
        "pytest": float(summary[-1][1]) if summary else float("nan"),
        "cpu": (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime),
        "steal": (ticks["steal"] - before_ticks["steal"]) / hz,
        "loop": (before_loop, after_loop),
        "tail": done.stdout[-2000:] + "\n--- stderr ---\n" + done.stderr[-2000:],
    }


def minutes(seconds: float) -> str:
    if seconds != seconds:  # NaN: pytest printed no summary
        return "-"
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/fresh"))
    parser.add_argument("--target", default="test")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True, text=True)
    print(f"commit {commit.stdout.strip()}, {os.cpu_count()} CPUs, `make {args.target}` on a fresh clone in {args.dir}")
    print("| start | exit | tests | `make` | pytest | CPU (user + sys) | steal | loop before / after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for _ in range(args.repeat):
        r = one_run(args.target, args.dir)
        loop = r["loop"]
        print(
            f"| {r['start']} | {r['exit']} | {r['passed']} | {minutes(r['wall'])} | {minutes(r['pytest'])} | "
            f"{minutes(r['cpu'])} | {r['steal']:.1f} s | {loop[0]:.2f} s / {loop[1]:.2f} s |",
            flush=True,
        )
        if r["exit"] != 0:
            print(r["tail"])
            sys.exit(1)


if __name__ == "__main__":
    main()
