"""Disclosure control: which cells may not be published, and proof that suppressing them holds.

Three primary rules mark the cells that describe too few firms (decision D50):
- base: a figure over fewer than `suppression_min_n` firms;
- frequency: a share whose firms with the answer, or without it, number 1..`frequency_max_count`,
  in a base under `frequency_below_base`;
- dominance (p% rule): a mean of a magnitude whose other firms' values add up to less than p% of
  the largest (the second largest could then estimate the largest within p%).

Then an intruder's audit: for every primary cell, the interval of its count (a share) or sum (a
mean) that follows from everything published, found by linear programming (scipy's HiGHS) over the
relations an intruder knows: the groups of a breakdown and the firms outside them add up to the
overall figure of the same item, statistic and year (in any table); the categories of one answer in
one group add up to at most (for a full distribution: exactly) its base; every value lies within its
answer scale; counts are whole. A figure published in an earlier release of the store is known too.
Secondary suppression adds cells (the smallest base first, those sharing a relation with the
unprotected cell before others; never an empty group, which protects nothing) until every primary
cell's interval is at least the protection width.

Written by hand: no maintained Python library does table-level secondary suppression with an
interval audit for tables like these (sdcTable and tau-argus exist for R and as a Java program).
The linear programs themselves are scipy's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

ADDITIVE = ("pct", "pct_top", "mean")  # statistics whose groups add up to the overall figure
FOLLOWERS = {"pct_w": "pct", "deff": "pct"}  # published beside a share of the same cell: go with it
NOT_SUPPRESSED = ("n", "invited", "chi2", "p_value")  # counts of respondents and register, and tests
MAX_TRIALS = 20  # candidates tried per step of the secondary suppression (each costs two small LPs)
QUANTITY = ["year", "group", "item", "category", "stat", "n"]  # one figure, in whichever table


@dataclass(frozen=True)
class Rules:
    """The disclosure rules of a year (`thresholds` in the configuration) and what the audit needs
    to know of the tables: the answer scale of every item with a mean, and which (table, item)
    shares are full distributions (their categories make up 100%)."""

    min_n: int
    frequency_max_count: int
    frequency_below_base: int
    dominance_p: float
    protection_pp: float
    protection_scale_share: float
    scales: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    distributions: frozenset[tuple[str, str]] = frozenset()

    def required(self, stat: str, item: str) -> float:
        """The narrowest interval a suppressed cell may have: points of a share, units of a mean."""
        if stat == "mean":
            lo, hi = self.scales[item]
            return self.protection_scale_share * (hi - lo)
        return self.protection_pp


def rules_of(
    cfg: Any,
    cells: pd.DataFrame,
    distributions: Iterable[tuple[str, str]] = (),
    scale_of: Callable[[str], tuple[float, float]] | None = None,
) -> Rules:
    """The rules of a year's configuration, with the scales of the items whose means `cells` hold
    (`scale_of`: where an item's scale is found, by default the configuration's datamap rows)."""
    th = cfg.thresholds
    items = sorted(set(cells.loc[cells["stat"] == "mean", "item"]))
    return Rules(
        min_n=th.suppression_min_n,
        frequency_max_count=th.frequency_max_count,
        frequency_below_base=th.frequency_below_base,
        dominance_p=float(th.dominance_p),
        protection_pp=float(th.protection_pp),
        protection_scale_share=float(th.protection_scale_share),
        scales={item: (scale_of or cfg.answer_scale)(item) for item in items},
        distributions=frozenset(tuple(d) for d in distributions),
    )


def dominated(values: np.ndarray, p: float) -> bool:
    """The p% rule on the firms' own values (absolute: a loss is a magnitude too)."""
    x = np.sort(np.abs(values[~np.isnan(values)]))[::-1]
    if len(x) == 0 or x[0] == 0:
        return False
    rest = float(x[2:].sum())
    return rest < p / 100.0 * float(x[0])


def primary_rules(cells: pd.DataFrame, rules: Rules) -> pd.Series:
    """Per cell, the primary rule it fails ("base", "frequency", "dominance") or ""."""
    n = pd.to_numeric(cells["n"], errors="coerce")
    value = pd.to_numeric(cells["value"], errors="coerce")
    stat = cells["stat"]
    out = pd.Series("", index=cells.index, dtype=object)
    eligible = n.notna() & ~stat.isin(NOT_SUPPRESSED)
    out[eligible & (n < rules.min_n)] = "base"
    firms = _firms(cells)
    # a response table (R01) counts responding firms of the register, published beside the shares
    response = cells["table_id"].isin(set(cells.loc[stat == "invited", "table_id"]))
    few = firms.between(1, rules.frequency_max_count) | (n - firms).between(1, rules.frequency_max_count)
    frequency = (
        eligible & ~response & (out == "") & stat.isin(["pct", "pct_top"]) & few & (n < rules.frequency_below_base)
    )
    out[frequency & value.notna()] = "frequency"
    if "dominated" in cells.columns:
        out[eligible & (out == "") & cells["dominated"].fillna(False).astype(bool) & value.notna()] = "dominance"
    return out


def _firms(cells: pd.DataFrame) -> pd.Series:
    """The firms a share counts: `firms` where the engine gave it (weighted shares), else its count."""
    count = pd.to_numeric(cells.get("count", pd.Series(np.nan, index=cells.index)), errors="coerce")
    if "firms" in cells.columns:
        count = pd.to_numeric(cells["firms"], errors="coerce").fillna(count)
    return count.round()


def quantity(row: Any) -> tuple[Any, ...]:
    """What identifies one figure across tables and releases."""
    return (int(row.year), str(row.group), str(row.item), str(row.category), str(row.stat), _int(row.n))


def quantities(cells: pd.DataFrame) -> list[tuple[Any, ...]]:
    """`quantity` of every row, from the columns (a row-by-row walk costs seconds on a release)."""
    n = pd.to_numeric(cells["n"], errors="coerce").fillna(0).round().astype("int64")
    return list(
        zip(
            cells["year"].astype("int64").tolist(),
            cells["group"].astype(str).tolist(),
            cells["item"].astype(str).tolist(),
            cells["category"].astype(str).tolist(),
            cells["stat"].astype(str).tolist(),
            n.tolist(),
            strict=True,
        )
    )


def _int(v: Any) -> int:
    return 0 if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v))


@dataclass
class Interval:
    """What an intruder can derive for one suppressed cell, in the cell's own unit."""

    key: tuple[Any, ...]
    low: float
    high: float
    required: float

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def protected(self) -> bool:
        return self.width >= self.required - 1e-9


class Component:
    """The figures of one item, statistic and year, and the relations an intruder knows among them."""

    def __init__(self, cells: pd.DataFrame, rules: Rules) -> None:
        self.rules = rules
        first = cells.iloc[0]
        self.stat, self.item = str(first["stat"]), str(first["item"])
        self.scale = rules.scales.get(self.item, (0.0, 1.0)) if self.stat == "mean" else (0.0, 1.0)
        keys = sorted(set(quantities(cells)))
        self.index = {k: i for i, k in enumerate(keys)}
        self.keys = keys
        self.rows: list[tuple[dict[int, float], float, float]] = []  # (coefficients, low, high)
        self.neighbours: dict[int, set[int]] = {i: set() for i in range(len(keys))}
        self._relations(cells)

    def unit(self, key: tuple[Any, ...]) -> float:
        """What one unit of the cell's value is in the LP's variable (a count or a sum)."""
        n = key[5]
        return n / 100.0 if self.stat != "mean" else float(n)

    def _relate(self, coef: dict[int, float], low: float, high: float) -> None:
        self.rows.append((coef, low, high))
        for i in coef:
            self.neighbours[i] |= set(coef) - {i}

    def _relations(self, cells: pd.DataFrame) -> None:
        lo, hi = self.scale
        overall = cells[cells["group"] == "all"]
        totals = sorted(set(quantities(overall)), key=lambda k: (k[3], k[5]))
        breakdown = cells[cells["group"] != "all"].assign(dim=lambda d: d["group"].str.split("=").str[0])
        for (table, category, _dim), block in breakdown.groupby(["table_id", "category", "dim"], sort=True):
            members = sorted(set(quantities(block)))
            size = sum(k[5] for k in members)
            own = sorted(set(quantities(overall[overall["table_id"] == table])))
            candidates = [k for k in own if k[3] == category and k[5] >= size]
            candidates += [k for k in totals if k[3] == category and k[5] >= size and k not in candidates]
            if not candidates:
                continue
            total = candidates[0] if candidates[0] in own else min(candidates, key=lambda k: (k[5], k))
            rest = total[5] - size  # firms in no group of the breakdown (an unknown answer)
            coef = {self.index[total]: 1.0}
            for k in members:
                coef[self.index[k]] = coef.get(self.index[k], 0.0) - 1.0
            self._relate(coef, lo * rest, hi * rest)
        if self.stat == "pct":  # the categories of one answer in one group: at most its base
            for (table, _group), cats in cells.groupby(["table_id", "group"], sort=True):
                members = sorted(set(quantities(cats)))
                if len(members) < 2 or len({k[5] for k in members}) != 1:
                    continue
                n = float(members[0][5])
                full = (str(table), self.item) in self.rules.distributions
                self._relate({self.index[k]: 1.0 for k in members}, n if full else 0.0, n)

    def bounds(self, known: Mapping[tuple[Any, ...], float]) -> list[tuple[float, float]]:
        """Each figure's range: its value where published (or known), else its answer scale."""
        lo, hi = self.scale
        out = []
        for k in self.keys:
            n = float(k[5])
            if k in known:
                x = known[k] * self.unit(k)
                tol = 1e-6 * max(1.0, n)  # tables.csv holds values to 6 decimals
                out.append((x - tol, x + tol))
            else:
                out.append((lo * n, hi * n))
        return out

    def interval(self, key: tuple[Any, ...], known: Mapping[tuple[Any, ...], float]) -> Interval:
        """The intruder's interval of one figure, in its own unit (points of a share, a mean's units)."""
        from scipy.optimize import linprog

        bounds = self.bounds(known)
        target = self.index[key]
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(self.keys))
            c[target] = sign
            a_ub, b_ub = [], []
            for coef, low, high in self.rows:
                row = np.zeros(len(self.keys))
                for i, v in coef.items():
                    row[i] = v
                slack = 1e-6 * (1 + abs(high) + abs(low))
                a_ub += [row, -row]
                b_ub += [high + slack, -low + slack]
            res = linprog(
                c, A_ub=np.array(a_ub) if a_ub else None, b_ub=np.array(b_ub) if b_ub else None, bounds=bounds
            )
            ends.append(sign * float(res.fun) if res.status == 0 else bounds[target][0 if sign > 0 else 1])
        low, high = ends
        if self.stat != "mean":  # counts are whole firms
            low, high = math.ceil(low - 1e-6), math.floor(high + 1e-6)
        unit = self.unit(key)
        return Interval(key, low / unit, max(low, high) / unit, self.rules.required(self.stat, self.item))


def components(cells: pd.DataFrame) -> Iterable[tuple[tuple[Any, ...], pd.DataFrame]]:
    """The cells of each (year, item, statistic) whose figures add up, with a value or suppressed."""
    additive = cells[cells["stat"].isin(ADDITIVE) & pd.to_numeric(cells["n"], errors="coerce").gt(0)]
    yield from additive.groupby(["year", "item", "stat"], sort=True)


def known_values(cells: pd.DataFrame, suppressed: set[tuple[Any, ...]]) -> dict[tuple[Any, ...], float]:
    """Published figures by quantity (the first value seen; one figure has one value)."""
    out: dict[tuple[Any, ...], float] = {}
    value = pd.to_numeric(cells["value"], errors="coerce")
    for k, v in zip(quantities(cells), value, strict=True):
        if k not in suppressed and not math.isnan(v) and k not in out:
            out[k] = float(v)
    return out


@dataclass
class Audit:
    """The audit of a release: every primary cell's interval."""

    intervals: list[Interval]

    @property
    def failures(self) -> list[Interval]:
        return [i for i in self.intervals if not i.protected]

    @property
    def narrowest(self) -> Interval | None:
        return min(self.intervals, key=lambda i: (i.width / i.required, i.key), default=None)


def audit(cells: pd.DataFrame, earlier: pd.DataFrame | None, primaries: set[tuple[Any, ...]], rules: Rules) -> Audit:
    """The interval of every primary cell of a release (`cells`, as published: suppressed cells flagged
    `c`) given what it and the earlier releases (`earlier`, as published) show."""
    suppressed = {k for k, f in zip(quantities(cells), cells["flag"], strict=True) if "c" in str(f)}
    known = known_values(cells, suppressed)
    if earlier is not None and len(earlier):
        shown = earlier[~earlier["flag"].astype(str).str.contains("c")]
        for k, v in known_values(shown, set()).items():
            known.setdefault(k, v)
    out: list[Interval] = []
    for _, block in components(cells):
        targets = sorted(set(quantities(block)) & primaries)
        if not targets:
            continue
        comp = Component(block, rules)
        out += [comp.interval(k, known) for k in targets]
    return Audit(out)


def protect(
    cells: pd.DataFrame, earlier: pd.DataFrame | None, rules: Rules
) -> tuple[pd.Series, dict[tuple[Any, ...], str], Audit]:
    """Primary and secondary suppression of a release's cells (unsuppressed, as the engine computed
    them). Returns which rows to suppress, the primary cells with their rule, and the final audit."""
    rule = primary_rules(cells, rules)
    primaries = {k: str(why) for k, why in zip(quantities(cells), rule, strict=True) if why}
    suppressed = set(primaries)
    published_before: dict[tuple[Any, ...], float] = {}
    if earlier is not None and len(earlier):
        hidden = earlier["flag"].astype(str).str.contains("c")
        mine = set(quantities(cells))
        # a cell an earlier release suppressed stays suppressed (else its partner would be exposed)
        suppressed |= set(quantities(earlier[hidden])) & mine
        published_before = known_values(earlier[~hidden], set())
    for _, block in components(cells):
        block_keys = set(quantities(block))
        targets = sorted(block_keys & set(primaries))
        if not targets:
            continue
        comp = Component(block, rules)
        pending = list(targets)  # a cell once protected stays so: suppressing more only widens intervals
        while True:
            known = known_values(block, suppressed)
            for k, v in published_before.items():
                known.setdefault(k, v)
            open_ = None
            while pending and open_ is None:
                interval = comp.interval(pending[0], known)
                if interval.protected:
                    pending.pop(0)
                else:
                    open_ = interval
            if open_ is None:
                break
            near = comp.neighbours[comp.index[open_.key]]
            candidates = [
                k
                for k in comp.keys
                if k not in suppressed and k not in published_before and k[5] > 0 and k != open_.key
            ]
            if not candidates:
                break  # nothing left to suppress: the audit reports the cell, and publish refuses
            # the smallest loss first (an overall figure last of all, a cell in a relation with the
            # open cell before others, then the smallest base); the first that widens the open
            # cell's interval is taken, else the first of all (a pair may be needed to widen it)
            candidates.sort(key=lambda k: (k[1] == "all", comp.index[k] not in near, k[5], k))
            chosen = candidates[0]
            for k in candidates[:MAX_TRIALS]:
                trial = {q: v for q, v in known.items() if q != k}
                if comp.interval(open_.key, trial).width > open_.width + 1e-9:
                    chosen = k
                    break
            suppressed.add(chosen)
    keys = quantities(cells)
    hide = pd.Series([k in suppressed for k in keys], index=cells.index)
    # a weighted share and its design effect go with the share of the same cell
    position = cells[["table_id", "year", "group", "item", "category"]].astype(str).agg("|".join, axis=1)
    lead = set(position[hide & cells["stat"].isin(list(set(FOLLOWERS.values())))])
    hide |= cells["stat"].isin(list(FOLLOWERS)) & position.isin(lead)
    # a position whose n is under the base threshold is suppressed in every statistic
    hide |= pd.to_numeric(cells["n"], errors="coerce").lt(rules.min_n) & ~cells["stat"].isin(NOT_SUPPRESSED)
    final = cells.assign(flag=[f + "c" if h and "c" not in f else f for f, h in zip(cells["flag"], hide, strict=True)])
    return hide, primaries, audit(final, earlier, set(primaries), rules)


def summary(result: Audit) -> dict[str, Any]:
    """The audit as the record, the command and the publish stage show it (no value of a cell)."""
    narrow = result.narrowest
    return {
        "checked": len(result.intervals),
        "unprotected": [_describe(i) for i in result.failures],
        "narrowest": None if narrow is None else _describe(narrow),
    }


def _describe(i: Interval) -> dict[str, Any]:
    year, group, item, category, stat, n = i.key
    return {
        "year": year,
        "group": group,
        "item": item,
        "category": category,
        "stat": stat,
        "n": n,
        "width": round(i.width, 6),
        "required": i.required,
    }


def primaries_of(record: Mapping[str, Any]) -> set[tuple[Any, ...]]:
    """The primary cells a disclosure record names."""
    return {(int(p[0]), str(p[1]), str(p[2]), str(p[3]), str(p[4]), int(p[5])) for p in record["primaries"]}


def refusal(result: Audit, year: int) -> str | None:
    """One sentence when a release fails its audit (no value of any cell), else None."""
    if not result.failures:
        return None
    worst = min(result.failures, key=lambda i: (i.width / i.required, i.key))
    y, group, item, category, stat, n = worst.key
    return (
        f"The disclosure audit of {year} finds {len(result.failures)} suppressed cell(s) an intruder can pin "
        f"down closer than the protection width (narrowest: {item} {category} {stat}, {group}, {y}, n={n}: "
        f"{worst.width:.2f} < {worst.required:g}); nothing was published."
    )
