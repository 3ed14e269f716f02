"""Table kind `distribution`: shares, top-box shares and means of items over a universe, by year and
breakdown, weighted when the configuration applies the raking weights to every table."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from innomon.disclosure import dominated
from schemas.cells import Cell
from tasks.indicators.context import WEIGHT, EngineContext, as_key, category_keys, groups_of, universe_mask
from tasks.indicators.statistics import fill_wilson, t_interval, t_quantile

if TYPE_CHECKING:
    from schemas.config import DistributionTable, TableBase


def evaluate_table(spec: DistributionTable, frames: dict[int, pd.DataFrame], ctx: EngineContext) -> list[Cell]:
    """All cells of one table spec over every year in `frames` (current year first)."""
    conf = ctx.confidence
    rows: list[Cell] = []
    by, by_only = spec.by or [], spec.by_only
    for entry in spec.items or []:
        item = entry if isinstance(entry, str) else entry.item
        item_universe = None if isinstance(entry, str) else entry.universe
        for stat in spec.stats or []:
            for year, frame in frames.items():
                asked = item in frame.columns and frame[item].notna().any()
                if by_only:  # a table that exists only as a breakdown needs its dimension
                    asked = asked and any(d in frame.columns and frame[d].notna().any() for d in by)
                # Only the columns this cell block reads: filtering the whole frame is the cost.
                weighted = ctx.apply_weights and WEIGHT in frame.columns
                extra = [WEIGHT] if weighted else []
                cols = list(dict.fromkeys([item, *[d for d in by if d in frame.columns], *extra]))
                universe = frame[cols] if item in frame.columns else frame
                exprs = tuple(e for e in (ctx.universes.get(spec.universe), item_universe) if e)
                if asked:
                    mask = None
                    for expr in exprs:
                        m = universe_mask(frame, year, expr, ctx)
                        mask = m if mask is None else mask & m
                    if mask is not None:
                        universe = universe[mask]
                if stat == "pct":
                    cats = category_keys(item, spec, ctx)
                elif stat == "pct_top":
                    cats = [str(spec.top)]
                else:
                    cats = [""]
                if not asked:
                    for cat in cats:
                        rows.append(Cell(table_id=spec.id, year=year, item=item, category=cat, stat=stat, flag="x"))
                    continue
                flag = "b" if year in ctx.breaks.get(item, []) else ""
                column = universe[item]
                present = column.notna().to_numpy()
                wts = universe[WEIGHT].to_numpy(dtype=float) if weighted else None
                if wts is not None:  # a respondent the weighting could not place is in no weighted figure
                    present = present & (wts > 0)
                if stat == "mean":
                    numbers = column.to_numpy(dtype=float, na_value=np.nan)
                else:  # category codes once per block; a group's counts are then one bincount
                    codes, uniques = pd.factorize(as_key(column).to_numpy(dtype=object), use_na_sentinel=True)
                    position = {str(u): k for k, u in enumerate(uniques)}
                gkey = (year, exprs, tuple(by), by_only)  # same universe rows -> same group masks
                groups = ctx.groups
                if gkey not in groups:
                    groups[gkey] = [(d, lab, m.to_numpy()) for d, lab, m in groups_of(universe, by, ctx, by_only)]
                for dim, label, mask in groups[gkey]:
                    sel = mask & present
                    n = int(sel.sum())
                    if wts is not None:
                        rows.extend(
                            weighted_cells(
                                spec,
                                year,
                                label,
                                dim,
                                item,
                                cats,
                                stat,
                                sel,
                                wts,
                                numbers if stat == "mean" else None,
                                None if stat == "mean" else (codes, position),
                                flag,
                                conf,
                                ctx,
                            )
                        )
                        continue
                    if stat == "mean":
                        vals = numbers[sel]
                    else:
                        counts = np.bincount(codes[sel & (codes >= 0)], minlength=len(uniques))
                    for cat in cats:
                        dominant = False
                        if stat == "mean":
                            value = float(vals.mean()) if n else None
                            lo, hi = t_interval(vals, conf) if n else (None, None)
                            count = None
                            dominant = item in ctx.dominance_items and dominated(vals, ctx.dominance_p)
                        else:
                            count = int(counts[position[cat]]) if cat in position else 0
                            value = 100.0 * count / n if n else None
                            lo, hi = None, None  # Wilson bounds are filled in below, in one call
                        rows.append(
                            Cell(
                                table_id=spec.id,
                                year=year,
                                group=label,
                                dim=dim,
                                item=item,
                                category=cat,
                                stat=stat,
                                value=value,
                                n=n,
                                ci_low=lo,
                                ci_high=hi,
                                flag=flag,
                                count=count,
                                distribution=stat == "pct" and spec.categories is None,
                                dominated=dominant,
                            )
                        )
    fill_wilson(rows, conf)
    return rows


def weighted_cells(
    spec: TableBase,
    year: int,
    label: str,
    dim: str,
    item: str,
    cats: list[str],
    stat: str,
    sel: np.ndarray,
    wts: np.ndarray,
    numbers: np.ndarray | None,
    coded: tuple[np.ndarray, dict[str, int]] | None,
    flag: str,
    conf: float,
    ctx: EngineContext,
) -> list[Cell]:
    """The cells of one group with the raking weights (`weighting.apply_to_tables`): weighted shares
    and means; `n` stays the respondents counted; intervals and the year-over-year test use Kish's
    effective base (sum w)^2 / sum w^2, an approximation (R02 gives the design-based intervals)."""
    w = wts[sel]
    n = int(sel.sum())
    total = float(w.sum())
    n_eff = total**2 / float((w**2).sum()) if n else 0.0
    out = []
    for cat in cats:
        lo = hi = count = base = firms = None
        dominant = False
        if stat == "mean":
            x = numbers[sel]  # type: ignore[index]
            dominant = item in ctx.dominance_items and dominated(x[~np.isnan(x)], ctx.dominance_p)
            value = float((w * x).sum() / total) if n else None
            if n >= 2 and value is not None:
                sd = math.sqrt(float((w * (x - value) ** 2).sum() / total) * n / (n - 1))
                half = t_quantile(0.5 + conf / 2, max(round(n_eff) - 1, 1)) * sd / math.sqrt(n_eff)
                lo, hi = value - half, value + half
        else:
            codes, position = coded  # type: ignore[misc]
            hit = sel & (codes == position[cat]) if cat in position else np.zeros_like(sel)
            share = float(wts[hit].sum()) / total if n else None
            value = None if share is None else 100.0 * share
            count = None if share is None else share * n_eff
            base = n_eff
            firms = int(hit.sum())
        out.append(
            Cell(
                table_id=spec.id,
                year=year,
                group=label,
                dim=dim,
                item=item,
                category=cat,
                stat=stat,
                value=value,
                n=n,
                ci_low=lo,
                ci_high=hi,
                flag=flag,
                count=count,
                base=base,
                distribution=stat == "pct" and spec.categories is None,
                firms=firms,
                dominated=dominant,
            )
        )
    return out
