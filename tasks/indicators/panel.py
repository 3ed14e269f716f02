"""Table kinds `panel_transitions` and `panel_change`: the firms that answered in both years."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from schemas.cells import Cell
from tasks.indicators.context import EngineContext
from tasks.indicators.statistics import wilson

if TYPE_CHECKING:
    from schemas.config import PanelChangeTable, PanelTransitionsTable


def panel_transitions(
    spec: PanelTransitionsTable, cur: pd.DataFrame, prev: pd.DataFrame, year: int, ctx: EngineContext
) -> list[Cell]:
    """Firms in both years: the distribution of this year's segment by last year's segment."""
    item = spec.item
    both = cur[["panel_id", item]].merge(prev[["panel_id", item]], on="panel_id", suffixes=("", "_previous"))
    cats = ctx.derived_categories.get(item) or sorted(both[item].dropna().unique())
    rows = []
    for origin in cats:
        sub = both[both[f"{item}_previous"] == origin]
        n = int(sub[item].notna().sum())
        for cat in cats:
            count = int((sub[item] == cat).sum())
            value = 100.0 * count / n if n else None
            lo, hi = wilson(count, n, ctx.confidence) if n else (None, None)
            rows.append(
                Cell(
                    table_id=spec.id,
                    year=year,
                    group=f"{item}_previous={origin}",
                    dim=f"{item}_previous",
                    item=item,
                    category=cat,
                    stat="pct",
                    value=value,
                    n=n,
                    ci_low=lo,
                    ci_high=hi,
                    count=count,
                    distribution=True,
                )
            )
    return rows


def panel_change(
    spec: PanelChangeTable,
    cur: pd.DataFrame,
    prev: pd.DataFrame,
    year: int,
    prev_year: int,
    ctx: EngineContext,
) -> list[Cell]:
    """Key indicators for the panel (firms in both years) beside the full samples, both years."""
    panel = set(cur["panel_id"]) & set(prev["panel_id"])
    rows = []
    for item in spec.item_names:
        for sample, frames in (
            ("panel", {year: cur[cur["panel_id"].isin(panel)], prev_year: prev[prev["panel_id"].isin(panel)]}),
            ("all", {year: cur, prev_year: prev}),
        ):
            for y, frame in frames.items():
                vals = frame[item].dropna() if item in frame.columns else pd.Series(dtype=float)
                n = len(vals)
                count = int((vals == 1).sum())
                value = 100.0 * count / n if n else None
                lo, hi = wilson(count, n, ctx.confidence) if n else (None, None)
                flag = "" if n or item in frame.columns else "x"
                rows.append(
                    Cell(
                        table_id=spec.id,
                        year=y,
                        group=f"sample={sample}",
                        dim="sample",
                        item=item,
                        category="1",
                        stat="pct",
                        value=value,
                        n=n,
                        ci_low=lo,
                        ci_high=hi,
                        flag=flag,
                        count=count,
                    )
                )
    return rows
