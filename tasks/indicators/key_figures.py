"""Table kind `key_figures` (K01): counts of the run and ratios of two of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from innomon.errors import ConfigError
from schemas.cells import Cell
from tasks.indicators.context import EngineContext
from tasks.indicators.statistics import wilson

if TYPE_CHECKING:
    from schemas.config import KeyFiguresTable


def key_figures(spec: KeyFiguresTable, facts: dict[int, dict[str, Any]], ctx: EngineContext) -> list[Cell]:
    """K01-style figures from the run's counts (invited, responses, valid, response rate, repeats)."""
    rows = []
    conf = ctx.confidence
    for figure in spec.figures:
        name = figure.item
        for year, f in facts.items():
            num = f.get(figure.numerator) if figure.numerator else None
            den = f.get(figure.denominator) if figure.denominator else None
            if figure.stat == "n":
                value = f.get(figure.source) if figure.source else None
                rows.append(
                    Cell(
                        table_id=spec.id,
                        year=year,
                        item=name,
                        stat="n",
                        value=None if value is None else float(value),
                        n=None if value is None else int(value),
                        flag="" if value is not None else "x",
                    )
                )
            else:
                if num is None or not den:
                    rows.append(Cell(table_id=spec.id, year=year, item=name, stat="pct", flag="x"))
                    continue
                if num > den:  # e.g. more valid responses than firms invited: the config is wrong
                    raise ConfigError(
                        f"{year}: {figure.numerator} ({num}) exceeds {figure.denominator} ({den}); "
                        f"check `{figure.denominator}` in configs/{year}.yaml."
                    )
                lo, hi = wilson(int(num), int(den), conf)
                rows.append(
                    Cell(
                        table_id=spec.id,
                        year=year,
                        item=name,
                        stat="pct",
                        value=100.0 * num / den,
                        n=int(den),
                        ci_low=lo,
                        ci_high=hi,
                    )
                )
    return rows
