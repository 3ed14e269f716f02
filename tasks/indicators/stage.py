"""The indicator engine: evaluates every table spec of `configs/tables.yaml` for every year.

One engine, no per-table functions: a table is a universe, an explicit item list, statistics and
breakdowns. Output is the tidy cell table of SPEC section 5 (`data/tables.csv`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from innomon import refs, storage
from innomon.hashing import sha256_bytes
from innomon.prefect_support import cached_stage
from schemas.cells import (
    COLUMNS,
    Cell,
    cells_frame,
    cells_json_bytes,
    read_cells_json,
    read_tables_csv,
    tables_csv_bytes,
)
from schemas.config import PanelChangeTable, PanelTransitionsTable, RunConfig, TableBase, TablesSpec
from tasks.indicators.context import WEIGHT, EngineContext, context, weighting_context
from tasks.indicators.kinds import KINDS, TableInput
from tasks.indicators.statistics import significance, suppress


def table_years(spec: TableBase, frames: dict[int, pd.DataFrame], cfg: RunConfig) -> list[int]:
    """The years a table covers: the current year and the comparison years it asks for."""
    current = cfg.year
    years = [y for y in frames if y == current or y in cfg.comparison_years]
    if spec.years:
        years = [y for y in years if y in spec.years or y == current]
    return years


def table_rows(
    spec: TableBase,
    frames: dict[int, pd.DataFrame],
    facts: dict[int, dict[str, Any]],
    cfg: RunConfig,
    ctx: EngineContext,
) -> list[Cell]:
    """The unsuppressed cells of one table spec (the unit of work of a per-table task), computed by
    its kind's function in the registry."""
    years = table_years(spec, frames, cfg)
    data = TableInput(frames, facts, years, cfg.year, cfg.table_specs)
    return KINDS[type(spec)](spec, data, ctx)


def finish_tables(
    rows: list[Cell], frames_years: list[int], cfg: RunConfig, earlier: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Disclosure control (with `earlier`: what the comparison years' releases published),
    significance and the output schema over the cells of every table; returns the cells and the
    disclosure record."""
    current = cfg.year
    cells = cells_frame(rows)
    th = cfg.thresholds
    cells, record = suppress(cells, cfg, earlier)
    previous = current - 1 if current - 1 in frames_years and current - 1 in cfg.comparison_years else None
    cells = significance(cells, current, previous, th.reliability_min_n, th.alpha)
    check = cells.copy()
    check["value"] = check["value"].astype(float)
    check["n"] = check["n"].astype(float)
    from schemas.outputs import TABLES_SCHEMA
    from schemas.validation import validate_lazy

    validate_lazy(TABLES_SCHEMA, check, "data/tables.csv", "tables")
    return cells[COLUMNS].reset_index(drop=True), record


def compute_tables(
    frames: dict[int, pd.DataFrame],
    facts: dict[int, dict[str, Any]],
    cfg: RunConfig,
    tables_spec: TablesSpec,
    weighting: dict[int, dict[str, Any]] | None = None,
    earlier: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every table of the spec for the current year and its comparison years, as tidy cells (and
    the disclosure record)."""
    from innomon import progress

    ctx = weighting_context(context(cfg, tables_spec), frames, weighting, cfg)
    rows: list[dict[str, Any]] = []
    with progress.steps("indicators", cfg.year, len(tables_spec.tables) + 1) as step:
        for spec in tables_spec.tables:
            step(f"table {spec.id}")
            rows.extend(table_rows(spec, frames, facts, cfg, ctx))
        step("disclosure control and significance")
        return finish_tables(rows, list(frames), cfg, earlier)


def load_linked(linked: list[dict[str, Any]]) -> tuple[dict[int, pd.DataFrame], dict[int, dict[str, Any]]]:
    """Respondent frames (current year first, then older) and facts of the linked years."""

    frames = {int(x["year"]): refs.get_frame(x["respondents"]) for x in linked}
    facts = {int(x["year"]): dict(x["facts"]) for x in linked}
    return {y: frames[y] for y in sorted(frames, reverse=True)}, facts


def attach_weights(frames: dict[int, pd.DataFrame], weights: list[dict[str, Any]] | None) -> dict[int, dict[str, Any]]:
    """Each year's raking weights as column `_weight` of its respondents (by response_id); returns the
    weights stage's results by year for the engine's context."""
    out: dict[int, dict[str, Any]] = {}
    for result in weights or []:
        year = int(result["year"])
        out[year] = result
        if year in frames and result.get("weights") and not result.get("problem"):
            table = refs.get_frame(result["weights"]).set_index("response_id")["weight"]
            frames[year] = frames[year].assign(
                **{WEIGHT: frames[year]["response_id"].astype(str).map(table).fillna(0.0)}
            )
    return out


def earlier_releases(previous: dict[str, Any] | None) -> dict[int, pd.DataFrame]:
    """The comparison years' latest releases' tables.csv, by year."""
    return {int(y): read_tables_csv(refs.get_bytes(r)) for y, r in (previous or {}).items() if r}


def published_before(published: dict[int, pd.DataFrame]) -> pd.DataFrame | None:
    """Every cell the earlier releases show, in one frame (what an intruder holds besides this one)."""
    return pd.concat([published[y] for y in sorted(published)], ignore_index=True) if published else None


def store_tables(
    cells: pd.DataFrame,
    record: dict[str, Any],
    cfg: RunConfig,
    processed_root: str,
    previous: dict[str, Any] | None,
    published: dict[int, pd.DataFrame],
) -> dict[str, Any]:
    """Mark revisions against the published comparison years; store tables.csv and the disclosure
    record (private: which cells are primary says something of their values)."""
    from tasks.indicators.revisions import mark_revisions

    panel_tables = {t.id for t in cfg.table_specs if isinstance(t, PanelTransitionsTable | PanelChangeTable)}
    cells = mark_revisions(cells, published, panel_tables)
    root = storage.join(processed_root, str(cfg.year))
    data = tables_csv_bytes(cells)
    record = {**record, "earlier": dict(sorted((previous or {}).items())), "tables_sha256": sha256_bytes(data)}
    return {
        "year": cfg.year,
        "tables": int(cells["table_id"].nunique()),
        "cells": len(cells),
        "tables_csv": refs.put_bytes(root, "tables", data, "csv"),
        "disclosure": refs.put_json(storage.join(root, "private"), "disclosure", record),
    }


@cached_stage("indicators")
def indicators_task(
    linked: list[dict[str, Any]],
    cfg_ref: dict[str, Any],
    processed_root: str,
    previous: dict[str, Any] | None = None,
    weights: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Prefect wrapper: respondent tables of the year and its comparison years -> tables.csv.
    `previous` references each comparison year's last published tables.csv (for the `r` flag);
    `weights` the weights stage's results (R01, R02, and every table when configured)."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    frames, facts = load_linked(linked)
    weighting = attach_weights(frames, weights)
    published = earlier_releases(previous)
    cells, record = compute_tables(frames, facts, cfg, cfg.tables_spec, weighting, published_before(published))
    return store_tables(cells, record, cfg, processed_root, previous, published)


# The same stage split per table, for a distributed task runner (Dask): one task per table,
# then one that suppresses, tests and stores them all. Same cells, byte for byte.


@cached_stage("table", report=False)
def table_task(
    table_id: str,
    linked: list[dict[str, Any]],
    cfg_ref: dict[str, Any],
    processed_root: str,
    weights: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The unsuppressed cells of one table, stored as JSON (floats exactly as computed)."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    spec = cfg.table(table_id)
    frames, facts = load_linked(linked)
    weighting = attach_weights(frames, weights)
    ctx = weighting_context(context(cfg, cfg.tables_spec), frames, weighting, cfg)
    rows = table_rows(spec, frames, facts, cfg, ctx)
    root = storage.join(processed_root, str(cfg.year), "table-cells")
    return refs.put_bytes(root, table_id, cells_json_bytes(rows), "json")


@cached_stage("tables-assemble")
def tables_assemble_task(
    table_refs: list[dict[str, Any]],
    linked: list[dict[str, Any]],
    cfg_ref: dict[str, Any],
    processed_root: str,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """All tables in spec order -> suppression, significance, revisions -> tables.csv."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    rows: list[dict[str, Any]] = []
    for ref in table_refs:
        rows.extend(read_cells_json(refs.get_bytes(ref)))
    years = sorted((int(x["year"]) for x in linked), reverse=True)
    published = earlier_releases(previous)
    cells, record = finish_tables(rows, years, cfg, published_before(published))
    return store_tables(cells, record, cfg, processed_root, previous, published)
