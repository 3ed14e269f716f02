"""Chart assets a designer can place as they are: every text on the canvas, no two texts on top of
each other (measured with matplotlib's own text extents), values on the bars, 300 dpi."""

from __future__ import annotations

import gc
import io
from itertools import combinations

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from innomon import config
from tasks.publish.charts import DPI, STYLE, chart_frame, figure
from tasks.publish.labels import item_labels
from tests.helpers import latest_release, read_tables

CHARTED = [t.id for t in config.load_typed(2023).table_specs if t.chart]


def _texts(fig: Figure) -> list[Text]:
    """Every text a reader sees: title, tick labels inside the axis range, axis labels, values on
    the bars, legend entries."""
    texts = list(fig.texts)
    for ax in fig.axes:
        lo, hi = sorted(ax.get_xlim())
        texts += [t for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]
        texts += list(ax.get_yticklabels()) + list(ax.texts) + [ax.xaxis.label, ax.yaxis.label, ax.title]
    for legend in fig.legends:
        texts += legend.get_texts()
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("table_id", CHARTED)
def test_every_text_is_on_the_canvas_and_none_overlaps(demo: dict, table_id: str) -> None:
    cfg = config.load_typed(2023)
    spec = cfg.table(table_id)
    frame = chart_frame(read_tables(latest_release(demo["store"], 2023)), spec, 2023)
    labels, cats = item_labels(cfg)
    with plt.rc_context(STYLE):
        fig = figure(frame, spec, labels, cats, 2023)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _texts(fig)]
        canvas = fig.bbox
        plt.close(fig)
    assert len(boxes) > 10
    for text, box in boxes:
        assert box.x0 >= -0.5 and box.y0 >= -0.5, (text, box)
        assert box.x1 <= canvas.width + 0.5 and box.y1 <= canvas.height + 0.5, (text, box, canvas)
    for (a, box_a), (b, box_b) in combinations(boxes, 2):
        overlap_w = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        overlap_h = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        assert not (overlap_w > 0.5 and overlap_h > 0.5), (a, b)
    values = [t for t, _ in boxes if t.replace(",", "").isdigit()]
    assert len(values) >= frame["value"].ge(6).sum() * 0.5  # the bars carry their values


def test_chart_assets_are_300_dpi_and_vector(demo: dict) -> None:
    release = latest_release(demo["store"], 2023)
    for table_id in CHARTED:
        png = Image.open(io.BytesIO((release / "charts" / f"{table_id}.png").read_bytes()))
        assert round(png.info["dpi"][0]) == DPI and png.width == 8 * DPI, (table_id, png.info, png.size)
        assert "<svg" in (release / "charts" / f"{table_id}.svg").read_text()


def test_worker_processes_draw_the_bytes_this_process_draws(demo: dict) -> None:
    """The chart workers are forked from a server that imported the drawing code and froze it out of
    the collector's reach (`chart_server`): what they draw is byte for byte what this process draws."""
    from tasks.publish import chart_workers
    from tasks.publish.charts import render

    pool = chart_workers._pool()
    if pool is None:
        pytest.skip("one core or INNOMON_CHART_PROCESSES=0: charts are drawn in this process")
    cfg = config.load_typed(2023)
    cells = read_tables(latest_release(demo["store"], 2023))
    labels, cats = item_labels(cfg)
    specs = [t for t in cfg.table_specs if t.id in CHARTED[:2]]
    jobs = [(chart_frame(cells, spec, 2023), spec, labels, cats, 2023) for spec in specs]
    rendering = chart_workers.Rendering(jobs)
    assert rendering.futures is not None
    # the workers' own results: `Rendering.result()` would fall back to drawing here on a failure
    assert [f.result(timeout=300) for f in rendering.futures] == [render(*job) for job in jobs]
    assert pool.submit(gc.get_freeze_count).result(timeout=60) > 10_000  # the imports the workers inherit frozen
