"""The workbook for report authors: cover, contents, notes, one table per sheet (xlsxwriter).

Presentation only: it takes the tidy cells computed elsewhere and lays them out with Dutch labels,
numbers stored as numbers with number formats, one Excel table per sheet, title in A1, no merged
cells, fixed document properties so that the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from typing import Any

import pandas as pd
import xlsxwriter

from tasks.indicators import all_datamap_rows
from tasks.mapping import parse_codes

FIXED_CREATED = dt.datetime(2000, 1, 1)
STAT_LABELS = {"pct": "Percentage", "pct_top": "Percentage topcategorie", "mean": "Gemiddelde", "n": "Aantal"}
FLAG_NOTES = {
    "c": "[c] Onderdrukt: de basis (n) is kleiner dan de drempel; n wordt wel gepubliceerd.",
    "x": "[x] Niet beschikbaar: de vraag is dat jaar niet gesteld.",
    "b": "[b] Breuk in de reeks: de vraag is dat jaar anders gemeten.",
    "r": "[r] Herzien: wijkt af van de eigen laatste publicatie van dat jaar.",
    "s": "[s] Significant verschil met het vorige jaar (p < 0,05, twee-proportietoets).",
    "ns": "[ns] Geen significant verschil met het vorige jaar.",
    "z": "[z] Niet van toepassing (bijvoorbeeld een tekstuele modelstatus in plaats van een getal).",
}


def item_labels(cfg: dict[str, Any]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Dutch labels of items and of their categories, from the datamap and the config."""
    items: dict[str, str] = {}
    cats: dict[str, dict[str, str]] = {}
    for row in all_datamap_rows(cfg):
        if row["variable"] in items:
            continue
        text = row["question_text"]
        items[row["variable"]] = text.split(" - ", 1)[1] if " - " in text else text
        labels = parse_codes(row["codes"]).labels
        if labels:
            cats[row["variable"]] = labels
    for key, label in (cfg["tables"].get("labels", {}).get("items") or {}).items():
        items[key] = label
    for key, mapping in (cfg["tables"].get("labels", {}).get("categories") or {}).items():
        cats[key] = {str(k): v for k, v in mapping.items()}
    return items, cats


def _sheet_name(table_id: str) -> str:
    return table_id[:31]


def build_workbook(
    cells: pd.DataFrame,
    cfg: dict[str, Any],
    meta: dict[str, Any],
    models: pd.DataFrame | None = None,
    fits: pd.DataFrame | None = None,
) -> bytes:
    """The workbook bytes: tables, then one sheet per model and one sheet of model fit statistics."""
    items, cats = item_labels(cfg)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    title = f"{cfg['monitor']['title']} {cfg['year']}"
    wb.set_properties(
        {
            "title": title,
            "subject": "Tabellen bij de Innovatiemonitor",
            "author": cfg["monitor"]["publisher"],
            "created": FIXED_CREATED,
            "comments": f"run {meta['run_id']}, code {meta['code_version']}",
        }
    )
    wb.set_custom_property("Language", cfg["monitor"].get("language", "nl-NL"))
    big = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    link = wb.add_format({"font_color": "blue", "underline": 1})
    fmt_pct = wb.add_format({"num_format": "0.0"})
    fmt_mean = wb.add_format({"num_format": "0.00"})
    fmt_int = wb.add_format({"num_format": "0"})

    specs = [s for s in cfg["tables"]["tables"] if (cells["table_id"] == s["id"]).any()]
    models = models if models is not None else pd.DataFrame(columns=["model_id"])
    model_specs = [m for m in cfg["models"]["models"] if (models["model_id"] == m["id"]).any()]

    cover = wb.add_worksheet("Voorblad")
    cover.write_string(0, 0, title, big)
    lines = [
        ("Monitorjaar", str(cfg["year"])),
        ("Referentieperiode", str(cfg.get("reference_period", ""))),
        ("Geldige respondenten", str(meta["valid"])),
        ("Bron", f"Enquête {cfg['monitor']['title']}; eigen bewerking (innomon)"),
        ("Run", meta["run_id"]),
        ("Codeversie", meta["code_version"]),
        ("Contact", cfg["monitor"]["contact"]),
    ]
    for i, (k, v) in enumerate(lines, start=2):
        cover.write_string(i, 0, k)
        cover.write_string(i, 1, v)
    cover.set_column(0, 0, 24)
    cover.set_column(1, 1, 70)

    contents = wb.add_worksheet("Inhoud")
    contents.write_string(0, 0, "Inhoud", big)
    contents.write_string(1, 0, "Blad")
    contents.write_string(1, 1, "Titel")
    for i, spec in enumerate(specs, start=2):
        contents.write_url(i, 0, f"internal:'{_sheet_name(spec['id'])}'!A1", link, spec["id"])
        contents.write_string(i, 1, f"{spec.get('report', '')}: {spec['title']}")
    for j, m in enumerate(model_specs, start=2 + len(specs)):
        contents.write_url(j, 0, f"internal:'{m['id']}'!A1", link, m["id"])
        contents.write_string(j, 1, f"{m.get('report', '')}: {m['title']}")
    n_links = len(specs) + len(model_specs)
    if fits is not None and len(fits):
        contents.write_url(2 + n_links, 0, "internal:'Modelfit'!A1", link, "Modelfit")
        contents.write_string(2 + n_links, 1, "Fitstatistieken van de modellen")
        n_links += 1
    _add_table(contents, 1 + n_links, [{"header": "Blad"}, {"header": "Titel"}], "Inhoud")
    contents.set_column(0, 0, 10)
    contents.set_column(1, 1, 90)

    notes = wb.add_worksheet("Toelichting")
    notes.write_string(0, 0, "Toelichting", big)
    used = sorted({f for flags in cells["flag"].fillna("") for f in flags} | set(cells["sig"].dropna()) - {""})
    used += ["z"]  # model status and reason rows, and cells without a value that are neither c nor x
    note_rows = [
        (
            "Universum",
            "Geldige respondenten: mkb-bedrijven (< 250 fte) in de regio die de vragenlijst "
            "voltooiden (of ten minste 75% ervan), exclusief previews, tests en dubbele records.",
        )
    ]
    note_rows += [(f"[{code}]", FLAG_NOTES[code]) for code in used if code in FLAG_NOTES]
    note_rows += [
        ("Betrouwbaarheidsinterval", "95%-interval: Wilson voor percentages, t voor gemiddelden."),
        ("Gemiddelde", "In de eenheid van de vraag: schaalscore (bijv. 1-4), % van de omzet, fte of jaren."),
        ("Basis (n)", "Het aantal geldige antwoorden waarop een cijfer rust (in die groep)."),
        ("Status geen", "Geen bijzonderheden bij dit cijfer."),
        (
            "Drempels",
            f"Onderdrukking onder n = {cfg['thresholds']['suppression_min_n']}; toets op verschil met "
            f"het vorige jaar alleen als beide bases ten minste {cfg['thresholds']['reliability_min_n']} zijn.",
        ),
    ]
    notes.write_string(1, 0, "Begrip")
    notes.write_string(1, 1, "Toelichting")
    for i, (k, v) in enumerate(note_rows, start=2):
        notes.write_string(i, 0, k)
        notes.write_string(i, 1, v, wrap)
    _add_table(notes, 1 + len(note_rows), [{"header": "Begrip"}, {"header": "Toelichting"}], "Toelichting")
    notes.set_column(0, 0, 26)
    notes.set_column(1, 1, 100)

    for spec in specs:
        _table_sheet(
            wb,
            spec,
            sort_for_reading(cells[cells["table_id"] == spec["id"]]),
            items,
            cats,
            big,
            {"pct": fmt_pct, "mean": fmt_mean, "n": fmt_int},
            int(cfg["year"]),
        )
    _model_sheets(wb, cfg, models, fits, model_specs, big, fmt_mean)
    cover.activate()
    wb.close()
    return _with_language(buf.getvalue(), cfg["monitor"].get("language", "nl-NL"))


def _with_language(xlsx: bytes, language: str) -> bytes:
    """Add dc:language to the document properties (xlsxwriter has no option for it).

    Rewrites the ZIP with the original entry metadata, so the bytes stay deterministic.
    """
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml" and b"<dc:language>" not in data:
                data = data.replace(
                    b"</cp:coreProperties>", f"<dc:language>{language}</dc:language></cp:coreProperties>".encode()
                )
            dst.writestr(info, data)
    return out.getvalue()


VALUE_COLUMNS = [  # (header with unit, statistics shown in it)
    ("Percentage (%)", ("pct", "pct_top")),
    ("Gemiddelde (eenheid van de vraag)", ("mean",)),
    ("Aantal", ("n",)),
]


def _table_sheet(
    wb: Any,
    spec: dict[str, Any],
    block: pd.DataFrame,
    items: dict[str, str],
    cats: dict[str, dict[str, str]],
    big: Any,
    fmts: dict[str, Any],
    year: int,
) -> None:
    """One table per sheet: title in A1, one Excel table from A2, a value column per unit, no blanks;
    a native chart to the right of the table where the report shows a chart."""
    ws = wb.add_worksheet(_sheet_name(spec["id"]))
    ws.write_string(0, 0, f"{spec['id']} {spec.get('report', '')}: {spec['title']}", big)
    present = set(block["stat"])
    value_cols = [(h, st) for h, st in VALUE_COLUMNS if present & set(st)]
    headers = [
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
    ws.write_row(1, 0, headers)
    r = 1
    rows: dict[tuple, int] = {}
    for c in block.to_dict("records"):  # plain dicts: iterrows builds a Series per row
        r += 1
        rows[(int(c["year"]), c["group"], c["stat"], str(c["category"]), c["item"])] = r
        stat = c["stat"]
        fmt = fmts["pct"] if stat in ("pct", "pct_top") else fmts["mean"] if stat == "mean" else fmts["n"]
        flag = c["flag"] or ""
        ws.write_number(r, 0, int(c["year"]))
        ws.write_string(r, 1, _group_label(c["group"], cats, items))
        ws.write_string(r, 2, items.get(c["item"], c["item"]))
        category = cats.get(c["item"], {}).get(str(c["category"]), str(c["category"] or ""))
        ws.write_string(r, 3, category or "[z]")
        ws.write_string(r, 4, STAT_LABELS.get(stat, stat))
        col = 5
        for _, stats in value_cols:
            if stat in stats:
                _num_or_code(ws, r, col, c["value"], flag, fmt)
            else:
                ws.write_string(r, col, "[z]")
            col += 1
        _num_or_code(ws, r, col, c["n"] if stat != "n" else None, "x" if "x" in flag else "", fmts["n"])
        _num_or_code(ws, r, col + 1, c["ci_low"], flag, fmt)
        _num_or_code(ws, r, col + 2, c["ci_high"], flag, fmt)
        ws.write_string(r, col + 3, "".join(f"[{f}]" for f in flag) or "geen")
        ws.write_string(r, col + 4, f"[{c['sig']}]" if c["sig"] else "[z]")
    _add_table(ws, max(r, 2), [{"header": h} for h in headers], f"Tabel_{spec['id']}")
    ws.set_column(0, 0, 8)
    ws.set_column(1, 3, 36)
    ws.set_column(4, len(headers) - 1, 16)
    if spec.get("chart"):
        _native_chart(wb, ws, spec, block, rows, items, cats, year, value_col=5, anchor_col=len(headers) + 1)


def sort_for_reading(block: pd.DataFrame) -> pd.DataFrame:
    """Workbook order: newest year first, then `all` before breakdown groups, then statistic, category,
    item (each in spec order). Blocks of one year, group and statistic are contiguous, which also lets
    native charts take their series from the table."""
    ranks = {
        col: {v: i for i, v in enumerate(dict.fromkeys(block[col]))} for col in ("group", "stat", "category", "item")
    }
    key = pd.DataFrame(
        {
            "year": -block["year"].astype(int),
            **{col: block[col].map(ranks[col]) for col in ("group", "stat", "category", "item")},
        }
    )
    order = key.sort_values(["year", "group", "stat", "category", "item"], kind="mergesort").index
    return block.loc[order]


def _native_chart(
    wb: Any,
    ws: Any,
    spec: dict[str, Any],
    block: pd.DataFrame,
    rows: dict[tuple, int],
    items: dict[str, str],
    cats: dict[str, dict[str, str]],
    year: int,
    value_col: int,
    anchor_col: int,
) -> None:
    """A bar chart whose series are ranges of the table itself (skipped if a series is not contiguous)."""
    from tasks.charts import GREYS, alt_text, chart_frame

    chart_spec = spec["chart"]
    frame = chart_frame(block, spec, year)
    if frame.empty:
        return
    single_item = frame["item"].nunique() == 1
    stacked = chart_spec.get("kind") == "stacked"
    chart = wb.add_chart({"type": "bar", "subtype": "stacked"} if stacked else {"type": "bar"})
    series_keys = (
        sorted(set(frame["category"]), key=list(dict.fromkeys(frame["category"])).index)
        if stacked
        else sorted(set(frame["year"]), reverse=True)
    )
    name = ws.get_name()
    for k, key in enumerate(series_keys):
        part = frame[frame["category"] == key] if stacked else frame[frame["year"] == key]
        positions = [
            rows[(int(c["year"]), c["group"], c["stat"], str(c["category"]), c["item"])] for _, c in part.iterrows()
        ]
        if not positions or max(positions) - min(positions) + 1 != len(positions):
            return
        label_col = 3 if single_item and not stacked else 2
        label = cats.get(part["item"].iloc[0], {}).get(str(key), str(key)) if stacked else f"Monitor {key}"
        chart.add_series(
            {
                "name": label,
                "categories": [name, min(positions), label_col, max(positions), label_col],
                "values": [name, min(positions), value_col, max(positions), value_col],
                "fill": {"color": GREYS[k % len(GREYS)]},
                "border": {"color": "black", "width": 0.5},
            }
        )
    chart.set_title({"name": f"{spec.get('report', spec['id'])}: {spec['title']}", "name_font": {"size": 11}})
    chart.set_x_axis({"name": "Percentage (%)", "num_format": "0"})
    chart.set_y_axis({"reverse": True})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 720, "height": 60 + 26 * max(4, frame["item"].nunique() * (1 if stacked else 2))})
    ws.insert_chart(1, anchor_col, chart, {"description": alt_text(frame, spec, items, cats, year)})


def _model_sheets(
    wb: Any,
    cfg: dict[str, Any],
    models: pd.DataFrame,
    fits: pd.DataFrame | None,
    model_specs: list[dict[str, Any]],
    big: Any,
    fmt: Any,
) -> None:
    """One sheet per model (terms with Dutch labels) and one sheet with every model's fit statistics."""
    labels = cfg["models"].get("term_labels", {})
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
        ws = wb.add_worksheet(m["id"])
        ws.write_string(0, 0, f"{m['id']} {m.get('report', '')}: {m['title']}", big)
        ws.write_row(1, 0, headers)
        block = models[models["model_id"] == m["id"]]
        r = 1
        for _, t in block.iterrows():
            r += 1
            ws.write_number(r, 0, int(t["year"]))
            ws.write_string(r, 1, labels.get(t["term"], t["term"]))
            for c, col in enumerate(["estimate", "std_error", "p_value", "ci_low", "ci_high"], start=2):
                ws.write_number(r, c, float(t[col]), fmt3)
        _add_table(ws, max(r, 2), [{"header": h} for h in headers], f"Model_{m['id']}")
        ws.set_column(1, 1, 48)
        ws.set_column(2, 6, 16)
    if fits is None or not len(fits):
        return
    fit_labels = cfg["models"].get("fit_labels", {})
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


def _add_table(ws: Any, last_row: int, columns: list[dict[str, str]], name: str) -> None:
    """The one way a table is marked up: from A2, one header row, no filter buttons (AF guidance)."""
    ws.add_table(
        1,
        0,
        last_row,
        len(columns) - 1,
        {"name": name, "style": "Table Style Light 1", "autofilter": False, "columns": columns},
    )


def _group_label(group: str, cats: dict[str, dict[str, str]], items: dict[str, str] | None = None) -> str:
    if group == "all":
        return "Alle bedrijven"
    dim, key = group.split("=", 1)
    return f"{(items or {}).get(dim, dim)}: {cats.get(dim, {}).get(key, key)}"


def _num_or_code(ws: Any, r: int, c: int, value: Any, flag: str, fmt: Any) -> None:
    missing = value is None or (isinstance(value, float) and math.isnan(value)) or value == ""
    if missing:
        code = "[c]" if "c" in (flag or "") else "[x]" if "x" in (flag or "") else "[z]"
        ws.write_string(r, c, code)
    else:
        ws.write_number(r, c, float(value), fmt)
