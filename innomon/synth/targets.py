"""Calibration targets for the generator: the report's figures (configs/calibration/report_figures.csv).

Tabel 1's rows do not sum to 100 (2022: 74, 2023: 78); the generator normalises them to 100 and
docs/decisions.md records that choice. A figure the report does not give for a year falls back to
the nearest year that has it, then to a documented default.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from innomon.config import config_dir


@lru_cache(maxsize=2)
def _figures(path: str) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"category": str, "group": str}, keep_default_na=False)
    df["value"] = pd.to_numeric(df["value"])
    return df[df["group"] == "all"]


class Targets:
    """Lookup of the report's figures for one monitor year."""

    def __init__(self, year: int, path: Path | None = None) -> None:
        self.year = year
        self.df = _figures(str(path or config_dir() / "calibration" / "report_figures.csv"))

    def _rows(self, item: str, stat: str) -> pd.DataFrame:
        rows = self.df[(self.df["item"] == item) & (self.df["stat"] == stat)]
        rows = rows[rows["year"].isin([2021, 2022, 2023])]
        if rows.empty:
            return rows
        years = sorted(rows["year"].unique(), key=lambda y: (abs(y - self.year), -y))
        return rows[rows["year"] == years[0]]

    def value(self, item: str, stat: str, category: str = "", default: float | None = None) -> float | None:
        """One figure (nearest year), or the default."""
        rows = self._rows(item, stat)
        if category:
            rows = rows[rows["category"] == category]
        if rows.empty:
            return default
        return float(rows["value"].iloc[0])

    def distribution(self, item: str, categories: list[str], default: list[float]) -> list[float]:
        """Shares over categories (normalised to sum 1); default when the report has none."""
        rows = self._rows(item, "pct")
        found = {r["category"]: r["value"] for _, r in rows.iterrows()}
        if not found:
            values = list(default)
        else:
            values = [float(found.get(c, 0.0)) for c in categories]
        total = sum(values)
        return [v / total for v in values]
