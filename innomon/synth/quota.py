"""Quota allocation: exact marginals for small samples, with constraints and covariate weights.

Independent random draws would miss the report's shares by several points at n = 423; quota
allocation hits them to the nearest respondent. No library does constrained quota allocation with
weights, so these few functions are written by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def largest_remainder(n: int, probs: Sequence[float]) -> np.ndarray:
    """Integer counts summing to n, proportional to probs (Hamilton's method)."""
    p = np.asarray(probs, dtype=float)
    p = p / p.sum()
    raw = p * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    return counts


def allocate(
    rng: np.random.Generator,
    n: int,
    categories: Sequence[object],
    probs: Sequence[float],
    forced: Sequence[object | None] | None = None,
) -> np.ndarray:
    """Assign a category to each of n units with counts as close to n*probs as the forced units allow."""
    cats = list(categories)
    target = largest_remainder(n, probs)
    out = np.empty(n, dtype=object)
    free = np.ones(n, dtype=bool)
    if forced is not None:
        for i, value in enumerate(forced):
            if value is not None:
                out[i] = value
                free[i] = False
                if value in cats:
                    target[cats.index(value)] -= 1
    target = np.maximum(target, 0)
    free_idx = np.flatnonzero(free)
    if len(free_idx) == 0:
        return out
    if target.sum() != len(free_idx):
        target = largest_remainder(len(free_idx), target + 1e-9 if target.sum() else np.ones(len(cats)))
    labels = np.repeat(np.array(cats, dtype=object), target)
    rng.shuffle(labels)
    out[free_idx] = labels
    return out


def choose_weighted(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """k distinct indices drawn without replacement with probability proportional to weights."""
    weights = np.asarray(weights, dtype=float)
    k = int(max(0, min(k, int((weights > 0).sum()))))
    if k == 0:
        return np.array([], dtype=int)
    # Efraimidis-Spirakis keys: one pass, exact weighted sampling without replacement.
    keys = np.log(rng.random(len(weights))) / np.where(weights > 0, weights, np.nan)
    keys = np.nan_to_num(keys, nan=-np.inf)
    return np.argsort(-keys, kind="stable")[:k]


def allocate_binary(
    rng: np.random.Generator,
    share: float,
    eligible: np.ndarray,
    forced_one: np.ndarray,
    forced_zero: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """1/0 over the eligible units: round(share * eligible) ones, forced units honoured first."""
    n_eligible = int(eligible.sum())
    k = round(share * n_eligible)
    out = np.zeros(len(eligible), dtype=int)
    ones = eligible & forced_one
    out[ones] = 1
    free = eligible & ~forced_one & ~forced_zero
    need = k - int(ones.sum())
    if need > 0:
        w = np.where(free, 1.0 if weights is None else weights, 0.0)
        out[choose_weighted(rng, w, need)] = 1
    return out


def tilted_distribution(values: Sequence[float], mean: float, fixed: dict[int, float] | None = None) -> np.ndarray:
    """Maximum-entropy distribution over `values` with a given mean, some probabilities fixed.

    Used for Likert items of which the report gives a mean (and sometimes the top share).
    """
    vals = np.asarray(values, dtype=float)
    fixed = fixed or {}
    mask = np.array([i not in fixed for i in range(len(vals))])
    fixed_mass = sum(fixed.values())
    fixed_sum = sum(vals[i] * p for i, p in fixed.items())
    free_vals = vals[mask]
    rest_mass = 1 - fixed_mass
    target = (mean - fixed_sum) / rest_mass if rest_mass > 0 else float(free_vals.mean())
    target = float(np.clip(target, free_vals.min() + 1e-6, free_vals.max() - 1e-6))

    def mean_at(lam: float) -> float:
        w = np.exp(lam * (free_vals - free_vals.mean()))
        return float((w * free_vals).sum() / w.sum())

    lo, hi = -50.0, 50.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if mean_at(mid) < target:
            lo = mid
        else:
            hi = mid
    w = np.exp(lo * (free_vals - free_vals.mean()))
    probs = np.zeros(len(vals))
    probs[mask] = rest_mass * w / w.sum()
    for i, p in fixed.items():
        probs[i] = p
    return probs


def scale_to_mean(values: np.ndarray, mean: float, low: float, high: float, iterations: int = 50) -> np.ndarray:
    """Multiply positive values until their clipped mean is `mean` (values keep their order)."""
    out = values.astype(float)
    for _ in range(iterations):
        current = float(np.clip(out, low, high).mean())
        if current <= 0 or math.isclose(current, mean, rel_tol=1e-4):
            break
        out = out * (mean / current)
    return np.clip(out, low, high)
