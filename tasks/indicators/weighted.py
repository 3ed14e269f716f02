"""Tables R01 (response by stratum, goodness of fit) and R02 (weighted beside unweighted), as tidy
cells for the indicator engine."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from schemas.cells import Cell
from tasks.indicators.context import WEIGHT, EngineContext, as_key, category_keys, universe_mask
from tasks.indicators.statistics import fill_wilson

if TYPE_CHECKING:
    from schemas.config import ResponseByStratumTable, TableBase, WeightedComparisonTable

TOTAL = "totaal"  # R01's category of a dimension's total row (and its goodness-of-fit test)


def _row(
    spec: TableBase,
    year: int,
    item: str,
    cat: str,
    stat: str,
    value: float | None,
    n: int | None,
    flag: str = "",
    count: float | None = None,
    lo: float | None = None,
    hi: float | None = None,
) -> Cell:
    return Cell(
        table_id=spec.id, year=year, item=item, category=cat, stat=stat, value=value, n=n,
        ci_low=lo, ci_high=hi, flag=flag, count=count,
    )  # fmt: skip


def response_rows(
    spec: ResponseByStratumTable,
    respondents: pd.DataFrame,
    weighting: dict[str, Any] | None,
    year: int,
    ctx: EngineContext,
) -> list[Cell]:
    """R01: per weighting dimension and level the invited firms, the valid respondents and the
    response rate (Wilson interval), and per dimension a chi-square goodness-of-fit test of the
    respondents' composition against the frame's. Without a frame only the respondents are known."""
    from scipy import stats as sps

    has_frame = bool(weighting and weighting.get("frame"))
    dims = list((weighting or {}).get("dims") or spec.item_names)
    rows: list[Cell] = []
    totals: list[Cell] = []  # after every level row, so that `totaal` ranks last in each block
    for dim in dims:
        levels = list(ctx.derived_categories.get(dim) or sorted(respondents[dim].dropna().astype(str).unique()))
        counts = respondents[dim].astype(object).where(respondents[dim].notna(), None).value_counts()
        observed = np.array([int(counts.get(level, 0)) for level in levels])
        frame_n = [int(weighting["margins"][dim].get(level, 0)) for level in levels] if has_frame else None
        for i, level in enumerate(levels):
            rows.append(_row(spec, year, dim, level, "n", float(observed[i]), int(observed[i])))
            if not has_frame:
                for stat in ("invited", "pct"):
                    rows.append(_row(spec, year, dim, level, stat, None, None, "x"))
                continue
            invited = frame_n[i]  # type: ignore[index]
            rows.append(_row(spec, year, dim, level, "invited", float(invited), invited))
            # More respondents than invited firms in a level (placed by their own answers, the frame by
            # the register's) is a classification difference, not a response rate: [z], counts shown.
            rate = 100.0 * observed[i] / invited if invited and observed[i] <= invited else None
            count = int(observed[i]) if rate is not None else None
            rows.append(_row(spec, year, dim, level, "pct", rate, invited or None, count=count))
        total = len(respondents)
        totals.append(_row(spec, year, dim, TOTAL, "n", float(total), total))
        if not has_frame:
            for stat in ("invited", "pct", "chi2", "p_value"):
                totals.append(_row(spec, year, dim, TOTAL, stat, None, None, "x"))
            continue
        invited_total = int(sum(frame_n))  # type: ignore[arg-type]
        totals.append(_row(spec, year, dim, TOTAL, "invited", float(invited_total), invited_total))
        totals.append(_row(spec, year, dim, TOTAL, "pct", 100.0 * total / invited_total, invited_total, count=total))
        # The test compares the respondents whose level is known with the frame's shares, over the
        # levels the frame holds; respondents in a level the frame lacks make the test undefined ([z]).
        held = np.array(frame_n) > 0
        known = int(observed[held].sum())
        if (observed[~held] > 0).any() or held.sum() < 2 or known == 0:
            totals.append(_row(spec, year, dim, TOTAL, "chi2", None, known))
            totals.append(_row(spec, year, dim, TOTAL, "p_value", None, known))
            continue
        expected = known * np.array(frame_n, dtype=float)[held] / invited_total
        chi2, p = sps.chisquare(observed[held], expected)
        totals.append(_row(spec, year, dim, TOTAL, "chi2", float(chi2), known))
        totals.append(_row(spec, year, dim, TOTAL, "p_value", float(p), known))
    rows += totals
    fill_wilson(rows, ctx.confidence)
    return rows


def indicator_cells(tables: list[TableBase], ids: list[str], ctx: EngineContext) -> list[tuple]:
    """(universe expressions, item, category) of each share R02 compares: every share cell of the
    named tables (a distribution's every category; pct_top's top answer), in the tables' universe
    and the item's own (the engine's expressions, so its cached masks serve both)."""
    by_id = {t.id: t for t in tables}
    out = []
    for tid in ids:
        spec = by_id[tid]
        universe = ctx.universes.get(spec.universe)
        for entry in spec.items or []:
            item = entry if isinstance(entry, str) else entry.item
            exprs = tuple(e for e in (universe, None if isinstance(entry, str) else entry.universe) if e)
            for stat in spec.stats or []:
                if stat == "pct":
                    out += [(exprs, item, cat) for cat in category_keys(item, spec, ctx)]
                elif stat == "pct_top":
                    out.append((exprs, item, str(spec.top)))
    return out


def weighted_share(y: np.ndarray, w: np.ndarray, domain: np.ndarray, alpha: float) -> dict[str, float]:
    """Weighted share of y (0/1) in a domain, with svy's Taylor-linearised standard error (the
    weights as given; each respondent its own unit), logit 95% interval and design effect (with
    replacement: Var / (s^2/n), s^2 = n p(1-p)/(n-1))."""
    import polars as pl
    import svy

    data = pl.DataFrame({"y": np.where(domain, y, np.nan), "w": w, "d": domain.astype(np.int8)})
    data = data.with_columns(pl.col("y").fill_nan(None))
    sample = svy.Sample(data, svy.Design(wgt="w"))
    est = sample.estimation.prop("y", where=pl.col("d") == 1, deff="wr", alpha=alpha).to_polars()
    hit = est.filter(pl.col("y") == 1.0)
    if hit.height == 0:  # nobody in the domain has the answer: the share is 0
        return {"est": 0.0, "se": 0.0, "lci": math.nan, "uci": math.nan, "deff": math.nan, "n": int(domain.sum())}
    row = hit.row(0, named=True)
    out = {k: float(row[k]) for k in ("est", "se", "lci", "uci", "deff")} | {"n": int(domain.sum())}
    if out["est"] >= 1.0:  # everyone in the domain has the answer: no variance, no design effect
        out.update(deff=math.nan, lci=math.nan, uci=math.nan)
    return out


def weighted_rows(
    spec: WeightedComparisonTable,
    respondents: pd.DataFrame,
    weighting: dict[str, Any] | None,
    year: int,
    tables: list[TableBase],
    ctx: EngineContext,
) -> list[Cell]:
    """R02: for each key indicator the unweighted share (as its own table publishes it), the weighted
    share with a design-based interval, and the design effect. Without weights: [x]."""
    conf = ctx.confidence
    usable = bool(weighting and weighting.get("frame") and not weighting.get("problem"))
    w = respondents[WEIGHT].to_numpy(dtype=float) if usable and WEIGHT in respondents.columns else None
    rows: list[Cell] = []
    for exprs, item, cat in indicator_cells(tables, spec.indicators, ctx):
        if item not in respondents.columns or respondents[item].isna().all():
            for stat in ("pct", "pct_w", "deff"):
                rows.append(_row(spec, year, item, cat, stat, None, None, "x"))
            continue
        mask = np.ones(len(respondents), dtype=bool)
        for expr in exprs:
            mask &= universe_mask(respondents, year, expr, ctx).to_numpy()
        keys = as_key(respondents[item]).to_numpy(dtype=object)
        answered = mask & respondents[item].notna().to_numpy()
        y = (keys == cat).astype(float)
        n = int(answered.sum())
        count = int((y[answered] == 1).sum())
        rows.append(_row(spec, year, item, cat, "pct", 100.0 * count / n if n else None, n, count=count))
        if w is None:
            rows.append(_row(spec, year, item, cat, "pct_w", None, None, "x"))
            rows.append(_row(spec, year, item, cat, "deff", None, None, "x"))
            continue
        domain = answered[w > 0]
        if not domain.any():
            rows.append(_row(spec, year, item, cat, "pct_w", None, 0))
            rows.append(_row(spec, year, item, cat, "deff", None, 0))
            continue
        r = weighted_share(y[w > 0], w[w > 0], domain, 1 - conf)
        lo, hi = (None, None) if math.isnan(r["lci"]) else (100 * r["lci"], 100 * r["uci"])
        rows.append(_row(spec, year, item, cat, "pct_w", 100 * r["est"], r["n"], lo=lo, hi=hi))
        rows.append(_row(spec, year, item, cat, "deff", None if math.isnan(r["deff"]) else r["deff"], r["n"]))
    fill_wilson(rows, conf)
    return rows
