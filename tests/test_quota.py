"""Quota allocation used by the generator: exact counts and constraints."""

from __future__ import annotations

import numpy as np

from innomon.synth.quota import allocate, allocate_binary, largest_remainder, tilted_distribution


def test_largest_remainder_sums_and_rounds() -> None:
    counts = largest_remainder(423, [47, 2, 11, 15, 3])
    assert counts.sum() == 423
    assert counts.tolist() == [255, 11, 60, 81, 16]


def test_allocate_honours_forced_units_and_quota() -> None:
    rng = np.random.default_rng(1)
    forced = ["a"] * 10 + [None] * 90
    out = allocate(rng, 100, ["a", "b"], [0.3, 0.7], forced)
    assert (out[:10] == "a").all()
    assert (out == "a").sum() == 30


def test_allocate_binary_respects_forced_zero() -> None:
    rng = np.random.default_rng(2)
    n = 200
    eligible = np.ones(n, bool)
    zero = np.zeros(n, bool)
    zero[:50] = True
    out = allocate_binary(rng, 0.4, eligible, np.zeros(n, bool), zero)
    assert out.sum() == 80 and out[:50].sum() == 0


def test_tilted_distribution_hits_mean_and_fixed_share() -> None:
    p = tilted_distribution([1, 2, 3, 4], 2.33, {3: 0.19})
    assert abs(p.sum() - 1) < 1e-9
    assert abs((p * np.array([1, 2, 3, 4])).sum() - 2.33) < 1e-6
    assert abs(p[3] - 0.19) < 1e-12
