"""Benchmark of the linkage step: N x N firms with the generator's identity noise.

Prints wall time, peak memory (RSS) and precision/recall against the planted truth.
Usage: python bench/link_benchmark.py [N]   (default 100000)
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time

import numpy as np
import pandas as pd

from innomon import config, reference
from innomon.synth import firms
from innomon.synth.generate import add_identity_noise
from tasks.ingest.stage import split_identities
from tasks.link.stage import by_platform_id, link_firms

os.environ.setdefault("INNOMON_DEMO", "1")  # synthetic firms: the built-in demo key, said so (innomon.keys)


def make_firms(rng: np.random.Generator, n: int, pc4: pd.DataFrame, sbi: list[str], start: int) -> pd.DataFrame:
    """n invented firms with a trade name, town, postcode, KvK number (10% missing), SBI, founding year."""
    trades = [t for ts in firms.TRADES.values() for t in ts]
    picks = pc4.iloc[rng.integers(0, len(pc4), n)]
    towns = picks["plaats"].where(picks["plaats"] != "", picks["gemeente"]).to_numpy()
    initials = [
        f"{chr(65 + i)}.{chr(65 + j)}." for i, j in zip(rng.integers(0, 26, n), rng.integers(0, 26, n), strict=True)
    ]
    names = [
        f"{trades[a]} {i} {firms.SURNAMES[b]} {t}"
        for a, i, b, t in zip(
            rng.integers(0, len(trades), n), initials, rng.integers(0, len(firms.SURNAMES), n), towns, strict=True
        )
    ]
    letters = np.array(list("ABCDEGHJKLMNPRSTVWXZ"))
    kvk = rng.choice(np.arange(10_000_000, 99_999_999), size=n, replace=False)
    return pd.DataFrame(
        {
            "firm_id": [f"F{start + i}" for i in range(n)],
            "company_name": [f"{nm} B.V." for nm in names],
            "kvk_number": [f"{k:08d}" if r > 0.1 else "" for k, r in zip(kvk, rng.random(n), strict=True)],
            "email": [firms.email_for(nm, t) for nm, t in zip(names, towns, strict=True)],
            "postcode": [f"{p} {''.join(rng.choice(letters, 2))}" for p in picks["pc4"]],
            "province": picks["province"].to_numpy(),
            "sbi_code": rng.choice(sbi, n),
            "founding_year": rng.integers(1950, 2023, n),
        }
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    cfg = config.load(2023)
    pc4 = reference.pc4_table(str(config.reference_path(cfg, "pc4")))
    pc4 = pc4[pc4["province"].isin(cfg["region"]["provinces"])]
    sbi = [c for c in reference.sbi_sections(str(config.reference_path(cfg, "sbi"))) if len(c) >= 4]
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    prev = make_firms(rng, n, pc4, sbi, 0)
    repeats = int(0.15 * n)
    carried = add_identity_noise(
        rng, prev.iloc[rng.choice(n, repeats, replace=False)].copy().reset_index(drop=True), pc4
    )
    cur = pd.concat([carried, make_firms(rng, n - repeats, pc4, sbi, n)], ignore_index=True)
    prev["response_id"] = [f"P{i}" for i in range(len(prev))]
    cur["response_id"] = [f"C{i}" for i in range(len(cur))]
    key = b"bench"
    path = str(config.reference_path(cfg, "pc4"))
    _, ident_prev = split_identities(prev, path, key, 2022)
    _, ident_cur = split_identities(cur, path, key, 2023)
    print(f"generated {n} x {n} firms ({repeats} repeats) in {time.perf_counter() - t0:.1f} s")
    t1 = time.perf_counter()
    links, review = link_firms(by_platform_id(ident_cur), by_platform_id(ident_prev), 0.95, 0.5)
    wall = time.perf_counter() - t1
    truth_prev = dict(zip(prev["firm_id"], prev["response_id"], strict=True))
    true = {(c, truth_prev[f]) for c, f in zip(cur["response_id"], cur["firm_id"], strict=True) if f in truth_prev}
    pred = set(zip(links["response_id"], links["previous_response_id"], strict=True))
    tp = len(true & pred)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"linking {n} x {n}: wall {wall:.1f} s, peak RSS {peak_gb:.2f} GB (whole process)")
    print(f"links {len(pred)} (exact {int((links['method'] == 'kvk').sum())}), review pairs {len(review)}")
    print(f"precision {tp / max(1, len(pred)):.4f}, recall {tp / max(1, len(true)):.4f} (true pairs {len(true)})")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
