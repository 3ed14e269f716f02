"""Read a survey export (Qualtrics CSV, SPSS .sav, Excel .xlsx) into a table of text cells, and
minimise one to the columns the questionnaire uses (`minimise`, at the door: fetch).

The format is chosen by content (magic bytes), not by the file name. Every cell comes back as
text exactly as written (blank = ""), so that no reader silently turns a KvK number or an SBI code
into a number; typing happens in `tasks.ingest.mapping` against the datamap.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from innomon import policy
from innomon.errors import InputError
from innomon.numtext import number_text

FORMATS = ("qualtrics_csv", "sav", "xlsx")


@dataclass
class Export:
    """An export as read: text cells under the platform's column ids, plus what the reader saw."""

    frame: pd.DataFrame
    format: str
    details: dict[str, Any] = field(default_factory=dict)
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)


def detect_format(data: bytes, name: str) -> str:
    """The export format from the first bytes; refuses what is not a survey export."""
    if not data.strip():
        raise InputError("The export is empty.", file=name, rule="empty_file")
    refusal = policy.size_refusal(len(data), "The export")
    if refusal:
        raise InputError(f"{refusal}.", file=name, rule="too_large")
    if data[:4] == b"PK\x03\x04":
        try:
            infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
        except zipfile.BadZipFile as exc:
            raise InputError("The export is a damaged ZIP/Excel file.", file=name, rule="unreadable_file") from exc
        refusal = policy.zip_refusal([(i.filename, i.file_size, i.compress_size) for i in infos], "The workbook")
        if refusal:  # before the Excel reader inflates anything
            raise InputError(f"{refusal}.", file=name, rule="too_large")
        names = [i.filename for i in infos]
        if "xl/workbook.xml" in names:
            return "xlsx"
        raise InputError(
            "The file is a ZIP archive but not an Excel workbook; unzip the survey export first.",
            file=name,
            rule="not_an_export",
        )
    if data[:4] in (b"$FL2", b"$FL3"):
        return "sav"
    head = data[:2048].lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
        raise InputError(
            "The file is an HTML/XML page, not a survey export (a download error page saved as CSV?).",
            file=name,
            rule="not_an_export",
        )
    if b"\x00" in data[:4096]:
        raise InputError("The file is binary and not a known export format.", file=name, rule="unreadable_file")
    return "qualtrics_csv"


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise InputError("The CSV is neither UTF-8 nor cp1252 text.", file=name, rule="unreadable_file") from exc


def _sniff_delimiter(first_line: str) -> str:
    # Hand-written on purpose: csv.Sniffer guesses wrongly on long question texts with commas.
    in_quotes = False
    counts = {",": 0, ";": 0, "\t": 0}
    for ch in first_line:
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else ","


def _is_import_id_row(row: list[str]) -> bool:
    cells = [c.strip() for c in row if c.strip()]
    return bool(cells) and all(c.startswith("{") and "importid" in c.lower() for c in cells[:3])


def read_csv_export(data: bytes, name: str) -> Export:
    """Qualtrics-style CSV: one or three header rows, `,` or `;`, UTF-8 (BOM or not) or cp1252."""
    text, encoding = _decode(data, name)
    lines = text.splitlines()
    if not lines:
        raise InputError("The export is empty.", file=name, rule="empty_file")
    delimiter = _sniff_delimiter(lines[0])
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    rows = [r for r in rows if any(c.strip() for c in r)]
    header = [h.strip() for h in rows[0]]
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:  # kept apart (real exports repeat ids of unused columns); mapping refuses them if needed
        seen: dict[str, int] = {}
        for i, h in enumerate(header):
            seen[h] = seen.get(h, 0) + 1
            if seen[h] > 1:
                header[i] = f"{h}#duplicate{seen[h]}"
    body = rows[1:]
    header_rows = 1
    if len(body) >= 2 and _is_import_id_row(body[1]):
        body = body[2:]
        header_rows = 3
    width = len(header)
    for i, row in enumerate(body):
        if len(row) != width:
            raise InputError(
                f"The row has {len(row)} fields where the header has {width} (truncated or shifted file).",
                file=name,
                row=i + header_rows + 1,
                rule="ragged_row",
            )
    frame = pd.DataFrame(body, columns=header, dtype=object)
    details = {
        "encoding": encoding,
        "delimiter": delimiter,
        "header_rows": header_rows,
        "crlf": "\r\n" in text[:10000],
        "duplicate_columns": duplicates,
    }
    return Export(frame=frame, format="qualtrics_csv", details=details)


def _cell_text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value).strip()


def _column_text(col: pd.Series) -> np.ndarray:
    """One column as text cells, like `_cell_text`; numeric columns are converted in bulk."""
    if pd.api.types.is_float_dtype(col) or pd.api.types.is_integer_dtype(col):
        return number_text(col, "")
    return np.array([_cell_text(v) for v in col.tolist()], dtype=object)


def _to_text_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text (the readers agree on text; the mapping parses by datamap type)."""
    return pd.DataFrame({c: _column_text(df[c]) for c in df.columns}, dtype=object)


def read_xlsx_export(data: bytes, name: str) -> Export:
    """Excel workbook, first sheet, one header row of column ids."""
    import fastexcel
    import pyarrow.compute as pc

    try:
        # fastexcel (calamine in Rust, straight to Arrow) reads a 100,000-row export in seconds;
        # every cell is read as text, the form all readers hand to the datamap mapping.
        sheet = fastexcel.read_excel(data).load_sheet(0, header_row=0, dtypes="string")
        table = sheet.to_arrow()
    except Exception as exc:  # the reader raises many kinds; one sentence for the operator
        raise InputError(f"The Excel export cannot be read: {exc}", file=name, rule="unreadable_file") from exc
    columns = {}
    for col_name, column in zip(table.column_names, table.columns, strict=True):
        text = pc.fill_null(pc.utf8_trim_whitespace(column.cast("string")), "")
        columns[str(col_name).strip()] = text.to_numpy(zero_copy_only=False).astype(object)
    frame = pd.DataFrame(columns, dtype=object)
    return Export(frame=frame, format="xlsx", details={"sheet": 0, "header_rows": 1})


def _read_sav(data: bytes, name: str) -> tuple[pd.DataFrame, Any]:
    """pyreadstat's frame and metadata of an SPSS file (it reads from a path only)."""
    import pyreadstat

    fd, path = tempfile.mkstemp(suffix=".sav")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            return pyreadstat.read_sav(path, apply_value_formats=False)
        except Exception as exc:
            raise InputError(f"The SPSS export cannot be read: {exc}", file=name, rule="unreadable_file") from exc
    finally:
        os.unlink(path)


def read_sav_export(data: bytes, name: str) -> Export:
    """SPSS .sav with value labels; column names are the SPSS-safe column ids."""
    df, meta = _read_sav(data, name)
    labels = {
        col: {_cell_text(float(k)) if isinstance(k, (int, float)) else str(k): str(v) for k, v in mapping.items()}
        for col, mapping in (meta.variable_value_labels or {}).items()
    }
    return Export(
        frame=_to_text_frame(df),
        format="sav",
        details={"encoding": meta.file_encoding, "header_rows": 0},
        value_labels=labels,
    )


def read_export(data: bytes, name: str) -> Export:
    """Read any supported export; the format comes from the content."""
    fmt = detect_format(data, name)
    if fmt == "xlsx":
        export = read_xlsx_export(data, name)
    elif fmt == "sav":
        export = read_sav_export(data, name)
    else:
        export = read_csv_export(data, name)
    if export.frame.empty:
        raise InputError("The export has a header but no responses.", file=name, rule="no_data")
    return export


def details_json(export: Export) -> str:
    """What the reader detected, for the run log."""
    return json.dumps({"format": export.format, **export.details}, sort_keys=True)


# Data minimisation at the door (issue 30): the survey platform exports every column it has (IP
# address, location, the recipient's name and e-mail); fetch empties every column the year's datamap
# does not name, in the export's own format, before anything is written. The columns stay, empty,
# under their names: the export keeps its shape, so every diagnosis of a malformed export (a title
# row above the header, a repeated or missing column id) is the one the original would get. Each
# format is rewritten so that this module's reader gives exactly the same text cells (and value
# labels) for every kept column, and the same bytes for the same export (a minimised export is
# archived by its SHA-256). Written by hand: no library rewrites a Qualtrics CSV, a workbook and an
# SPSS file alike.
FIXED_CREATED = dt.datetime(2000, 1, 1)
REMOVED = "-"  # left in an emptied cell only where a response's row would otherwise vanish


def _emptied(row: list[str], emptied: set[int]) -> list[str]:
    """The row with the cells at `emptied` blank; a row that held something only there keeps one
    marker, so that no response's row disappears (a row of blanks is skipped by the readers)."""
    out = ["" if i in emptied else c for i, c in enumerate(row)]
    if not any(c.strip() for c in out):
        first = next((i for i, c in enumerate(row) if c.strip()), None)
        if first is not None:
            out[first] = REMOVED
    return out


def minimise(
    data: bytes,
    name: str,
    keep: set[str] | None,
    drop_rows: frozenset[int] = frozenset(),
    export: Export | None = None,
) -> bytes:
    """The export with every column not in `keep` emptied (None: every column kept) and the
    responses at `drop_rows` (0-based, as `read_export` numbers them) removed, in its own format.
    The export is read first (unless the caller read it: `export`): a broken one is refused here, as
    ingest would refuse it."""
    fmt = export.format if export is not None else detect_format(data, name)
    if fmt == "sav":  # rewritten from pyreadstat's own frame and metadata: one read
        return _minimise_sav(data, name, keep, drop_rows)
    if fmt == "xlsx":
        return _minimise_xlsx(export or read_xlsx_export(data, name), keep, drop_rows)
    return _minimise_csv(data, name, export or read_csv_export(data, name), keep, drop_rows)


def _minimise_csv(data: bytes, name: str, export: Export, keep: set[str] | None, drop_rows: frozenset[int]) -> bytes:
    text, encoding = _decode(data, name)
    delimiter = str(export.details["delimiter"])
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    first = next(i for i, r in enumerate(rows) if any(c.strip() for c in r))
    header_end = first + int(export.details["header_rows"])  # ids, and Qualtrics' labels and import ids
    emptied = set() if keep is None else {i for i, h in enumerate(rows[first]) if h.strip() not in keep}
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n" if export.details["crlf"] else "\n")
    response = -1  # the reader's numbering: the non-blank rows after the header rows
    for n, row in enumerate(rows):
        if n > first and n >= header_end and any(c.strip() for c in row):
            response += 1
            if response in drop_rows:
                continue
            row = _emptied(row, emptied)
        writer.writerow(row)
    body = out.getvalue()
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + body.encode("utf-8")
    return body.encode(encoding)


def _minimise_xlsx(export: Export, keep: set[str] | None, drop_rows: frozenset[int]) -> bytes:
    """A workbook of the same columns, the kept ones holding the text the reader gave (so they read
    back the same), the others empty."""
    import xlsxwriter

    frame = export.frame.drop(index=export.frame.index[sorted(drop_rows)]) if drop_rows else export.frame
    kept = [c for c in frame.columns if keep is None or c in keep]
    buf = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    wb = xlsxwriter.Workbook(buf, options)
    wb.set_properties({"created": FIXED_CREATED})
    sheet = wb.add_worksheet()
    for col, header in enumerate(frame.columns):
        sheet.write_string(0, col, str(header))
        if header not in kept:
            continue
        for row, value in enumerate(frame[header].tolist(), start=1):
            if value != "":
                sheet.write_string(row, col, str(value))
    if len(frame):  # the last row stays a row (a reader ends the sheet at its last non-empty cell)
        last = [str(v) for v in frame.iloc[-1].tolist()]
        positions = {i for i, c in enumerate(frame.columns) if c not in kept}
        for col, value in enumerate(_emptied(last, positions)):
            if value == REMOVED:
                sheet.write_string(len(frame), col, REMOVED)
    wb.close()
    return buf.getvalue()


# The SAV header's creation date and time (9 + 8 ASCII bytes after record type, product name,
# layout code, case size, compression, weight index, case count and bias): the minimised file
# carries the original's, so the same export always gives the same bytes.
SAV_TIMESTAMP = slice(92, 109)


def _minimise_sav(data: bytes, name: str, keep: set[str] | None, drop_rows: frozenset[int]) -> bytes:
    import pyreadstat

    df, meta = _read_sav(data, name)
    out_fd, out_path = tempfile.mkstemp(suffix=".sav")
    os.close(out_fd)
    try:
        if drop_rows:
            df = df.drop(index=df.index[sorted(drop_rows)]).reset_index(drop=True)
        for col in df.columns:
            if keep is not None and col not in keep:  # emptied: a number becomes system-missing, a text blank
                df[col] = "" if df[col].dtype == object else float("nan")
        pyreadstat.write_sav(
            df,
            out_path,
            file_label=meta.file_label or "",
            column_labels=[label or "" for label in meta.column_labels],
            variable_value_labels=meta.variable_value_labels or None,
            missing_ranges=meta.missing_ranges or None,
            variable_measure=meta.variable_measure or None,
            variable_display_width=meta.variable_display_width or None,
            variable_format=meta.original_variable_types or None,
        )
        with open(out_path, "rb") as fh:
            written = bytearray(fh.read())
    finally:
        os.unlink(out_path)
    if data[:4] == written[:4] == b"$FL2":
        written[SAV_TIMESTAMP] = data[SAV_TIMESTAMP]
    return bytes(written)
