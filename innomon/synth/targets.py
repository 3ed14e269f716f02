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
    return df


class Targets:
    """Lookup of the report's figures for one monitor year."""

    def __init__(self, year: int, path: Path | None = None) -> None:
        self.year = year
        self.df = _figures(str(path or config_dir() / "calibration" / "report_figures.csv"))

    def _rows(self, item: str, stat: str, group: str = "all") -> pd.DataFrame:
        rows = self.df[(self.df["item"] == item) & (self.df["stat"] == stat) & (self.df["group"] == group)]
        rows = rows[rows["year"].isin([2021, 2022, 2023])]
        if rows.empty:
            return rows
        years = sorted(rows["year"].unique(), key=lambda y: (abs(y - self.year), -y))
        return rows[rows["year"] == years[0]]

    def has(self, item: str, stat: str, group: str = "all") -> bool:
        """Whether the report gives this figure for exactly this year."""
        rows = self._rows(item, stat, group)
        return not rows.empty and int(rows["year"].iloc[0]) == self.year

    def value(
        self, item: str, stat: str, category: str = "", default: float | None = None, group: str = "all"
    ) -> float | None:
        """One figure (nearest year), or the default."""
        rows = self._rows(item, stat, group)
        if category:
            rows = rows[rows["category"] == category]
        if rows.empty:
            return default
        return float(rows["value"].iloc[0])

    def distribution(self, item: str, categories: list[str], default: list[float], group: str = "all") -> list[float]:
        """Shares over categories (normalised to sum 1). Categories the report leaves out share the
        rest of the mass in proportion to the default; no figures at all gives the default."""
        rows = self._rows(item, "pct", group)
        found = {r["category"]: float(r["value"]) for _, r in rows.iterrows() if r["category"] in categories}
        if not found:
            values = list(default)
        elif len(found) == len(categories):
            values = [found[c] for c in categories]
        else:
            rest = max(0.0, 100.0 - sum(found.values()))
            missing = [i for i, c in enumerate(categories) if c not in found]
            weight = sum(default[i] for i in missing) or 1.0
            values = [found[c] if c in found else rest * default[i] / weight for i, c in enumerate(categories)]
        total = sum(values)
        return [v / total for v in values]
