"""Operator artifacts: the key figures and a year-over-year QA diff (anchors.md section 2: SDD's
`difference.py`), published to the Prefect UI with stable keys per year so their history shows."""

from __future__ import annotations

from typing import Any

import pandas as pd
from prefect import task

from innomon import refs
from innomon.prefect_support import bound_to_store
from schemas.cells import read_tables_csv
from schemas.config import RunConfig

KEY_TABLES = ("K01", "K02", "K03")


def key_figures(cells: pd.DataFrame, year: int) -> list[dict[str, Any]]:
    """K01-K03 of the year as rows for a table artifact."""
    rows = cells[cells["table_id"].isin(KEY_TABLES) & (cells["year"] == year) & (cells["group"] == "all")]
    return [
        {
            "table": r["table_id"],
            "item": r["item"],
            "stat": r["stat"],
            "value": None if pd.isna(r["value"]) else round(float(r["value"]), 1),
            "flag": r["flag"],
        }
        for _, r in rows.iterrows()
    ]


def qa_diff(
    cells: pd.DataFrame, year: int, tolerance_pp: float, tolerance_mean: float, min_n: int
) -> list[dict[str, Any]]:
    """Every overall figure that moved more than the tolerance since the previous year (both bases
    at least `min_n`): shares by percentage points, means by a relative change."""
    keys = ["table_id", "group", "item", "category", "stat"]
    cur = cells[(cells["year"] == year) & (cells["group"] == "all") & cells["value"].notna()]
    prev = cells[(cells["year"] == year - 1) & (cells["group"] == "all") & cells["value"].notna()]
    both = cur.merge(prev[[*keys, "value", "n"]], on=keys, suffixes=("", "_previous"))
    both = both[(both["n"] >= min_n) & (both["n_previous"] >= min_n)]
    out = []
    for _, r in both.iterrows():
        change = float(r["value"]) - float(r["value_previous"])
        if r["stat"] in ("pct", "pct_top"):
            moved = abs(change) > tolerance_pp
        else:
            base = abs(float(r["value_previous"])) or 1.0
            moved = abs(change) / base > tolerance_mean
        if moved:
            out.append(
                {
                    "table": r["table_id"],
                    "item": r["item"],
                    "category": r["category"],
                    "stat": r["stat"],
                    "previous": round(float(r["value_previous"]), 2),
                    "current": round(float(r["value"]), 2),
                    "change": round(change, 2),
                    "sig": r["sig"],
                }
            )
    return sorted(out, key=lambda d: -abs(d["change"]))


@task(name="qa-artifacts")
@bound_to_store
def qa_artifacts_task(tables: dict[str, Any], cfg_ref: dict[str, Any], processed_root: str) -> dict[str, int]:
    """Never cached: publishes the key figures and the QA diff of the year to the Prefect UI.
    `processed_root`: the store whose objects `tables` names."""
    from prefect.artifacts import create_table_artifact

    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    year = cfg.year
    cells = read_tables_csv(refs.get_bytes(tables["tables_csv"]))
    qa = cfg.qa  # None only in a per-year view: the defaults of base.yaml
    diff = qa_diff(
        cells,
        year,
        qa.tolerance_pp if qa else 5.0,
        qa.tolerance_mean if qa else 0.10,
        cfg.thresholds.reliability_min_n,
    )
    figures = key_figures(cells, year)
    create_table_artifact(key=f"innomon-{year}-key-figures", table=figures, description=f"Kerncijfers monitor {year}")
    create_table_artifact(
        key=f"innomon-{year}-qa-diff",
        table=diff or [{"result": "no figure moved more than the tolerance"}],
        description=f"Cijfers die sinds {year - 1} meer dan de tolerantie bewogen",
    )
    return {"key_figures": len(figures), "qa_diff": len(diff)}
