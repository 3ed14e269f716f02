"""Readers on real platform exports (shared/data) and on what must be refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from innomon.errors import InputError
from innomon.exports import detect_format, read_export

DATA = Path(__file__).resolve().parent / "data"


def test_modern_qualtrics_three_header_rows() -> None:
    export = read_export((DATA / "qualtRics_sample.csv").read_bytes(), "qualtRics_sample.csv")
    assert export.details["header_rows"] == 3
    assert len(export.frame) == 1
    assert export.frame.columns[0] == "StartDate"


def test_early_qualtrics_single_quote_import_ids() -> None:
    export = read_export((DATA / "QualtricsTools_Sample_Survey_insights.csv").read_bytes(), "insights.csv")
    assert export.details["header_rows"] == 3
    assert len(export.frame) == 5


def test_crlf_export_with_time_zone_import_ids() -> None:
    export = read_export((DATA / "ldi_tutorial_testing_preservation_2026-06-16.csv").read_bytes(), "ldi.csv")
    assert export.details["crlf"] is True
    assert export.details["header_rows"] == 3
    assert len(export.frame) == 25


def test_spss_sav_read_as_text_with_value_labels() -> None:
    export = read_export((DATA / "pyreadstat_sample.sav").read_bytes(), "sample.sav")
    assert export.format == "sav"
    assert len(export.frame) == 5
    assert export.value_labels["mylabl"] == {"1": "Male", "2": "Female"}


def test_semicolon_cp1252_decimal_comma_gives_same_cells() -> None:
    clean = 'ResponseId,Naam,Bedrag\nR_1,Café Sûdwest,"12.5"\n'.encode()
    messy = "ResponseId;Naam;Bedrag\r\nR_1;Café Sûdwest;12,5\r\n".encode("cp1252")
    a = read_export(clean, "a.csv").frame
    b = read_export(messy, "b.csv").frame
    assert a["Naam"].tolist() == b["Naam"].tolist() == ["Café Sûdwest"]
    assert b["Bedrag"].iloc[0] == "12,5"  # typed (with decimal comma) by the datamap mapping


@pytest.mark.parametrize(
    "data,rule",
    [
        (b"", "empty_file"),
        (b"<!DOCTYPE html><html><body>Session expired</body></html>", "not_an_export"),
        (b"ResponseId,Q1\n", "no_data"),
    ],
)
def test_refused_inputs(data: bytes, rule: str) -> None:
    with pytest.raises(InputError) as err:
        read_export(data, "x.csv")
    assert err.value.rule == rule


def test_zip_that_is_not_a_workbook_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("export.csv", "a,b\n1,2\n")
    with pytest.raises(InputError) as err:
        detect_format(buf.getvalue(), "export.zip")
    assert err.value.rule == "not_an_export"


def test_xlsx_text_cells_keep_leading_zeros_and_numbers_lose_their_point() -> None:
    """An SBI code typed as text ("01242", agriculture) must not become the number 1242."""
    import io

    import xlsxwriter

    from innomon.exports import read_xlsx_export

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["Q24", "Q1", "Q2"])
    ws.write_string(1, 0, "01242")
    ws.write_number(1, 1, 3.0)
    ws.write_number(1, 2, 12.5)
    ws.write_string(2, 0, " 4711 ")
    wb.close()
    frame = read_xlsx_export(buf.getvalue(), "x.xlsx").frame
    assert frame["Q24"].tolist() == ["01242", "4711"]
    assert frame["Q1"].tolist() == ["3", ""]
    assert frame["Q2"].tolist() == ["12.5", ""]
