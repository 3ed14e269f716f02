"""The workbook's table sheets look like the report's tables.

For every table the calibration fixture transcribes from the report, the sheet of the demo's 2023
workbook has the report's rows in the report's order and its columns (years, statistics, answer
categories, groups) in the report's order; the row labels are the report's own words; each figure
sits in the cell its row and column name, equal to `data/tables.csv` at full precision (or the code
of a figure that is not published).

The expected order comes from `configs/calibration/report_figures.csv` (transcribed in the report's
reading order), the expected words from the report's text; the sheet is read with openpyxl.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tests.helpers import latest_release, read_tables, report_figures

REPORT = Path(__file__).resolve().parent / "data" / "innovatiemonitor-2023-report.txt"
# The report's tables printed from the text or a figure rather than as a table with labelled rows.
NOT_A_PRINTED_TABLE = {"T11", "K01", "K02", "K03", "F02"}
# Labels where we deliberately do not copy the report: its misspelling "Articificial intelligence".
OWN_WORDING = {("T13", "tech_ai")}
STAT_WORDS = {"pct": "Percentage", "pct_top": "Percentage", "mean": "Gemiddelde", "n": "Aantal"}


def _sheet_of(fig: pd.Series) -> tuple[str, str]:
    """(table id in the release, item) of a report figure (docs/decisions.md D7, D8)."""
    tid, item, stat = fig["table_id"], fig["item"], fig["stat"]
    if tid == "T11" and stat == "pct":
        return "T11S", "profit_sign"
    if tid == "T25" and stat == "mean":
        return "T25M", item
    if tid == "T25" and item.startswith("protect_"):
        return "T25P", item
    return tid, item


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip().casefold()


def _report_texts() -> tuple[str, str]:
    """The report's text with lines joined, once keeping and once dropping a hyphen at a line end
    (`samenwerkings-\\npartners` is one word, `aankoop-\\n, boekhoudkundige` keeps its hyphen)."""
    raw = REPORT.read_text(encoding="utf-8")
    return _normalise(re.sub(r"-[ \t]*\n\s*", "-", raw)), _normalise(re.sub(r"-[ \t]*\n\s*", "", raw))


def _sheet(book: openpyxl.Workbook, name: str, n_labels: int) -> tuple[list[str], list[tuple], list[list]]:
    """(column headers of the value columns, row label tuples, value cells) of a report-shaped sheet."""
    ws = book[name]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    header = [h for h in rows[0] if h is not None]
    body = [r[: len(header)] for r in rows[1:] if any(v is not None for v in r[: len(header)])]
    return header[n_labels:], [tuple(r[:n_labels]) for r in body], [list(r[n_labels:]) for r in body]


@pytest.fixture(scope="module")
def release(demo: dict) -> dict:
    from innomon.config import typed
    from tasks.configure.stage import resolve, with_comparison_datamaps
    from tasks.publish.labels import labels_for

    path = latest_release(demo["store"], 2023)
    cfg = with_comparison_datamaps(resolve(2023), 2023)
    return {
        "book": openpyxl.load_workbook(path / "innovatiemonitor-2023.xlsx"),
        "tables": read_tables(path),
        "specs": {s["id"]: s for s in cfg["tables"]["tables"]},
        "labels": labels_for(typed(cfg)),
    }


def _expected_label(dim: str, fig: pd.Series, item: str, spec: dict, labels) -> str:
    layout = spec["layout"]
    if dim == "year":
        return f"Monitor {fig['year']}"
    if dim == "item":
        return (layout.get("item_labels") or {}).get(item) or labels.item(item)
    if dim == "category":
        return labels.category(item, fig["category"])
    if dim == "stat":
        return (layout.get("stat_labels") or {}).get(fig["stat"]) or STAT_WORDS[fig["stat"]]
    var, code = fig["group"].split("=", 1)
    return labels.category(var, code)


def _column_of(headers: list[str], fig: pd.Series, item: str, spec: dict, labels) -> int:
    """The value column whose header names the figure's year, statistic, category and group: the
    header that is exactly those words, else the one header that holds each of them."""
    fmt = spec["layout"].get("label_format") or {}
    wanted = [fmt.get(d, "{}").format(_expected_label(d, fig, item, spec, labels)) for d in spec["layout"]["columns"]]
    found = [i for i, h in enumerate(headers) if h.split() == " ".join(wanted).split()]
    found = found or [i for i, h in enumerate(headers) if all(w in h for w in wanted)]
    assert len(found) == 1, (spec["id"], wanted, headers)
    return found[0]


def _figures(tables: pd.DataFrame) -> pd.DataFrame:
    figs = report_figures()
    figs = figs[(figs["stat"] != "n") | (figs["table_id"] == "K01")]  # a base is on the sheet of all figures
    mapped = figs.apply(_sheet_of, axis=1, result_type="expand")
    figs = figs.assign(sheet=mapped[0], release_item=mapped[1])
    present = set(zip(tables["table_id"], tables["year"], strict=True))
    return figs[[(s, y) in present for s, y in zip(figs["sheet"], figs["year"], strict=True)]]


def test_every_transcribed_table_is_checked(demo: dict, release: dict) -> None:
    sheets = set(_figures(release["tables"])["sheet"])
    assert {"T01", "T05", "T06", "T08", "T13", "T16", "T20", "T22", "T25", "T25M", "K01"} <= sheets
    assert sheets <= set(release["book"].sheetnames)


@pytest.mark.parametrize(
    "sheet",
    ["T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08", "T09", "T11", "T11S", "T12", "T13", "T15", "T16",
     "T17", "T18", "T19", "T20", "F02", "T21", "T22", "T23", "T24", "T25", "T25M", "T25P", "K01", "K02", "K03"],
)  # fmt: skip
def test_sheet_has_the_reports_rows_columns_and_figures(release: dict, sheet: str) -> None:
    figs = _figures(release["tables"])
    figs = figs[figs["sheet"] == sheet]
    assert len(figs), f"no figure of the report maps to {sheet}"
    spec, labels = release["specs"][sheet], release["labels"]
    layout = spec["layout"]
    headers, row_labels, values = _sheet(release["book"], sheet, len(layout["rows"]))
    tables = release["tables"]
    row_order, col_order = [], []
    for _, fig in figs.iterrows():
        item = fig["release_item"]
        want_row = tuple(_expected_label(d, fig, item, spec, labels) for d in layout["rows"])
        assert want_row in row_labels, (sheet, want_row, row_labels)
        r = row_labels.index(want_row)
        c = _column_of(headers, fig, item, spec, labels)
        row_order.append(r)
        col_order.append(c)
        category = "" if fig["stat"] == "mean" else fig["category"]
        tidy = tables[
            (tables["table_id"] == sheet)
            & (tables["year"] == fig["year"])
            & (tables["group"] == fig["group"])
            & (tables["item"] == item)
            & (tables["category"] == category)
            & (tables["stat"] == fig["stat"])
        ]
        assert len(tidy) == 1, (sheet, fig.to_dict())
        value, flag = tidy["value"].iloc[0], str(tidy["flag"].iloc[0])
        if isinstance(value, float) and math.isnan(value):
            assert values[r][c] == ("[c]" if "c" in flag else "[x]"), (sheet, fig.to_dict(), values[r][c])
        else:
            assert values[r][c] == value, (sheet, fig.to_dict(), values[r][c], value)  # full precision
    # The report's reading order: figures were transcribed row by row, so the first time each row
    # (column) is met follows the report's order of rows (columns).
    assert list(dict.fromkeys(row_order)) == sorted(set(row_order)), (sheet, row_order)
    first_cols = list(dict.fromkeys(col_order))
    assert first_cols == sorted(first_cols), (sheet, [headers[c] for c in first_cols])


@pytest.mark.parametrize("sheet", ["T01", "T04", "T06", "T08", "T13", "T16", "T18", "T20", "T22", "T23", "T25M"])
def test_row_labels_are_the_reports_words(release: dict, sheet: str) -> None:
    figs = _figures(release["tables"])
    figs = figs[figs["sheet"] == sheet]
    assert not set(figs["table_id"]) & NOT_A_PRINTED_TABLE
    spec, labels = release["specs"][sheet], release["labels"]
    kept, joined = _report_texts()
    missing = []
    for _, fig in figs.iterrows():
        if (fig["table_id"], fig["item"]) in OWN_WORDING:
            continue
        for dim in spec["layout"]["rows"] + spec["layout"]["columns"]:
            if dim in ("year", "stat"):
                continue
            label = _normalise(_expected_label(dim, fig, fig["release_item"], spec, labels))
            if label not in kept and label not in joined:
                missing.append(label)
    assert not missing, sorted(set(missing))


def test_table_8_reads_as_in_the_report(release: dict) -> None:
    """Tabel 8 spelled out: ten barriers down, the mean and the share of 'grote belemmering' for
    2023, 2022 and 2021 across, current year first."""
    headers, rows, values = _sheet(release["book"], "T08", 1)
    assert headers == [
        "Gemiddelde Monitor 2023",
        "Gemiddelde Monitor 2022",
        "Gemiddelde Monitor 2021",
        "Percentage grote belemmering Monitor 2023",
        "Percentage grote belemmering Monitor 2022",
        "Percentage grote belemmering Monitor 2021",
    ]
    assert len(rows) == 10 and rows[6] == ("Gebrek aan tijd om met innovatie bezig te zijn",)
    ws = release["book"]["T08"]
    assert ws.cell(3, 2).number_format == "0.00"  # a mean with two decimals, in the reader's locale
    assert re.fullmatch(r'0"%( \[s\])?"', ws.cell(3, 5).number_format)  # a whole percentage
    assert all(isinstance(v, (int, float)) for row in values for v in row)  # numbers, not text
