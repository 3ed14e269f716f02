"""Chart assets for the report's designers: `charts/ID.png` (preview) and `charts/ID.svg`.

One house style, readable in greyscale (grey shades plus hatching, never colour alone), Dutch number
presentation, and deterministic bytes (fixed SVG hash salt, no dates in the metadata).
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter

GREYS = ["#1a1a1a", "#6e6e6e", "#b4b4b4", "#dcdcdc", "#8c8c8c"]
HATCHES = ["", "//", "..", "xx", "\\\\"]
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "innomon",
    "svg.fonttype": "none",
}


def dutch(value: float, decimals: int = 0) -> str:
    """`12.5` -> `12,5` (Dutch decimal comma)."""
    return f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


def chart_frame(cells: pd.DataFrame, spec: dict[str, Any], year: int) -> pd.DataFrame:
    """The cells a chart shows: group `all`, the chart's statistic (and category), current year
    first; suppressed or unasked cells are left out."""
    chart = spec["chart"]
    block = cells[(cells["table_id"] == spec["id"]) & (cells["group"] == "all") & (cells["stat"] == chart["stat"])]
    if chart.get("category") is not None:
        block = block[block["category"] == str(chart["category"])]
    if chart.get("kind") == "stacked":
        block = block[block["year"] == year]
    return block[block["value"].notna()]


def render(
    frame: pd.DataFrame, spec: dict[str, Any], labels: dict[str, str], cats: dict[str, dict[str, str]], year: int
) -> tuple[bytes, bytes, str]:
    """(png, svg, alt text) of one chart."""
    chart = spec["chart"]
    single_item = frame["item"].nunique() == 1
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 0.45 * max(4, frame["item"].nunique() + 2)), dpi=100)
        if chart.get("kind") == "stacked":
            items = list(dict.fromkeys(frame["item"]))
            left = [0.0] * len(items)
            for k, (cat, block) in enumerate(frame.groupby("category", sort=False)):
                values = [float(block.loc[block["item"] == i, "value"].sum()) for i in items]
                ax.barh(
                    range(len(items)),
                    values,
                    left=left,
                    color=GREYS[k % 5],
                    hatch=HATCHES[k % 5],
                    edgecolor="black",
                    linewidth=0.4,
                    label=cats.get(items[0], {}).get(cat, cat),
                )
                left = [a + b for a, b in zip(left, values, strict=True)]
            ax.set_yticks(range(len(items)), [_wrap(labels.get(i, i)) for i in items])
        else:
            keys = list(dict.fromkeys(frame["category"] if single_item else frame["item"]))
            years = sorted(frame["year"].unique(), reverse=True)
            height = 0.8 / len(years)
            for k, y in enumerate(years):
                block = frame[frame["year"] == y]
                col = block["category"] if single_item else block["item"]
                values = [float(block.loc[col == key, "value"].sum()) for key in keys]
                pos = [i + k * height for i in range(len(keys))]
                ax.barh(
                    pos,
                    values,
                    height=height,
                    color=GREYS[k % 5],
                    hatch=HATCHES[k % 5],
                    edgecolor="black",
                    linewidth=0.4,
                    label=f"Monitor {y}",
                )
            item = frame["item"].iloc[0]
            names = [cats.get(item, {}).get(k, k) for k in keys] if single_item else [labels.get(k, k) for k in keys]
            ax.set_yticks([i + height * (len(years) - 1) / 2 for i in range(len(keys))], [_wrap(n) for n in names])
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: dutch(v)))
        ax.set_xlabel("Percentage (%)")
        ax.set_title(f"{spec.get('report', spec['id'])}: {spec['title']} ({year})", loc="left", fontsize=11)
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.4, -0.12), ncol=5, fontsize=8)
        fig.tight_layout()
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
        plt.close(fig)
    return png.getvalue(), svg.getvalue(), alt_text(frame, spec, labels, cats, year)


def alt_text(
    frame: pd.DataFrame, spec: dict[str, Any], labels: dict[str, str], cats: dict[str, dict[str, str]], year: int
) -> str:
    """A sentence a screen reader can read: what the chart shows and its largest value."""
    current = frame[frame["year"] == year]
    if current.empty:
        return f"Staafdiagram: {spec['title']}; geen publiceerbare waarden voor {year}."
    top = current.loc[current["value"].idxmax()]
    single_item = frame["item"].nunique() == 1
    name = (
        cats.get(top["item"], {}).get(top["category"], top["category"])
        if single_item
        else labels.get(top["item"], top["item"])
    )
    return (
        f"Staafdiagram: {spec['title']} in {year}, in procenten. Het hoogst is {name} met "
        f"{dutch(float(top['value']), 1)}%. De cijfers staan in tabel {spec['id']} van de werkmap."
    )


def _wrap(text: str, width: int = 48) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "\n".join(lines[:3])
