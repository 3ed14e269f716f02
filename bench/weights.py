"""Issue 16's benchmark: does weighting remove a planted bias, and what does it cost?

1. Bias study. For each of 50 seeds the generator draws an invitation frame of 11,427 firms in which
   larger firms innovate more often, and respondents from it with a propensity that rises with size
   class (about 420 answer). The pipeline's own functions read the frame as a file, derive its
   strata, rake and trim the respondents' weights and estimate the innovator share with its
   design-based 95% interval (`tasks.weights.stage`). Counted: seeds where the weighted share is nearer the
   frame's true share than the unweighted one, and seeds whose interval holds the true share.
   Goal: at least 45 of 50 for each.
2. Timing of the weights stage (frame read and validated, strata, raking with trimming, diagnostics)
   plus R01 and R02's estimation (30 weighted shares with Taylor intervals), median of 3:
   at the report's size (11,427 invited, about 420 respondents; goal 2 s) and at 100,000 firms a
   year, read both ways (a frame of 100,000 firms; and 100,000 respondents from a frame of 1,000,000;
   goal 30 s).

Run: .venv/bin/python bench/weights.py [--seeds 50]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from innomon.config import typed
from innomon.synth.frame import frame_csv, planted_population
from tasks.configure.stage import resolve
from tasks.indicators import weighted as wtables
from tasks.weights import stage as wmod

os.environ.setdefault("INNOMON_DEMO", "1")  # synthetic firms: the built-in demo key, said so (innomon.keys)

DIMS = ["province", "size_class", "sector"]
INDICATORS = 30  # R02's weighted shares: K02 1, T01 5, T06 8, T08 10, T17 6


def weigh(frame: pd.DataFrame, respondents: pd.DataFrame, cfg: dict) -> dict:
    """The weights stage on a frame file, then the innovator share and 29 more shares of R02's kind."""
    data = frame_csv(frame)
    resp = respondents.assign(response_id=[f"R{i}" for i in range(len(respondents))])
    out = wmod.compute(data, "frame.csv", resp, typed(cfg))  # the stage reads the typed configuration
    w = out["weights"]["weight"].to_numpy()
    y = resp["innovator"].to_numpy(dtype=float)
    everyone = np.ones(len(resp), dtype=bool)
    share = wtables.weighted_share(y, w, everyone, 0.05)
    return {"out": out, "w": w, "share": share, "resp": resp, "y": y}


def bias_study(cfg: dict, seeds: int) -> None:
    nearer = covered = 0
    rows = []
    for seed in range(1, seeds + 1):
        frame, resp = planted_population(cfg, 11_427, 420, seed)
        r = weigh(frame, resp, cfg)
        truth = float(frame["innovator"].mean())
        unweighted = float(resp["innovator"].mean())
        s = r["share"]
        nearer += abs(s["est"] - truth) < abs(unweighted - truth)
        covered += s["lci"] <= truth <= s["uci"]
        rows.append((seed, len(resp), truth, unweighted, s["est"], s["lci"], s["uci"], s["deff"]))
    table = pd.DataFrame(rows, columns=["seed", "n", "true", "unweighted", "weighted", "lci", "uci", "deff"])
    print(f"Bias study: {seeds} seeds, frame 11,427 firms, respondents {table['n'].min()}-{table['n'].max()}")
    print(f"  weighted nearer the true share than unweighted: {nearer} of {seeds} (goal >= {round(0.9 * seeds)})")
    print(f"  true share inside the weighted 95% interval:    {covered} of {seeds} (goal >= {round(0.9 * seeds)})")
    bias = 100 * (table[["unweighted", "weighted"]].sub(table["true"], axis=0)).mean()
    print(
        f"  mean true share {table['true'].mean():.3f}; unweighted {table['unweighted'].mean():.3f} "
        f"(bias {bias['unweighted']:+.1f} pp); weighted {table['weighted'].mean():.3f} "
        f"(bias {bias['weighted']:+.1f} pp); mean design effect {table['deff'].mean():.2f}"
    )


def timed(cfg: dict, firms: int, respondents: int) -> tuple[float, int]:
    """Median of 3 runs of the weights stage plus 30 weighted shares (R02's number)."""
    frame, resp = planted_population(cfg, firms, respondents, 7)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        r = weigh(frame, resp, cfg)
        domain = np.ones(len(r["resp"]), dtype=bool)
        for _k in range(INDICATORS - 1):
            wtables.weighted_share(r["y"], r["w"], domain, 0.05)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(resp)


COLD = """
import time
t0 = time.perf_counter()
from bench.weights import timed_once
from tasks.configure.stage import resolve
print(timed_once(resolve(2023)[2023], 11_427, 420, t0))
"""


def timed_once(cfg: dict, firms: int, respondents: int, t0: float) -> str:
    """One run in a fresh process, with the imports (svy, polars) it pays in a real run's first call."""
    frame, resp = planted_population(cfg, firms, respondents, 7)
    start = time.perf_counter()
    r = weigh(frame, resp, cfg)
    domain = np.ones(len(r["resp"]), dtype=bool)
    for _k in range(INDICATORS - 1):
        wtables.weighted_share(r["y"], r["w"], domain, 0.05)
    return f"{time.perf_counter() - start:.2f} s, including the first import of svy and polars"


def whole_runs(repeats: int) -> None:
    """`innomon run --year 2023` into an empty store, with and without the year's frame, alternating;
    the median difference is what weighting (frame, weights, R01, R02) adds to a year's run."""
    import shutil
    import tempfile

    from innomon.synth.export import write_year

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for year in (2021, 2022, 2023):
            write_year(year, base / "with")
        shutil.copytree(base / "with", base / "without")
        (base / "without" / "2023" / "frame-2023.csv").unlink()
        times: dict[str, list[float]] = {"with": [], "without": []}
        for i in range(repeats):
            for variant in ("with", "without"):
                store = base / f"store-{variant}-{i}"
                cmd = [sys.executable, "-m", "innomon.cli", "run", "--year", "2023", "--raw-root", str(base / variant)]
                t0 = time.perf_counter()
                subprocess.run([*cmd, "--store", str(store)], check=True, capture_output=True)
                times[variant].append(time.perf_counter() - t0)
        w, wo = statistics.median(times["with"]), statistics.median(times["without"])
        print(
            f"Whole run of 2023 into an empty store (median of {repeats}): with frame {w:.1f} s, without {wo:.1f} s, "
            f"difference {w - wo:+.1f} s (runs: {', '.join(f'{t:.1f}' for t in times['with'])} / "
            f"{', '.join(f'{t:.1f}' for t in times['without'])})"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="whole CLI runs with and without a frame (0: none)")
    args = parser.parse_args()
    cfg = resolve(2023)[2023]
    print(f"Machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if args.seeds:
        bias_study(cfg, args.seeds)
    sizes = [(11_427, 420)] + ([] if args.skip_large else [(100_000, 3_700), (1_000_000, 100_000)])
    root = Path(__file__).resolve().parents[1]
    cold = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True, cwd=root)
    print(f"Weights stage + R01/R02 estimation, first call in a fresh process, report size: {cold.stdout.strip()}")
    for firms, n in sizes:
        seconds, got = timed(cfg, firms, n)
        print(f"Weights stage + R01/R02 estimation: frame {firms:,} firms, {got:,} respondents: {seconds:.2f} s")
    if args.runs:
        whole_runs(args.runs)


if __name__ == "__main__":
    main()
