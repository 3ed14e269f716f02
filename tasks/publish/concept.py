"""The report draft: `innovatiemonitor-YEAR-concept.docx`, in the report's order, from the data.

The outline (`configs/report/outline.yaml`) names each section's paragraphs (Jinja2 sentence
templates), tables, charts and models; the Word template beside it (`template.docx`) carries the
authors' styles, fonts and page set-up. Tables are the same `Shaped` tables the workbook writes
(one layout engine, two writers); charts are the release's chart assets with their alt text.

python-docx rather than docxtpl: the draft's tables and charts vary in number and shape with the
outline, which python-docx builds directly; docxtpl fills a fixed document's placeholders and would
need every table shape written into the Word file by hand. The template is still the authors' own
file: its styles are the document's styles, its body is replaced.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from schemas.config import Outline, RunConfig
from tasks.publish.labels import labels_for
from tasks.publish.layout import Shaped, shape_model, shape_tables
from tasks.publish.sentences import Rendered, render_all
from tasks.publish.zipfiles import fixed_zip

FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
TEXT_CM = 16.0  # the page's text width
LANDSCAPE_TEXT_CM = 24.7  # the same page turned: 29.7 cm less the template's margins
PICTURE_WIDTH = Cm(TEXT_CM)


def concept_name(cfg: RunConfig) -> str:
    return f"innovatiemonitor-{cfg.year}-concept.docx"


def build_concept(
    cells: pd.DataFrame,
    models: pd.DataFrame,
    fits: pd.DataFrame | None,
    cfg: RunConfig,
    meta: dict[str, Any],
    charts: dict[str, tuple[bytes, str]],
    template: Path,
    tables: list[Shaped] | None = None,
) -> tuple[bytes, bytes]:
    """(the .docx bytes, the sentence trace as JSON bytes). `charts`: chart id -> (png, alt text);
    `tables`: the tables in the report's shape when the caller has them already (as for the workbook)."""
    outline = cfg.report
    if outline is None:
        raise ValueError("the configuration has no report outline (report_file)")
    year = cfg.year
    labels = labels_for(cfg)
    if tables is None:
        tables = shape_tables(cells, cfg, labels)
    shaped = {(t.table_id, t.breakdown): t for t in tables}
    model_specs = {m.id: m for m in cfg.models.models} if cfg.models else {}
    templates = [
        block.text
        for chapter in outline.chapters
        for section in chapter.sections
        for block in section.content
        if block.text is not None
    ]
    rendered = iter(render_all(templates, cells, models, cfg, labels))
    trace: list[dict[str, Any]] = []

    doc = Document(str(template))
    body = doc.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):  # the template's own text (a sample page) is replaced
            body.remove(child)
    _cover(doc, outline, cfg, meta)
    pages = Pages(doc)
    n_table = n_figure = 0
    for c, chapter in enumerate(outline.chapters, start=1):
        pages.turn(landscape=False)
        doc.add_heading(f"{c}. {chapter.title}", level=1)
        for section in chapter.sections:
            pages.turn(landscape=False)
            doc.add_heading(f"{section.number}. {section.title}", level=2)
            for block in section.content:
                if block.text is not None:
                    pages.turn(landscape=False)
                    sentence: Rendered = next(rendered)
                    trace.append(
                        {
                            "section": section.number,
                            "template": sentence.template,
                            "text": sentence.text,
                            "figures": sentence.figures,
                            "omitted": sentence.omitted,
                        }
                    )
                    if sentence.text:
                        doc.add_paragraph(sentence.text)
                elif block.table is not None:
                    table = shaped.get((block.table, block.breakdown))
                    if table is None:
                        continue
                    n_table += 1
                    caption = f"Tabel {n_table}: {table.caption.split(': ', 1)[-1]}"
                    _table(pages, table, caption, outline.source, year)
                elif block.model is not None:
                    model = model_specs.get(block.model)
                    table = shape_model(model, models, fits, cfg, year) if model else None
                    if model is None or table is None:
                        continue
                    n_table += 1
                    _table(pages, table, f"Tabel {n_table}: {model.title}", outline.source, year)
                elif block.chart is not None and block.chart in charts:
                    n_figure += 1
                    pages.turn(landscape=False)
                    png, alt = charts[block.chart]
                    _picture(doc, png, alt, f"Figuur {n_figure}: {cfg.table(block.chart).title}", block.chart)
    _properties(doc, outline, cfg, meta)
    buf = io.BytesIO()
    doc.save(buf)
    trace_bytes = json.dumps(trace, indent=2, ensure_ascii=False, sort_keys=True).encode() + b"\n"
    return fixed_zip(buf.getvalue()), trace_bytes


def _cover(doc: Any, outline: Outline, cfg: RunConfig, meta: dict[str, Any]) -> None:
    doc.add_paragraph(outline.title.format(year=cfg.year), style="Title")
    doc.add_paragraph("CONCEPT", style="Subtitle")
    doc.add_paragraph(outline.subtitle)
    doc.add_paragraph(
        f"Referentieperiode {cfg.reference_period}; {meta['valid']} geldige respondenten; "
        f"release {meta['run_id']}, code {meta['code_version']}."
    )
    doc.add_page_break()


class Pages:
    """The draft's page orientation: a table too wide for a portrait page goes on landscape pages
    (a section of its own, as a report does), and the text after it returns to portrait. Turning
    only when needed keeps two wide tables on one run of landscape pages."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.landscape = False

    def text_cm(self, landscape: bool) -> float:
        return LANDSCAPE_TEXT_CM if landscape else TEXT_CM

    def turn(self, landscape: bool) -> None:
        if landscape == self.landscape:
            return
        from docx.enum.section import WD_ORIENT, WD_SECTION

        current = self.doc.sections[-1]
        new = self.doc.add_section(WD_SECTION.NEW_PAGE)
        new.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        new.page_width, new.page_height = current.page_height, current.page_width
        self.landscape = landscape


def _table(pages: Pages, table: Shaped, caption: str, source: str, year: int) -> None:
    """A Word table with the caption above (the report's place) and the source line below (`source`:
    the outline's template of it); the header row repeats on every page and is marked as a header
    for screen readers. Columns are sized to their words; a table wider than a portrait page turns
    the page."""
    body = [list(names) + [c.text for c in values] for names, values in zip(table.row_labels, table.cells, strict=True)]
    widths, landscape, size = column_widths(list(table.headers), body, len(table.row_headers))
    pages.turn(landscape)
    doc = pages.doc
    doc.add_paragraph(caption, style="Caption")
    grid = doc.add_table(rows=2 if body else 1, cols=len(table.headers))
    grid.style = "Table Grid"
    grid.autofit = False
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width  # the grid (LibreOffice reads it) as well as each cell (Word reads those)
    # The style's id, looked up once: python-docx resolves a style name by scanning the styles part
    # for every paragraph (6 s for the draft's 1,900 cells).
    style_id = doc.styles["Table Text"].style_id
    n_labels = len(table.row_headers)
    _fill_row(grid.rows[0], list(table.headers), widths, style_id, n_labels, header=True, size=size)
    if body:
        # Every body row has the same cells, so the first is built through python-docx and the
        # others are copies of its XML with their own text: python-docx builds a cell through a
        # dozen element look-ups (the draft's 40 tables, 1,826 cells: 1.0-1.3 s, with copies 0.4 s).
        prototype = grid.rows[1]._tr
        _fill_row(grid.rows[1], ["x"] * len(widths), widths, style_id, n_labels, header=False, size=size)
        copies = [prototype] + [copy.deepcopy(prototype) for _ in body[1:]]
        for tr, texts in zip(copies, body, strict=True):
            if tr is not prototype:
                grid._tbl.append(tr)
            for tc, text in zip(tr.iterchildren(qn("w:tc")), texts, strict=True):
                _set_text(tc, text)
    marker = OxmlElement("w:tblHeader")  # the header row repeats on each page; a header for screen readers
    marker.set(qn("w:val"), "true")
    grid.rows[0]._tr.get_or_add_trPr().append(marker)
    doc.add_paragraph(source.format(year=year, sheet=table.sheet), style="Source")


def _fill_row(
    row: Any, texts: list[str], widths: list[Any], style_id: str, n_labels: int, header: bool, size: int
) -> None:
    """One row's cells through python-docx: width, paragraph style, a run (bold in the header; the
    table's font size where it is not the style's), and numbers right-aligned as in the report."""
    for c, (cell, text) in enumerate(zip(row.cells, texts, strict=True)):
        cell.width = widths[c]
        paragraph = cell.paragraphs[0]
        paragraph._p.style = style_id
        run = paragraph.add_run(text)
        run.bold = header
        if size != TABLE_PT[0]:
            run.font.size = Pt(size)
        if c >= n_labels and not header:
            paragraph.alignment = 2


def _set_text(tc: Any, text: str) -> None:
    """Replace the placeholder text of a copied cell's run, as python-docx's `add_run(text)` writes
    it: no text element for an empty text; tabs, line breaks and outer spaces through python-docx."""
    t = tc.find(f".//{qn('w:t')}")
    if not text:
        t.getparent().remove(t)
    elif text == text.strip() and not any(ch in text for ch in "\t\n\r"):
        t.text = text
    else:
        from docx.text.run import Run

        run = t.getparent()
        run.remove(t)
        Run(run, None).text = text


CELL_PAD_CM = 0.45  # a cell's left and right margins (0.19 cm each in Word and LibreOffice) and slack
TABLE_PT = (8, 7)  # the "Table Text" style's size, and the smaller one a very wide table takes
MIN_LABEL_CM = 4.0  # a question's label column: at least this, else the rest of the page


def column_widths(headers: list[str], body: list[list[str]], n_labels: int) -> tuple[list[Any], bool, int]:
    """(widths, landscape, font size): widths that break no word (the widest word of each column,
    header in bold, plus the cell's margins); value columns as wide as their widest text, alike
    where they fit; the label columns the rest of the page. A portrait page if the columns fit it,
    else a landscape one, at the table style's size if they fit, else a point smaller."""
    from tasks.publish.text_width import longest_word_cm, width_cm

    columns = list(zip(headers, *body, strict=True)) if body else [(h,) for h in headers]
    for size, landscape in ((TABLE_PT[0], False), (TABLE_PT[0], True), (TABLE_PT[1], True)):
        least = [
            max([longest_word_cm(col[0], size, bold=True)] + [longest_word_cm(t, size) for t in col[1:]]) + CELL_PAD_CM
            for col in columns
        ]
        values = [
            max(least[c], max((width_cm(t, size) for t in columns[c][1:]), default=0.0) + CELL_PAD_CM)
            for c in range(n_labels, len(columns))
        ]
        labels = [max(MIN_LABEL_CM / n_labels, w) for w in least[:n_labels]]
        text = LANDSCAPE_TEXT_CM if landscape else TEXT_CM
        if sum(values) + sum(labels) <= text:
            break
    alike = max(values, default=0.0)
    if alike * len(values) + sum(labels) <= text:
        values = [alike] * len(values)
    widest = max(values, default=0.0)
    if sum(max(w, widest) for w in labels) + sum(values) <= text:  # a label column is never the narrowest
        labels = [max(w, widest) for w in labels]
    rest = text - sum(values)
    labels = [max(w, rest * w / sum(labels)) for w in labels] if labels else []
    return [Cm(round(w, 3)) for w in labels + values], landscape, size


def _picture(doc: Any, png: bytes, alt: str, caption: str, chart_id: str) -> None:
    """The chart asset, its alt text on the picture itself (what a screen reader announces), and the
    caption below it."""
    doc.add_picture(io.BytesIO(png), width=PICTURE_WIDTH)
    inline = doc.inline_shapes[-1]._inline
    inline.docPr.set("descr", alt)
    inline.docPr.set("title", chart_id)
    doc.add_paragraph(caption, style="Caption")


def _properties(doc: Any, outline: Outline, cfg: RunConfig, meta: dict[str, Any]) -> None:
    props = doc.core_properties
    props.title = f"{outline.title.format(year=cfg.year)} (concept)"
    props.subject = "Concept van het rapport"
    props.author = cfg.monitor.publisher
    props.last_modified_by = cfg.monitor.publisher
    props.language = cfg.monitor.language
    props.comments = f"run {meta['run_id']}, code {meta['code_version']}"
    props.keywords = "concept"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.last_printed = FIXED_TIME
    props.revision = 1


REQUIRED_STYLES = (
    "Title", "Subtitle", "Heading 1", "Heading 2", "Caption", "Table Grid", "Source", "Table Text", "Normal",
)  # fmt: skip


def make_template(path: Path, language: str = "nl-NL") -> None:
    """The house template shipped in `configs/report/template.docx`: python-docx's default with a
    Dutch default language, a calm sans-serif, black headings and a `Source` style for source lines.
    Authors restyle the file in Word; this function only made the first version."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt, RGBColor

    doc = Document()
    styles = doc.styles
    normal = styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10)
    rpr = styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    for attr in ("w:val", "w:eastAsia", "w:bidi"):
        lang.set(qn(attr), language)
    for name, size in (("Title", 24), ("Subtitle", 14), ("Heading 1", 16), ("Heading 2", 12), ("Caption", 9)):
        style = styles[name]
        style.font.name = "Arial"
        style.font.size = Pt(size)
        style.font.color.rgb = RGBColor(0, 0, 0)
    source = styles.add_style("Source", WD_STYLE_TYPE.PARAGRAPH)
    source.base_style = normal
    source.font.size = Pt(8)
    source.font.italic = True
    cells = styles.add_style("Table Text", WD_STYLE_TYPE.PARAGRAPH)
    cells.base_style = normal
    cells.font.size = Pt(8)
    cells.paragraph_format.space_after = Pt(0)
    doc.add_paragraph("Sjabloon van het conceptrapport: alleen de stijlen worden gebruikt.")
    doc.core_properties.created = FIXED_TIME
    doc.core_properties.modified = FIXED_TIME
    buf = io.BytesIO()
    doc.save(buf)
    path.write_bytes(fixed_zip(buf.getvalue()))
