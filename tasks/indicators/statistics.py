"""The statistics of the indicator engine: intervals (Wilson, Student's t), the two-proportion test,
and the disclosure rules applied to every table (`innomon.disclosure`: primary and secondary
suppression, audited)."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from schemas.cells import Cell
from schemas.vocabulary import SHARE_STATS

if TYPE_CHECKING:
    from schemas.config import RunConfig


def wilson(count: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson interval of a share, in percent."""
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(count, n, alpha=1 - confidence, method="wilson")
    return 100 * float(low), 100 * float(high)


def t_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """t interval of a mean (NaN bounds for fewer than 2 values)."""
    n = len(values)
    mean = float(values.mean())
    if n < 2:
        return math.nan, math.nan
    se = float(values.std(ddof=1)) / math.sqrt(n)
    half = t_quantile(0.5 + confidence / 2, n - 1) * se
    return mean - half, mean + half


@lru_cache(maxsize=4096)
def t_quantile(q: float, df: int) -> float:
    """Student t quantile; cached, as the same few bases recur in every table."""
    from scipy import stats as sps  # imported where used: a cached run of the CLI never needs scipy

    return float(sps.t.ppf(q, df))


def two_proportion_p(c1: float, n1: float, c2: float, n2: float) -> float:
    """Two-sided p-value of the pooled two-proportion z-test."""
    pooled = (c1 + c2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (c1 / n1 - c2 / n2) / se
    from scipy import stats as sps

    return float(2 * sps.norm.sf(abs(z)))


def fill_wilson(rows: list[Cell], confidence: float) -> None:
    """Wilson bounds of every share cell with a base, in one vectorised statsmodels call (the same
    arithmetic as one call per cell, element by element, at a fraction of the cost)."""
    idx = [i for i, r in enumerate(rows) if r.stat in SHARE_STATS and r.n and r.value is not None]
    if not idx:
        return
    counts = np.array([rows[i].count for i in idx], dtype=float)  # weighted: effective counts
    bases = np.array([rows[i].base or rows[i].n for i in idx], dtype=float)
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(counts, bases, alpha=1 - confidence, method="wilson")
    for i, lo, hi in zip(idx, np.asarray(low), np.asarray(high), strict=True):
        rows[i].ci_low, rows[i].ci_high = 100 * float(lo), 100 * float(hi)


def suppress(cells: pd.DataFrame, cfg: RunConfig, earlier: pd.DataFrame | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Primary and secondary suppression with the intruder's audit (`innomon.disclosure`, D50):
    suppressed cells keep their n and lose value and interval ([c]). Returns the cells and the
    disclosure record (the primary cells and their rules, the audit), kept in the private zone."""
    from innomon import disclosure

    distributions = sorted(
        {(str(t), str(i)) for t, i, d in zip(cells["table_id"], cells["item"], cells["distribution"], strict=True) if d}
    )
    rules = disclosure.rules_of(cfg, cells, distributions)
    hide, primaries, audit = disclosure.protect(cells, earlier, rules)
    cells = cells.copy()
    cells.loc[hide, ["value", "ci_low", "ci_high"]] = None
    cells.loc[hide, "flag"] = cells.loc[hide, "flag"].map(lambda f: f + "c" if "c" not in f else f)
    record = {
        "primaries": [[*k, why] for k, why in sorted(primaries.items())],
        "distributions": [list(d) for d in distributions],
        "audit": disclosure.summary(audit),
    }
    return cells, record


def significance(cells: pd.DataFrame, current: int, previous: int | None, min_n: int, alpha: float) -> pd.DataFrame:
    """`s`/`ns` on current-year share cells where both years' bases reach the reliability threshold."""
    cells = cells.copy()
    if previous is None:
        return cells
    keys = ["table_id", "group", "item", "category", "stat"]
    cur = cells[(cells["year"] == current) & cells["stat"].isin(SHARE_STATS) & cells["count"].notna()]
    prev = cells[(cells["year"] == previous) & cells["stat"].isin(SHARE_STATS) & cells["count"].notna()]
    cur = cur.assign(base=cur["base"].fillna(cur["n"]) if "base" in cur.columns else cur["n"])
    prev = prev.assign(base=prev["base"].fillna(prev["n"]) if "base" in prev.columns else prev["n"])
    merged = cur.reset_index().merge(prev[[*keys, "count", "n", "base", "flag"]], on=keys, suffixes=("", "_prev"))
    for _, row in merged.iterrows():
        if row["n"] >= min_n and row["n_prev"] >= min_n and "c" not in row["flag"] and "c" not in row["flag_prev"]:
            # the base is n, or with the weights Kish's effective n (then the counts are effective too)
            p = two_proportion_p(
                float(row["count"]), float(row["base"]), float(row["count_prev"]), float(row["base_prev"])
            )
            cells.loc[row["index"], "sig"] = "s" if p < alpha else "ns"
    return cells
