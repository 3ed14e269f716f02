"""The workbook for report authors: cover, contents, notes, the report's tables, the models, and
one long table of every figure (xlsxwriter).

Presentation only: the tables arrive laid out by `tasks.publish.layout` (rows and columns as in
the report, declared in `tables.yaml`); this module places them, one Excel table per sheet, title in
A1, numbers stored at full precision with a number format that prints them as the report does, no
merged cells, fixed document properties so that the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from typing import Any

import pandas as pd
import xlsxwriter

from schemas.config import Model, RunConfig, TableBase
from tasks.publish.labels import Labels, labels_for
from tasks.publish.layout import FORMATS, STAT_LABELS, Shaped, by_table, column_series, dutch, shape_tables
from tasks.publish.zipfiles import rewrite_zip

FIXED_CREATED = dt.datetime(2000, 1, 1)
ALL_FIGURES = "Alle cijfers"
FLAG_NOTES = {
    "c": "[c] Onderdrukt ter bescherming van afzonderlijke bedrijven (zie Statistische beveiliging); n staat "
    "op het blad Alle cijfers.",
    "x": "[x] Niet beschikbaar: de vraag is dat jaar niet gesteld.",
    "b": "[b] Breuk in de reeks: de vraag is dat jaar anders gemeten.",
    "r": "[r] Herzien: wijkt af van de eigen laatste publicatie van dat jaar.",
    "s": "[s] Significant verschil met het vorige jaar (p < 0,05, twee-proportietoets); achter het getal.",
    "ns": "[ns] Geen significant verschil met het vorige jaar.",
    "z": "[z] Niet van toepassing (bijvoorbeeld een tekstuele modelstatus in plaats van een getal).",
}


class _Formats:
    """xlsxwriter formats, made once per distinct number format (a workbook holds each only once)."""

    def __init__(self, wb: Any) -> None:
        self.wb = wb
        self.cache: dict[str, Any] = {}
        self.big = wb.add_format({"bold": True, "font_size": 14})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.link = wb.add_format({"font_color": "blue", "underline": 1})
        self.header = wb.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        self.code = wb.add_format({"align": "right", "valign": "top"})  # [c] [x] [z] where a number would be

    def number(self, fmt: str, marks: str = "") -> Any:
        """The report's display of a figure: `0"%"` prints 47.2 as 47% (the cell keeps 47.2), a
        shorthand mark after it (`0"% [s]"`). Excel shows the decimal separator of the reader's
        locale: a Dutch reader sees 2,33."""
        base, unit, _ = FORMATS[fmt]
        literal = unit + (f" {marks}" if marks else "")
        code = base + (f'"{literal}"' if literal else "")
        if code not in self.cache:
            self.cache[code] = self.wb.add_format({"num_format": code, "valign": "top"})
        return self.cache[code]


def build_workbook(
    cells: pd.DataFrame,
    cfg: RunConfig,
    meta: dict[str, Any],
    models: pd.DataFrame | None = None,
    fits: pd.DataFrame | None = None,
    shaped: list[Shaped] | None = None,
) -> bytes:
    """The workbook bytes: front sheets, the report's tables (each breakdown its own sheet), one sheet
    per model, the models' fit statistics, and every figure with its detail in one long table.

    `shaped` is the tables in the report's shape when the caller has them already (a bundle shapes
    them once for the workbook and the draft)."""
    labels = labels_for(cfg)
    if shaped is None:
        shaped = shape_tables(cells, cfg, labels)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    title = f"{cfg.monitor.title} {cfg.year}"
    wb.set_properties(
        {
            "title": title,
            "subject": "Tabellen bij de Innovatiemonitor",
            "author": cfg.monitor.publisher,
            "created": FIXED_CREATED,
            "comments": f"run {meta['run_id']}, code {meta['code_version']}",
        }
    )
    wb.set_custom_property("Language", cfg.monitor.language)
    fmts = _Formats(wb)
    models = models if models is not None else pd.DataFrame(columns=["model_id"])
    model_specs = [m for m in (cfg.models.models if cfg.models else []) if (models["model_id"] == m.id).any()]

    cover = wb.add_worksheet("Voorblad")
    _cover(cover, cfg, meta, title, fmts)
    contents = [(t.sheet, t.title.split(" ", 1)[1]) for t in shaped]
    contents += [(m.id, f"{m.report}: {m.title}") for m in model_specs]
    if fits is not None and len(fits):
        contents.append(("Modelfit", "Fitstatistieken van de modellen"))
    contents.append((ALL_FIGURES, "Alle cijfers met basis (n), 95%-interval, status en significantie"))
    _contents(wb.add_worksheet("Inhoud"), contents, fmts)
    _notes(wb.add_worksheet("Toelichting"), cells, cfg, fmts)
    for table in shaped:
        _report_sheet(wb, table, cells, cfg, labels, fmts)
    _model_sheets(wb, cfg, models, fits, model_specs, fmts.big, fmts.number("decimal"))
    _all_figures(wb, cells, cfg, labels, fmts)
    cover.activate()
    wb.close()
    return _with_language(buf.getvalue(), cfg.monitor.language)


def _cover(ws: Any, cfg: RunConfig, meta: dict[str, Any], title: str, fmts: _Formats) -> None:
    ws.write_string(0, 0, title, fmts.big)
    lines = [
        ("Monitorjaar", str(cfg.year)),
        ("Referentieperiode", cfg.reference_period),
        ("Geldige respondenten", str(meta["valid"])),
        ("Bron", f"Enquête {cfg.monitor.title}; eigen bewerking (innomon)"),
        ("Run", meta["run_id"]),
        ("Codeversie", meta["code_version"]),
        ("Contact", cfg.monitor.contact),
    ]
    for i, (k, v) in enumerate(lines, start=2):
        ws.write_string(i, 0, k)
        ws.write_string(i, 1, v)
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 70)
    _print_setup(ws)


def _contents(ws: Any, entries: list[tuple[str, str]], fmts: _Formats) -> None:
    """One link per sheet, in the workbook's order."""
    ws.write_string(0, 0, "Inhoud", fmts.big)
    ws.write_string(1, 0, "Blad")
    ws.write_string(1, 1, "Titel")
    for i, (sheet, text) in enumerate(entries, start=2):
        ws.write_url(i, 0, f"internal:'{sheet}'!A1", fmts.link, sheet)
        ws.write_string(i, 1, text)
    _add_table(ws, 1 + len(entries), [{"header": "Blad"}, {"header": "Titel"}], "Inhoud")
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 100)
    _print_setup(ws)  # the titles are long: one page wide, or a PDF splits them over pages


def _disclosure_note(cfg: RunConfig) -> str:
    """The disclosure rules with their parameters, as the Notes sheet states them (D50)."""
    th = cfg.thresholds

    def dutch_number(v: float) -> str:
        return dutch(v, 0 if float(v).is_integer() else 1)

    return (
        f"Een cijfer wordt onderdrukt [c] als het op minder dan {th.suppression_min_n} bedrijven rust; "
        f"als een percentage op 1 tot {th.frequency_max_count} bedrijven (of op alle op 1 tot "
        f"{th.frequency_max_count} na) rust bij een basis onder {th.frequency_below_base}; en als bij een "
        f"gemiddelde van een omvang (zoals fte of aandeel R&D) de overige bedrijven samen minder dan "
        f"{dutch_number(th.dominance_p)}% van het grootste bedrijf uitmaken (p%-regel). Daarna worden zo nodig "
        "andere cijfers onderdrukt, tot uit alles wat deze en eerdere publicaties tonen (andere groepen, het "
        "totaal, andere tabellen) geen onderdrukt cijfer nauwer te bepalen is dan "
        f"{dutch_number(th.protection_pp)} procentpunt (percentages) of "
        f"{dutch_number(100 * th.protection_scale_share)}% van de antwoordschaal (gemiddelden). In de "
        f"regressiemodellen gaan categorieën met minder dan {th.suppression_min_n} bedrijven op in de "
        "referentiecategorie."
    )


def _weighting_note(cfg: RunConfig) -> str:
    """What is weighted and what is not (decisions D32)."""
    w = cfg.weighting
    dims = {"province": "provincie", "size_class": "bedrijfsgrootte", "sector": "sector"}
    margins = ", ".join(dims.get(d, d) for d in w.margins or dims)
    how = (
        f"gewogen naar {margins} van de uitgenodigde bedrijven (raking, gewichten begrensd op "
        f"{str(w.trim_k).replace('.', ',')} maal het gemiddelde)"
    )
    tables = (
        f"De tabellen zijn {how}."
        if w.apply_to_tables
        else f"De tabellen zijn ongewogen, zoals in het rapport; R02 zet de kerncijfers ongewogen naast {how}, "
        "met een 95%-interval (Taylor-linearisatie) en het designeffect."
    )
    return f"{tables} Paneltabellen (P01, P02) en regressiemodellen zijn altijd ongewogen."


def _notes(ws: Any, cells: pd.DataFrame, cfg: RunConfig, fmts: _Formats) -> None:
    ws.write_string(0, 0, "Toelichting", fmts.big)
    used = sorted({f for flags in cells["flag"].fillna("") for f in flags} | set(cells["sig"].dropna()) - {""})
    used += ["z"]  # model status and reason rows, positions without a figure, a mean's category
    note_rows = [
        (
            "Universum",
            "Geldige respondenten: mkb-bedrijven (< 250 fte) in de regio die de vragenlijst "
            "voltooiden (of ten minste 75% ervan), exclusief previews, tests en dubbele records.",
        ),
        (
            "Weergave",
            "De tabelbladen volgen de tabellen van het rapport: percentages in hele procenten, gemiddelden "
            "met twee decimalen. Elke cel bevat het onafgeronde cijfer; het blad Alle cijfers geeft per "
            "cijfer de basis (n), het 95%-interval, de status en de toets op verschil.",
        ),
    ]
    note_rows += [(f"[{code}]", FLAG_NOTES[code]) for code in used if code in FLAG_NOTES]
    note_rows += [
        ("Betrouwbaarheidsinterval", "95%-interval: Wilson voor percentages, t voor gemiddelden."),
        ("Gemiddelde", "In de eenheid van de vraag: schaalscore (bijv. 1-4), % van de omzet, fte of jaren."),
        ("Basis (n)", "Het aantal geldige antwoorden waarop een cijfer rust (in die groep)."),
        ("Status geen", "Geen bijzonderheden bij dit cijfer."),
        ("Statistische beveiliging", _disclosure_note(cfg)),
        (
            "Drempels",
            f"Toets op verschil met het vorige jaar alleen als beide bases ten minste "
            f"{cfg.thresholds.reliability_min_n} zijn en geen van beide cijfers onderdrukt is.",
        ),
        ("Weging", _weighting_note(cfg)),
    ]
    ws.write_string(1, 0, "Begrip")
    ws.write_string(1, 1, "Toelichting")
    for i, (k, v) in enumerate(note_rows, start=2):
        ws.write_string(i, 0, k, fmts.wrap)  # top-aligned beside its (wrapped) explanation
        ws.write_string(i, 1, v, fmts.wrap)
        ws.set_row(i, 15 * math.ceil(len(v) / 95))  # wrapped text gets its lines (about 95 characters each)
    _add_table(ws, 1 + len(note_rows), [{"header": "Begrip"}, {"header": "Toelichting"}], "Toelichting")
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 100)
    _print_setup(ws)


def _report_sheet(wb: Any, table: Shaped, cells: pd.DataFrame, cfg: RunConfig, labels: Labels, fmts: _Formats) -> None:
    """One report-shaped table: title in A1, header in row 2, label columns then value columns; a
    native chart beside it where the report shows one."""
    ws = wb.add_worksheet(table.sheet)
    ws.write_string(0, 0, table.title, fmts.big)
    n_labels = len(table.row_headers)
    longest = max((len(name) for names in table.row_labels for name in names), default=10)
    label_width = min(48 if n_labels == 1 else 32, max(14, longest + 2))
    for r, (names, row) in enumerate(zip(table.row_labels, table.cells, strict=True), start=2):
        # xlsxwriter cannot measure text, and LibreOffice keeps a row's height when converting:
        # a long label gets the height of its wrapped lines (about 1.2 characters per width unit).
        lines = max(math.ceil(len(name) / (label_width * 1.2)) for name in names)
        if lines > 1:
            ws.set_row(r, 15 * lines)
        for c, name in enumerate(names):
            ws.write_string(r, c, name, fmts.wrap)
        for c, cell in enumerate(row, start=n_labels):
            if cell.value is None:
                ws.write_string(r, c, cell.text, fmts.code)
            else:
                ws.write_number(r, c, cell.value, fmts.number(cell.fmt, cell.marks))
    columns = [{"header": h, "header_format": fmts.header} for h in table.headers]
    _add_table(ws, max(1 + len(table.cells), 2), columns, table.name)
    ws.set_row(1, 15 * max(1, *(math.ceil(len(h) / 12) for h in table.column_headers)))  # bold, 16 wide
    ws.set_column(0, n_labels - 1, label_width)
    ws.set_column(n_labels, n_labels + len(table.column_headers) - 1, 16)
    _print_setup(ws)
    # The table and its title (14 pt bold, about 1.6 width units a character); the chart is an asset.
    width = label_width * n_labels + 16 * len(table.column_headers)
    extra = max(0, math.ceil((1.6 * len(table.title) - width) / 16))
    ws.print_area(0, 0, 1 + len(table.cells), len(table.headers) - 1 + extra)
    ws.write_url(  # the detail of every figure, one click away, beyond the title's reach
        0,
        len(table.headers) + extra,
        f"internal:'{ALL_FIGURES}'!A1",
        fmts.link,
        "Basis (n), interval en status: Alle cijfers",
    )
    if table.chart:
        _native_chart(wb, ws, table, cfg.table(table.table_id), cells, labels, cfg.year, len(table.headers) + 1)


def _all_figures(wb: Any, cells: pd.DataFrame, cfg: RunConfig, labels: Labels, fmts: _Formats) -> None:
    """Every figure of the release with its detail, one row each, in one Excel table an author can
    filter by table: the same figures as `data/tables.csv`, with Dutch labels."""
    ws = wb.add_worksheet(ALL_FIGURES)
    ws.write_string(0, 0, f"Alle cijfers van de {cfg.monitor.title} {cfg.year}", fmts.big)
    present = set(cells["stat"])
    value_cols = [(h, st) for h, st in VALUE_COLUMNS if present & set(st)]
    headers = [
        "Tabel",
        "Jaar",
        "Groep",
        "Onderwerp",
        "Categorie",
        "Statistiek",
        *[h for h, _ in value_cols],
        "Basis (n)",
        "Ondergrens 95%-interval",
        "Bovengrens 95%-interval",
        "Status",
        "Significantie",
    ]
    plain = {"pct": wb.add_format({"num_format": "0.0"}), "mean": wb.add_format({"num_format": "0.00"})}
    plain["n"] = plain["invited"] = fmts.number("count")
    plain["p_value"] = wb.add_format({"num_format": "0.000"})
    order = [s.id for s in cfg.table_specs]
    blocks = by_table(cells)
    r = 1
    for table_id in sorted(blocks, key=lambda t: order.index(t) if t in order else len(order)):
        for c in sort_for_reading(blocks[table_id]).to_dict("records"):
            r += 1
            stat = c["stat"]
            fmt = plain["pct"] if stat in ("pct", "pct_top", "pct_w") else plain.get(stat, plain["mean"])
            flag = c["flag"] or ""
            ws.write_string(r, 0, str(table_id))
            ws.write_number(r, 1, int(c["year"]))
            ws.write_string(r, 2, _group_label(c["group"], labels))
            ws.write_string(r, 3, labels.item(c["item"]))
            category = labels.category(c["item"], str(c["category"])) if c["category"] else ""
            ws.write_string(r, 4, category or "[z]")
            ws.write_string(r, 5, STAT_LABELS.get(stat, stat))
            col = 6
            for _, stats in value_cols:
                if stat in stats:
                    _num_or_code(ws, r, col, c["value"], flag, fmt)
                else:
                    ws.write_string(r, col, "[z]")
                col += 1
            base = c["n"] if stat not in ("n", "invited") else None  # a count is its own base
            _num_or_code(ws, r, col, base, "x" if "x" in flag else "", plain["n"])
            _num_or_code(ws, r, col + 1, c["ci_low"], flag, fmt)
            _num_or_code(ws, r, col + 2, c["ci_high"], flag, fmt)
            ws.write_string(r, col + 3, "".join(f"[{f}]" for f in flag) or "geen")
            ws.write_string(r, col + 4, f"[{c['sig']}]" if c["sig"] else "[z]")
    _add_table(ws, max(r, 2), [{"header": h} for h in headers], "Alle_cijfers")
    ws.set_column(0, 1, 8)
    ws.set_column(2, 4, 36)
    ws.set_column(5, len(headers) - 1, 16)
    _print_setup(ws)


def _print_setup(ws: Any) -> None:
    """Printed or converted to PDF, a sheet is landscape, one page wide, the header on every page."""
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(1)


def _with_language(xlsx: bytes, language: str) -> bytes:
    """Add dc:language to the document properties (xlsxwriter has no option for it); every entry keeps
    xlsxwriter's own metadata, so the bytes stay deterministic."""
    tag = f"<dc:language>{language}</dc:language></cp:coreProperties>".encode()

    def change(name: str, data: bytes) -> bytes:
        if name == "docProps/core.xml" and b"<dc:language>" not in data:
            return data.replace(b"</cp:coreProperties>", tag)
        return data

    return rewrite_zip(xlsx, change)


VALUE_COLUMNS = [  # (header with unit, statistics shown in it)
    ("Percentage (%)", ("pct", "pct_top", "pct_w")),
    ("Gemiddelde (eenheid van de vraag)", ("mean",)),
    ("Aantal", ("n", "invited")),
    ("Toetsgrootheid of designeffect", ("chi2", "p_value", "deff")),
]


def sort_for_reading(block: pd.DataFrame) -> pd.DataFrame:
    """Long-table order: newest year first, then `all` before breakdown groups, then statistic,
    category, item (each in spec order)."""
    columns = {col: block[col].tolist() for col in ("group", "stat", "category", "item")}
    ranks = {col: {v: i for i, v in enumerate(dict.fromkeys(values))} for col, values in columns.items()}
    keys = list(
        zip(
            (-int(y) for y in block["year"].tolist()),
            *([ranks[col][v] for v in values] for col, values in columns.items()),
            strict=True,
        )
    )
    # A plain stable sort of a few dozen rows (pandas' own sort cost more to set up than to run).
    return block.iloc[sorted(range(len(keys)), key=keys.__getitem__)]


def _native_chart(
    wb: Any,
    ws: Any,
    table: Shaped,
    spec: TableBase,
    cells: pd.DataFrame,
    labels: Labels,
    year: int,
    anchor_col: int,
) -> None:
    """A bar chart drawn from the report-shaped table itself: one series per value column of the
    chart's statistic (and category), the row labels as categories; where the years run down the rows
    (Tabel 1), one series per year row with the column headers as categories."""
    from tasks.publish.charts import GREYS, alt_text, chart_frame

    chart_spec = spec.chart
    if chart_spec is None:
        return
    stacked = chart_spec.kind == "stacked"
    cols = column_series(table, chart_spec.stat, chart_spec.category)
    if not cols or not table.cells:
        return
    name = ws.get_name()
    n_labels = len(table.row_headers)
    first, last = 2, 1 + len(table.cells)  # the table's data rows (0-based)
    chart = wb.add_chart({"type": "bar", "subtype": "stacked"} if stacked else {"type": "bar"})
    years_down = "year" in table.row_keys[0]
    if years_down:
        series = [
            (
                label[0],
                [name, r, n_labels + cols[0], r, n_labels + cols[-1]],
                [name, 1, n_labels + cols[0], 1, n_labels + cols[-1]],
            )
            for r, label in enumerate(table.row_labels, start=first)
        ]
    else:
        series = [
            (
                table.column_headers[c],
                [name, first, n_labels + c, last, n_labels + c],
                [name, first, n_labels - 1, last, n_labels - 1],
            )
            for c in cols
        ]
    for k, (label, values, categories) in enumerate(series):
        chart.add_series(
            {
                "name": label,
                "categories": categories,
                "values": values,
                "fill": {"color": GREYS[k % len(GREYS)]},
                "border": {"color": "black", "width": 0.5},
            }
        )
    bars = len(table.cells) if not years_down else len(cols)
    chart.set_title({"name": table.caption, "name_font": {"size": 11}})
    chart.set_x_axis({"name": "Percentage (%)", "num_format": "0", **({"max": 100} if stacked else {})})
    chart.set_y_axis({"reverse": True})
    chart.set_legend({"position": "bottom"})
    per_bar = 30 if stacked else 14 * len(series) + 8  # a bar group and its gap, in pixels
    chart.set_size({"width": 720, "height": 120 + per_bar * max(3, bars)})
    frame = chart_frame(cells, spec, year)
    ws.insert_chart(1, anchor_col, chart, {"description": alt_text(frame, spec, labels.items, labels.categories, year)})


def _model_sheets(
    wb: Any,
    cfg: RunConfig,
    models: pd.DataFrame,
    fits: pd.DataFrame | None,
    model_specs: list[Model],
    big: Any,
    fmt: Any,
) -> None:
    """One sheet per model (terms with Dutch labels) and one sheet with every model's fit statistics."""
    labels = cfg.models.term_labels if cfg.models else {}
    fmt3 = wb.add_format({"num_format": "0.000"})
    headers = [
        "Jaar",
        "Term",
        "Schatting",
        "Standaardfout",
        "p-waarde",
        "Ondergrens 95%-interval",
        "Bovengrens 95%-interval",
    ]
    for m in model_specs:
        ws = wb.add_worksheet(m.id)
        ws.write_string(0, 0, f"{m.id} {m.report}: {m.title}", big)
        ws.write_row(1, 0, headers)
        block = models[models["model_id"] == m.id]
        r = 1
        for _, t in block.iterrows():
            r += 1
            ws.write_number(r, 0, int(t["year"]))
            ws.write_string(r, 1, labels.get(t["term"], t["term"]))
            for c, col in enumerate(["estimate", "std_error", "p_value", "ci_low", "ci_high"], start=2):
                ws.write_number(r, c, float(t[col]), fmt3)
        _add_table(ws, max(r, 2), [{"header": h} for h in headers], f"Model_{m.id}")
        ws.set_column(1, 1, 48)
        ws.set_column(2, 6, 16)
        _print_setup(ws)
    if fits is None or not len(fits):
        return
    fit_labels = cfg.models.fit_labels if cfg.models else {}
    ws = wb.add_worksheet("Modelfit")
    ws.write_string(0, 0, "Fitstatistieken van de modellen", big)
    head = ["Model", "Jaar", "Statistiek", "Waarde", "Toelichting"]
    ws.write_row(1, 0, head)
    r = 1
    for _, f in fits.iterrows():
        r += 1
        ws.write_string(r, 0, str(f["model_id"]))
        ws.write_number(r, 1, int(f["year"]))
        ws.write_string(r, 2, fit_labels.get(f["statistic"], f["statistic"]))
        try:
            ws.write_number(r, 3, float(f["value"]), fmt)
            ws.write_string(r, 4, "geen")
        except (TypeError, ValueError):
            ws.write_string(r, 3, "[z]")
            ws.write_string(r, 4, str(f["value"]))
    _add_table(ws, max(r, 2), [{"header": h} for h in head], "Modelfit")
    ws.set_column(0, 4, 20)
    _print_setup(ws)


def _add_table(ws: Any, last_row: int, columns: list[dict[str, str]], name: str) -> None:
    """The one way a table is marked up: from A2, one header row, no filter buttons (AF guidance)."""
    ws.add_table(
        1,
        0,
        last_row,
        len(columns) - 1,
        {"name": name, "style": "Table Style Light 1", "autofilter": False, "columns": columns},
    )


def _group_label(group: str, labels: Labels) -> str:
    if group == "all":
        return "Alle bedrijven"
    dim, key = group.split("=", 1)
    return f"{labels.item(dim)}: {labels.category(dim, key)}"


def _num_or_code(ws: Any, r: int, c: int, value: Any, flag: str, fmt: Any) -> None:
    missing = value is None or (isinstance(value, float) and math.isnan(value)) or value == ""
    if missing:
        code = "[c]" if "c" in (flag or "") else "[x]" if "x" in (flag or "") else "[z]"
        ws.write_string(r, c, code)
    else:
        ws.write_number(r, c, float(value), fmt)
