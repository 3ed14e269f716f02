"""Raking the valid respondents to the frame's margins, with trimming (svy), and the weights'
diagnostics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def diagnostics(w: np.ndarray) -> dict[str, float | None]:
    """What a reader of the weights needs (Kish 1965): their range, coefficient of variation and the
    effective sample size n_eff = (sum w)^2 / sum w^2. Arithmetic no library call saves."""
    w = np.asarray(w, dtype=float)
    w = w[w > 0]
    if not len(w):
        return {"n": 0, "sum": 0.0, "min": None, "max": None, "cv": None, "n_eff": 0.0}  # JSON has no NaN
    return {
        "n": len(w),
        "sum": float(w.sum()),
        "min": float(w.min()),
        "max": float(w.max()),
        "cv": float(w.std(ddof=0) / w.mean()),
        "n_eff": float(w.sum() ** 2 / (w**2).sum()),
    }


def rake(
    strata: pd.DataFrame, totals: dict[str, dict[str, int]], trim_k: float | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Raked (and trimmed) weights of respondents placed in a level of every dimension the frame
    holds; 0 for the rest.

    Starts from the equal design weight N/n and rakes to `totals` (svy, tolerance 1e-12 relative);
    with `trim_k`, svy caps each weight at k times the mean and rakes again (its trim-and-rake cycle
    ends with a rake). The margins are then checked to 1e-6 firms. Returns the weights and `info`:
    respondents left unweighted, whether the cap holds, and a problem sentence (None when the
    weights are fine), e.g. a frame level nobody answered in, which cannot be raked to."""
    import polars as pl
    import svy
    from svy.errors import SvyError
    from svy.weighting.types import Threshold, TrimConfig

    dims = list(totals)
    # A respondent is raked when every dimension is known and a level the frame holds (a firm that
    # answered "middelgroot" where the register has no such firm is left out, like an unknown level).
    known = np.ones(len(strata), dtype=bool)
    for d in dims:
        known &= strata[d].astype(object).isin(list(totals[d])).to_numpy()
    weights = np.zeros(len(strata), dtype=float)
    info: dict[str, Any] = {"unweighted": int((~known).sum()), "problem": None, "trim_converged": None}
    empty = [
        f"{d} {level}"
        for d in dims
        for level, count in totals[d].items()
        if count > 0 and not (strata.loc[known, d].astype(str) == level).any()
    ]
    if empty:
        info["problem"] = f"no valid respondent in the frame level(s) {', '.join(empty)}, so no weights"
        return weights, info
    sub = strata.loc[known, dims].astype(str).reset_index(drop=True)
    n_frame = float(sum(totals[dims[0]].values()))
    data = pl.DataFrame(
        {"_row": list(range(len(sub))), **{d: sub[d].tolist() for d in dims}, "_w0": [n_frame / len(sub)] * len(sub)}
    )
    sample = svy.Sample(data, svy.Design(wgt="_w0"))
    trimming = TrimConfig(upper=Threshold("mean", float(trim_k)), max_iter=50, tol=1e-9) if trim_k else None
    controls = {d: {k: float(v) for k, v in totals[d].items() if v > 0} for d in dims}
    try:
        # "ignore": svy's trim-and-rake cycle ends with a rake, so the margins hold even when the cap
        # has not settled; both are checked below and reported, instead of losing the weights.
        raked = sample.weighting.rake(
            controls=controls, tol=1e-12, max_iter=1000, trimming=trimming, on_nonconvergence="ignore"
        )
    except SvyError:
        info["problem"] = "raking to the frame's margins failed, so no weights"
        return weights, info
    out = raked.data.sort("_row")  # the respondents' order, whatever order svy keeps
    raked_w = out["rk_wgt"].to_numpy()
    if margin_deviation(sub, raked_w, controls) > 1e-6:
        info["problem"] = "raking did not meet the frame's margins within 1,000 iterations, so no weights"
        return weights, info
    weights[known] = raked_w
    if trim_k:
        info["trim_converged"] = bool(raked_w.max() <= float(trim_k) * raked_w.mean() * (1 + 1e-3))
    return weights, info


def margin_deviation(strata: pd.DataFrame, weights: np.ndarray, totals: dict[str, dict[str, float]]) -> float:
    """Largest |sum of weights - frame count| over every level of every dimension."""
    dev = 0.0
    w = pd.Series(weights, index=strata.index)
    for d, levels in totals.items():
        got = w.groupby(strata[d].astype(str)).sum()
        for level, count in levels.items():
            dev = max(dev, abs(float(got.get(level, 0.0)) - count))
    return dev
