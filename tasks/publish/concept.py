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
from docx.shared import Cm

from schemas.config import Outline, RunConfig
from tasks.publish.labels import labels_for
from tasks.publish.layout import Shaped, shape_model, shape_tables
from tasks.publish.sentences import Rendered, render_all
from tasks.publish.zipfiles import fixed_zip

FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
TEXT_CM = 16.0  # the page's text width
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
    n_table = n_figure = 0
    for c, chapter in enumerate(outline.chapters, start=1):
        doc.add_heading(f"{c}. {chapter.title}", level=1)
        for section in chapter.sections:
            doc.add_heading(f"{section.number}. {section.title}", level=2)
            for block in section.content:
                if block.text is not None:
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
                    _table(doc, table, f"Tabel {n_table}: {table.caption.split(': ', 1)[-1]}", outline.source, year)
                elif block.model is not None:
                    model = model_specs.get(block.model)
                    table = shape_model(model, models, fits, cfg, year) if model else None
                    if model is None or table is None:
                        continue
                    n_table += 1
                    _table(doc, table, f"Tabel {n_table}: {model.title}", outline.source, year)
                elif block.chart is not None and block.chart in charts:
                    n_figure += 1
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


def _table(doc: Any, table: Shaped, caption: str, source: str, year: int) -> None:
    """A Word table with the caption above (the report's place) and the source line below (`source`:
    the outline's template of it); the header row repeats on every page and is marked as a header
    for screen readers."""
    doc.add_paragraph(caption, style="Caption")
    widths = _column_widths(len(table.row_headers), len(table.column_headers))
    body = [list(names) + [c.text for c in values] for names, values in zip(table.row_labels, table.cells, strict=True)]
    grid = doc.add_table(rows=2 if body else 1, cols=len(table.headers))
    grid.style = "Table Grid"
    grid.autofit = False
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width  # the grid (LibreOffice reads it) as well as each cell (Word reads those)
    # The style's id, looked up once: python-docx resolves a style name by scanning the styles part
    # for every paragraph (6 s for the draft's 1,900 cells).
    style_id = doc.styles["Table Text"].style_id
    n_labels = len(table.row_headers)
    _fill_row(grid.rows[0], list(table.headers), widths, style_id, n_labels, header=True)
    if body:
        # Every body row has the same cells, so the first is built through python-docx and the
        # others are copies of its XML with their own text: python-docx builds a cell through a
        # dozen element look-ups (the draft's 40 tables, 1,826 cells: 1.0-1.3 s, with copies 0.4 s).
        prototype = grid.rows[1]._tr
        _fill_row(grid.rows[1], ["x"] * len(widths), widths, style_id, n_labels, header=False)
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


def _fill_row(row: Any, texts: list[str], widths: list[Any], style_id: str, n_labels: int, header: bool) -> None:
    """One row's cells through python-docx: width, paragraph style, a run (bold in the header), and
    numbers right-aligned as in the report."""
    for c, (cell, text) in enumerate(zip(row.cells, texts, strict=True)):
        cell.width = widths[c]
        paragraph = cell.paragraphs[0]
        paragraph._p.style = style_id
        run = paragraph.add_run(text)
        run.bold = header
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


def _column_widths(n_labels: int, n_values: int) -> list[Any]:
    """Label columns wide enough for a question, value columns for `100% [s]`, within 16 cm."""
    value = min(2.4, max(1.0, (TEXT_CM - 4.0) / max(1, n_values)))  # 2 cm holds "Gemiddelde" in bold
    labels = max(4.0, TEXT_CM - value * n_values)
    return [Cm(labels / n_labels)] * n_labels + [Cm(value)] * n_values


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
