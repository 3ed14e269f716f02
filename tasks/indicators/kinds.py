"""The registry of table kinds: each kind of `tables.yaml` and the function that computes its cells.

A table's `kind` chose its model when the configuration was read (`schemas.config.TABLE_MODELS`);
the engine (`stage.table_rows`) looks that model up here and hands it the run's data. A new kind is
a model in `schemas/config.py`, one module of this package and one line below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from schemas.cells import Cell
from schemas.config import (
    DistributionTable,
    KeyFiguresTable,
    PanelChangeTable,
    PanelTransitionsTable,
    ResponseByStratumTable,
    TableBase,
    WeightedComparisonTable,
)
from tasks.indicators import distribution, key_figures, panel, weighted
from tasks.indicators.context import EngineContext


@dataclass(frozen=True)
class TableInput:
    """What a table kind may read of the run: every year's respondents and counts, the years this
    table covers, the current year, and every table of the spec (R02 compares others)."""

    frames: dict[int, pd.DataFrame]
    facts: dict[int, dict[str, Any]]
    years: list[int]
    current: int
    tables: list[TableBase]


def _distribution(spec: DistributionTable, data: TableInput, ctx: EngineContext) -> list[Cell]:
    return distribution.evaluate_table(spec, {y: data.frames[y] for y in data.years}, ctx)


def _key_figures(spec: KeyFiguresTable, data: TableInput, ctx: EngineContext) -> list[Cell]:
    return key_figures.key_figures(spec, {y: data.facts[y] for y in data.years}, ctx)


def _previous_panel(data: TableInput) -> pd.DataFrame | None:
    """The previous year's respondents, when this run has them with panel ids."""
    prev = data.frames.get(data.current - 1)
    return prev if prev is not None and "panel_id" in prev.columns else None


def _panel_transitions(spec: PanelTransitionsTable, data: TableInput, ctx: EngineContext) -> list[Cell]:
    prev = _previous_panel(data)
    if prev is None:
        return []  # no previous year in this run: no panel
    return panel.panel_transitions(spec, data.frames[data.current], prev, data.current, ctx)


def _panel_change(spec: PanelChangeTable, data: TableInput, ctx: EngineContext) -> list[Cell]:
    prev = _previous_panel(data)
    if prev is None:
        return []
    return panel.panel_change(spec, data.frames[data.current], prev, data.current, data.current - 1, ctx)


def _weighting(data: TableInput, ctx: EngineContext) -> dict[str, Any] | None:
    return ctx.weighting.get(data.current)


def _response_by_stratum(spec: ResponseByStratumTable, data: TableInput, ctx: EngineContext) -> list[Cell]:
    return weighted.response_rows(spec, data.frames[data.current], _weighting(data, ctx), data.current, ctx)


def _weighted_comparison(spec: WeightedComparisonTable, data: TableInput, ctx: EngineContext) -> list[Cell]:
    frame = data.frames[data.current]
    return weighted.weighted_rows(spec, frame, _weighting(data, ctx), data.current, data.tables, ctx)


# A kind's function takes its own class of `schemas.config` (the engine hands each table to its kind's entry).
TableKind = Callable[[Any, TableInput, dict[str, Any]], list[Cell]]

# Keyed by the kind's model, the class the configuration's discriminated union gave the table.
KINDS: dict[type[TableBase], TableKind] = {
    DistributionTable: _distribution,
    KeyFiguresTable: _key_figures,
    PanelTransitionsTable: _panel_transitions,
    PanelChangeTable: _panel_change,
    ResponseByStratumTable: _response_by_stratum,
    WeightedComparisonTable: _weighted_comparison,
}
