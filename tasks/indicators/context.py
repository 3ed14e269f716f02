"""What the engine needs besides the data: categories, answer codes, universes, breaks, weights;
and how a column's values become category keys and a universe expression becomes a row mask."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from innomon.errors import ConfigError
from innomon.numtext import number_text

if TYPE_CHECKING:
    from schemas.config import RunConfig, TableBase, TablesSpec

WEIGHT = "_weight"  # the raking weight of a respondent, attached for `weighting.apply_to_tables`


@dataclass
class EngineContext:
    """What the engine reads besides the data and a table's own configuration, taken from the typed
    configuration once per run; and the engine's caches (a universe's rows, a breakdown's groups),
    which make a year's second table over the same universe cheap."""

    confidence: float  # `thresholds.confidence`: the level of every interval
    dominance_items: frozenset[str] = frozenset()  # `thresholds.dominance_items`: magnitudes (D50)
    dominance_p: float = 10.0  # `thresholds.dominance_p`
    derived_categories: dict[str, list[str]] = field(default_factory=dict)  # a derived variable's keys, in order
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # variable -> answer code -> label
    universes: dict[str, str] = field(default_factory=dict)  # a universe's name -> its pandas query
    breaks: dict[str, list[int]] = field(default_factory=dict)  # item -> the years with a series break
    weighting: dict[int, dict[str, Any]] = field(default_factory=dict)  # the weights stage's result by year
    apply_weights: bool = False  # `weighting.apply_to_tables`
    masks: dict[tuple[int, str], pd.Series] = field(default_factory=dict)  # cache: (year, query) -> rows
    groups: dict[tuple[Any, ...], list[tuple[str, str, Any]]] = field(default_factory=dict)  # cache: group masks


def category_keys(item: str, spec: TableBase, ctx: EngineContext) -> list[str]:
    """Categories of an item: explicit in the spec, derived keys from config, or datamap codes."""
    if spec.categories is not None:
        return list(spec.categories)
    if item in ctx.derived_categories:
        return list(ctx.derived_categories[item])
    return list(ctx.codes.get(item, {}).keys())


def _category_text(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def as_key(series: pd.Series) -> pd.Series:
    """Values as category keys: codes `1.0` -> `1`, text unchanged (numeric columns in bulk)."""
    if pd.api.types.is_float_dtype(series) or pd.api.types.is_integer_dtype(series):
        return pd.Series(number_text(series, None), index=series.index, dtype=object)
    return series.map(_category_text)


def groups_of(
    frame: pd.DataFrame, by: list[str], ctx: EngineContext, by_only: bool = False
) -> list[tuple[str, str, pd.Series]]:
    """(dimension, group label, mask) for `all` (unless `by_only`) and every key of every breakdown."""
    out = [] if by_only else [("", "all", pd.Series(True, index=frame.index))]
    for dim in by:
        if dim not in frame.columns:
            continue
        keys = as_key(frame[dim])
        for key in ctx.derived_categories.get(dim) or sorted(keys.dropna().unique()):
            out.append((dim, f"{dim}={key}", keys == str(key)))
    return out


def universe_mask(frame: pd.DataFrame, year: int, expr: str, ctx: EngineContext) -> pd.Series:
    """Rows of a year's frame in a universe expression, evaluated once per year and expression
    (`DataFrame.eval` costs more than the counting it selects for)."""
    cache = ctx.masks
    key = (year, expr)
    if key not in cache:
        cache[key] = frame.eval(expr).astype(bool)
    return cache[key]


def context(cfg: RunConfig, tables_spec: TablesSpec) -> EngineContext:
    """What the engine needs besides the data: categories, codes, universes, thresholds, breaks."""
    from schemas.datamap import parse_codes

    derived = {k: list(v) for k, v in tables_spec.derived_categories.items()}
    derived["province"] = list(cfg.region.provinces)
    derived["sector"] = list(cfg.sectors.order)
    codes: dict[str, dict[str, str]] = {}
    for row in cfg.all_datamap_rows:
        labels = parse_codes(row.codes).labels
        if labels and row.variable not in codes:
            codes[row.variable] = labels
    return EngineContext(
        confidence=cfg.thresholds.confidence,
        dominance_items=frozenset(cfg.thresholds.dominance_items),
        dominance_p=float(cfg.thresholds.dominance_p),
        derived_categories=derived,
        codes=codes,
        universes=dict(tables_spec.universes),
        breaks={k: list(v) for k, v in cfg.breaks.items()},
    )


def weighting_context(
    ctx: EngineContext,
    frames: dict[int, pd.DataFrame],
    weighting: dict[int, dict[str, Any]] | None,
    cfg: RunConfig,
) -> EngineContext:
    """The weights stage's results in the engine's context; with `weighting.apply_to_tables`, every
    year of the run must have usable weights (a weighted year beside an unweighted one would compare
    two methods)."""
    ctx.weighting = dict(weighting or {})
    ctx.apply_weights = cfg.weighting.apply_to_tables
    if ctx.apply_weights:
        for year in frames:
            got = ctx.weighting.get(year) or {}
            if not got.get("frame") or got.get("problem") or WEIGHT not in frames[year].columns:
                why = got.get("problem") or f"no frame ({cfg.frame_file(year)})"
                raise ConfigError(
                    f"weighting.apply_to_tables is on, but {year} has no weights: {why}; "
                    "add the year's frame or switch apply_to_tables off."
                )
    return ctx
