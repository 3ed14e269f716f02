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
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter
from PIL import Image

from schemas.config import TableBase
from tasks.publish.layout import dutch

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


def chart_frame(cells: pd.DataFrame, spec: TableBase, year: int) -> pd.DataFrame:
    """The cells a chart shows: group `all`, the chart's statistic (and category), current year
    first; suppressed or unasked cells are left out."""
    chart = spec.chart
    assert chart is not None, f"table {spec.id} has no chart"
    block = cells[(cells["table_id"] == spec.id) & (cells["group"] == "all") & (cells["stat"] == chart.stat)]
    if chart.category is not None:
        block = block[block["category"] == str(chart.category)]
    if chart.kind == "stacked":
        block = block[block["year"] == year]
    return block[block["value"].notna()]


WIDTH_IN = 8.0  # the report's text width, about 20 cm
DPI = 300  # print resolution of the PNG; the SVG is the designer's vector original
BAR_IN = 0.17  # height of one bar, inches (a 7 pt value fits): a chart grows with its bars
STACKED_BAR_IN = 0.42
TITLE_PT = 11
VALUE_PT = 7


def render(
    frame: pd.DataFrame, spec: TableBase, labels: dict[str, str], cats: dict[str, dict[str, str]], year: int
) -> tuple[bytes, bytes, str]:
    """(png, svg, alt text) of one chart."""
    with plt.rc_context(STYLE):
        fig = figure(frame, spec, labels, cats, year)
        # Lay out once and keep it: each savefig would run constrained layout again (a third of the
        # time of a chart); positions are in figure fractions, the same for the PNG and the SVG. No
        # engine at all afterwards: "none" leaves a placeholder for which every savefig draws the
        # whole figure once more before drawing it into the file.
        fig.get_layout_engine().execute(fig)
        fig.set_layout_engine(None)
        svg = io.BytesIO()
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
        fig.set_dpi(DPI)  # what savefig(dpi=DPI) does for the PNG; the SVG is written at its own 72
        fig.canvas.draw()
        pixels = np.asarray(fig.canvas.buffer_rgba())
        plt.close(fig)
    return png_bytes(pixels), svg.getvalue(), alt_text(frame, spec, labels, cats, year)


def png_bytes(pixels: np.ndarray) -> bytes:
    """The PNG of an RGBA raster at `DPI`, without a date or software stamp. The house style is grey,
    so a chart whose every pixel is an opaque grey is stored as an 8-bit greyscale PNG: the same
    pixels, under half the file, and a quarter of the bytes to compress (compressing RGBA was a fifth
    of the time of a chart). A chart that ever holds colour keeps RGBA."""
    red, green, blue, alpha = (pixels[..., k] for k in range(4))
    if (alpha == 255).all() and (red == green).all() and (green == blue).all():
        image = Image.fromarray(np.ascontiguousarray(red))  # 2-D uint8: mode "L"
    else:
        image = Image.fromarray(np.ascontiguousarray(pixels))  # (h, w, 4) uint8: mode "RGBA"
    out = io.BytesIO()
    image.save(out, format="png", dpi=(DPI, DPI))
    return out.getvalue()


def figure(
    frame: pd.DataFrame, spec: TableBase, labels: dict[str, str], cats: dict[str, dict[str, str]], year: int
) -> Any:
    """The chart as a matplotlib Figure (call inside `plt.rc_context(STYLE)`).

    Laid out so that a designer can place it as it is: the title wraps to the canvas, the legend has
    its own row(s) under the axes (constrained layout keeps every text on the canvas), the height
    grows with the number of bars, and each bar carries its value in Dutch notation."""
    stacked = spec.chart is not None and spec.chart.kind == "stacked"
    single_item = frame["item"].nunique() == 1
    if stacked:
        items = list(dict.fromkeys(frame["item"]))
        bars_in = STACKED_BAR_IN * len(items)
    else:
        keys = list(dict.fromkeys(frame["category"] if single_item else frame["item"]))
        years = sorted(frame["year"].unique(), reverse=True)
        bars_in = BAR_IN * len(keys) * len(years) + 0.12 * len(keys)
    title = f"{spec.report}: {spec.title} ({year})"
    fig = plt.figure(figsize=(WIDTH_IN, 1.6 + bars_in), layout="constrained")
    ax = fig.add_subplot()
    handles = []
    if stacked:
        left = [0.0] * len(items)
        for k, (cat, block) in enumerate(frame.groupby("category", sort=False)):
            values = [float(block.loc[block["item"] == i, "value"].sum()) for i in items]
            bars = ax.barh(
                range(len(items)),
                values,
                left=left,
                height=0.7,
                color=GREYS[k % 5],
                hatch=HATCHES[k % 5],
                edgecolor="black",
                linewidth=0.4,
                label=cats.get(items[0], {}).get(cat, cat),
            )
            # A value inside its segment where the segment is wide enough to hold it.
            shown = [dutch(v) if v >= 6 else "" for v in values]
            ax.bar_label(
                bars,
                labels=shown,
                label_type="center",
                fontsize=VALUE_PT,
                color="white" if k % 5 in (0, 1, 4) else "black",
                bbox={"boxstyle": "square,pad=0.1", "facecolor": GREYS[k % 5], "edgecolor": "none"},
            )
            handles.append(bars)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks(range(len(items)), [_wrap(labels.get(i, i)) for i in items])
        ax.set_xlim(0, 100)
    else:
        height = 0.8 / len(years)
        top = 0.0
        for k, y in enumerate(years):
            block = frame[frame["year"] == y]
            col = block["category"] if single_item else block["item"]
            values = [float(block.loc[col == key, "value"].sum()) for key in keys]
            top = max([top, *values])
            pos = [i + k * height for i in range(len(keys))]
            bars = ax.barh(
                pos,
                values,
                height=height,
                color=GREYS[k % 5],
                hatch=HATCHES[k % 5],
                edgecolor="black",
                linewidth=0.4,
                label=f"Monitor {y}",
            )
            ax.bar_label(bars, labels=[dutch(v) for v in values], padding=2, fontsize=VALUE_PT)
            handles.append(bars)
        item = frame["item"].iloc[0]
        names = [cats.get(item, {}).get(k, k) for k in keys] if single_item else [labels.get(k, k) for k in keys]
        ax.set_yticks([i + height * (len(years) - 1) / 2 for i in range(len(keys))], [_wrap(n) for n in names])
        ax.set_xlim(0, max(top, 1.0) * 1.12)  # room for the values at the bars' ends
    ax.invert_yaxis()
    ax.tick_params(axis="y", length=0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: dutch(v)))
    ax.set_xlabel("Percentage (%)")
    names = [h.get_label() for h in handles]
    ncol = len(names) if sum(len(n) for n in names) <= 70 else -(-len(names) // 2)
    fig.legend(handles, names, loc="outside lower center", ncol=ncol, frameon=False, fontsize=8)
    fig.suptitle(_fit_title(fig, title), x=0.01, ha="left", fontsize=TITLE_PT)
    return fig


def _fit_title(fig: Any, title: str) -> str:
    """The title wrapped so that each line fits the canvas (measured with the renderer's own text
    extents, not guessed from a character count)."""
    import textwrap

    renderer = fig.canvas.get_renderer()
    limit = fig.bbox.width * 0.97
    for width in range(len(title), 20, -4):
        text = textwrap.fill(title, width=width)
        probe = fig.text(0, 0, text, fontsize=TITLE_PT)
        fits = probe.get_window_extent(renderer).width <= limit
        probe.remove()
        if fits:
            return text
    return textwrap.fill(title, width=20)


def alt_text(
    frame: pd.DataFrame, spec: TableBase, labels: dict[str, str], cats: dict[str, dict[str, str]], year: int
) -> str:
    """A sentence a screen reader can read: what the chart shows and its largest value."""
    current = frame[frame["year"] == year]
    if current.empty:
        return f"Staafdiagram: {spec.title}; geen publiceerbare waarden voor {year}."
    top = current.loc[current["value"].idxmax()]
    single_item = frame["item"].nunique() == 1
    name = (
        cats.get(top["item"], {}).get(top["category"], top["category"])
        if single_item
        else labels.get(top["item"], top["item"])
    )
    return (
        f"Staafdiagram: {spec.title} in {year}, in procenten. Het hoogst is {name} met "
        f"{dutch(float(top['value']), 1)}%. De cijfers staan in tabel {spec.id} van de werkmap."
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
