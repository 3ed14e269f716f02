"""Automated checks of a published workbook against the Analysis Function spreadsheet guidance
(anchors.md section 1e, X1-X10 and X13; X11 is the tidy-CSV schema, X12 the chart manifest).

Returns a list of failures, each naming the check, the sheet and what is wrong; an empty list
means the workbook passes. Written by hand: no library checks these rules.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
from openpyxl.utils import range_boundaries

FRONT = ["Voorblad", "Inhoud", "Toelichting"]
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
CODE_RE = re.compile(r"^\[([a-z]{1,3})\]$")


def check_workbook(path: Path, suppression_min_n: int = 10) -> list[str]:
    """Every failure of X1-X10 and X13 in one workbook."""
    wb = openpyxl.load_workbook(path)
    fails: list[str] = []
    names = wb.sheetnames
    if names[:3] != FRONT:
        fails.append(f"X1 sheets start {names[:3]}, expected {FRONT}")
    data_sheets = [ws for ws in wb.worksheets if ws.title not in FRONT[:1]]
    table_names: list[str] = []
    codes_used: set[str] = set()
    for ws in data_sheets:
        if ws.merged_cells.ranges:
            fails.append(f"X3 {ws.title}: merged cells")
        if not ws["A1"].value:
            fails.append(f"X5 {ws.title}: A1 is empty")
        if ws.freeze_panes not in (None, "A1"):
            fails.append(f"X10 {ws.title}: freeze panes {ws.freeze_panes}")
        if getattr(ws, "_images", []):
            fails.append(f"X10 {ws.title}: an image")
        if len(ws.tables) != 1:
            fails.append(f"X1 {ws.title}: {len(ws.tables)} tables, expected 1")
            continue
        table = next(iter(ws.tables.values()))
        table_names.append(table.name)
        if not NAME_RE.match(table.name):
            fails.append(f"X2 {ws.title}: table name {table.name!r}")
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        header = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
        if any(h in (None, "") for h in header) or len(set(header)) != len(header):
            fails.append(f"X4 {ws.title}: header not unique and complete: {header}")
        for i, h in enumerate(header):
            if (
                "Percentage" in str(h)
                and "(%)" not in str(h)
                and not _unit_in_format(ws, min_col + i, min_row, max_row)
            ):
                fails.append(
                    f"X4 {ws.title}: percentage column {h!r} shows its unit neither in the header nor the cells"
                )
                break
        if min_col != 1 or min_row != 2:
            fails.append(f"X5 {ws.title}: table starts at {table.ref}, expected column A row 2")
        for r in range(min_row + 1, max_row + 1):
            row = [ws.cell(r, c).value for c in range(min_col, max_col + 1)]
            if all(v in (None, "") for v in row):
                fails.append(f"X3 {ws.title}: blank row {r} inside the table")
                break
            if any(v in (None, "") for v in row):
                fails.append(f"X6 {ws.title}: empty cell in row {r}")
                break
            for c in range(min_col, max_col + 1):  # a code after a number lives in its number format
                if isinstance(ws.cell(r, c).value, (int, float)):
                    codes_used.update(re.findall(r"\[([a-z]{1,3})\]", ws.cell(r, c).number_format))
            for v in row:
                if isinstance(v, str):
                    codes_used.update(CODE_RE.findall(v))
                    codes_used.update(re.findall(r"\[([a-z]{1,3})\]", v) if v.startswith("[") else [])
        if _n_column_breaches(ws, header, min_row, max_row, min_col, suppression_min_n):
            fails.append(f"X13 {ws.title}: a value is shown for a base below {suppression_min_n}")
        title = str(ws["A1"].value or "")
        if any(sym in title + " ".join(map(str, header)) for sym in ("*", "†", "‡")):
            fails.append(f"X7 {ws.title}: a symbol instead of [note n]")
        if ws.auto_filter.ref or table.autoFilter is not None:
            fails.append(f"X10 {ws.title}: a filter")
    if len(set(table_names)) != len(table_names):
        fails.append("X2 table names are not unique")
    notes = wb["Toelichting"] if "Toelichting" in names else None
    explained = set()
    if notes is not None:
        for row in notes.iter_rows(values_only=True):
            for c in range(min_col, max_col + 1):  # a code after a number lives in its number format
                if isinstance(ws.cell(r, c).value, (int, float)):
                    codes_used.update(re.findall(r"\[([a-z]{1,3})\]", ws.cell(r, c).number_format))
            for v in row:
                if isinstance(v, str):
                    explained.update(re.findall(r"^\[([a-z]{1,3})\]", v))
    missing = sorted(codes_used - explained)
    if missing:
        fails.append(f"X6 codes used but not explained on Toelichting: {missing}")
    contents = wb["Inhoud"] if "Inhoud" in names else None
    links = [c for row in contents.iter_rows() for c in row if c.hyperlink] if contents else []
    expected_links = len(names) - 3
    if len(links) != expected_links:
        fails.append(f"X8 contents has {len(links)} links for {expected_links} sheets")
    props = wb.properties
    if not props.title or not props.subject or not props.language:
        fails.append(f"X9 document properties incomplete (title={props.title!r}, language={props.language!r})")
    if wb.active.title != "Voorblad":
        fails.append(f"X9 workbook opens on {wb.active.title}, expected Voorblad")
    return fails


def _unit_in_format(ws, col: int, min_row: int, max_row: int) -> bool:
    """True when every number in the column is formatted with a literal % (report-shaped tables
    print `47%`; the header then names the statistic, as the report does)."""
    numbers = [
        ws.cell(r, col) for r in range(min_row + 1, max_row + 1) if isinstance(ws.cell(r, col).value, (int, float))
    ]
    return all(re.search(r'"[^"]*%[^"]*"', c.number_format) for c in numbers)


def _n_column_breaches(ws, header: list, min_row: int, max_row: int, min_col: int, threshold: int) -> bool:
    if "Basis (n)" not in header:
        return False
    n_col = min_col + header.index("Basis (n)")
    value_cols = [
        min_col + i for i, h in enumerate(header) if h in ("Percentage (%)", "Gemiddelde (eenheid van de vraag)")
    ]
    for r in range(min_row + 1, max_row + 1):
        n = ws.cell(r, n_col).value
        if isinstance(n, (int, float)) and n < threshold:
            if any(isinstance(ws.cell(r, c).value, (int, float)) for c in value_cols):
                return True
    return False
