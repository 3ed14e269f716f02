"""Broken exports stop the run (exit 3, the rule named, nothing published); messy but valid exports
give exactly the figures of the clean export."""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from innomon import config
from innomon.cli import main
from tests.helpers import assert_cached, edit_yaml, latest_release, task_states, tree_hashes

CSV_2023 = Path("2023") / "innovatiemonitor-2023.csv"


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _csv(
    rows: list[list[str]], *, bom: bool = True, delimiter: str = ",", newline: str = "\r\n", encoding: str = "utf-8"
) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode(encoding)


def _col(rows: list[list[str]], name: str) -> int:
    return rows[0].index(name)


def _set_column(rows: list[list[str]], name: str, value: str) -> list[list[str]]:
    j = _col(rows, name)
    for r in rows[3:]:
        r[j] = value
    return rows


def _drop_column(rows: list[list[str]], name: str) -> list[list[str]]:
    j = _col(rows, name)
    return [r[:j] + r[j + 1 :] for r in rows]


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("responses.csv", "a,b\n1,2\n")
    return buf.getvalue()


def _routing_violation(rows: list[list[str]]) -> list[list[str]]:
    rd, pct = _col(rows, "Q17"), _col(rows, "Q18")
    row = next(r for r in rows[3:] if r[rd] == "3")
    row[pct] = "12"
    return rows


def _truncate(data: bytes) -> bytes:
    cut = int(len(data) * 0.6)
    return data[:cut]


def _swap_labels_in_sav(data: bytes) -> bytes:
    """The 2022 export written again, but with value labels that say 1 = Nee for inno_goods."""
    import copy

    from innomon.synth.export import build_records, export_frame, write_sav

    cfg = copy.deepcopy(config.load(2022))
    records, _ = build_records(cfg)
    rows = export_frame(records, cfg)
    for row in cfg["datamap_rows"]:
        if row["variable"] == "inno_goods":
            row["codes"] = "1=Nee|2=Ja"
    return write_sav(rows, cfg)


def _xlsx_with_title_row(data: bytes) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    ws.insert_rows(1)
    ws["A1"] = "Export innovatiemonitor 2021"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _dutch_dates(rows: list[list[str]]) -> list[list[str]]:
    """Dates as Dutch Excel saves a CSV: 05-06-2023 10:04 instead of 2023-06-05 10:04:31."""
    for name in ("StartDate", "EndDate", "RecordedDate"):
        j = _col(rows, name)
        for r in rows[3:]:
            if r[j]:
                day, time = r[j].split(" ")
                y, m, d = day.split("-")
                r[j] = f"{d}-{m}-{y} {time[:5]}"
    return rows


def _on_csv(fn: Callable[[list[list[str]]], list[list[str]]]) -> Callable[[bytes], bytes]:
    return lambda data: _csv(fn(_rows(data)))


# kind -> (file to damage, damage, rule, words in the message)
BROKEN = {
    "dutch_excel_dates": (CSV_2023, _on_csv(_dutch_dates), "date_format", "StartDate"),
    "missing_column": (CSV_2023, _on_csv(lambda r: _drop_column(r, "Q17")), "missing_column", "Q17"),
    "renamed_column": (
        CSV_2023,
        _on_csv(lambda r: [[("Q5_sbi" if c == "Q5" and i == 0 else c) for c in row] for i, row in enumerate(r)]),
        "missing_column",
        "Q5",
    ),
    "unreadable": (CSV_2023, lambda d: b"\x00\x01\x02garbage" * 100, "unreadable_file", "binary"),
    "empty": (CSV_2023, lambda d: b"", "empty_file", "empty"),
    "header_only": (CSV_2023, _on_csv(lambda r: r[:3]), "no_data", "no responses"),
    "truncated": (CSV_2023, _truncate, "ragged_row", "truncated"),
    "html_error_page": (
        CSV_2023,
        lambda d: b"<!DOCTYPE html><html><body>Sessie verlopen</body></html>",
        "not_an_export",
        "HTML",
    ),
    "zip_not_export": (CSV_2023, lambda d: _zip_bytes(), "not_an_export", "ZIP"),
    "other_year": (
        CSV_2023,
        lambda d: re.sub(rb"2023-(\d\d-\d\d \d\d:\d\d:\d\d)", rb"2022-\1", d),
        "wrong_year",
        "2022",
    ),
    "no_recorded_date": (CSV_2023, _on_csv(lambda r: _set_column(r, "RecordedDate", "")), "wrong_year", "RecordedDate"),
    "duplicate_response_id": (
        CSV_2023,
        _on_csv(lambda r: [*r[:4], [*r[3][:7], r[3][7], *r[4][8:]], *r[5:]]),
        "duplicate_response_id",
        "more than once",
    ),
    "missing_response_id": (
        CSV_2023,
        _on_csv(lambda r: _set_column(r, "ResponseId", "")),
        "missing_response_id",
        "no ResponseId",
    ),
    "unknown_codes": (CSV_2023, _on_csv(lambda r: _set_column(r, "Q9_1", "7")), "unknown_codes", "inno_goods"),
    "choice_text_export": (
        CSV_2023,
        _on_csv(lambda r: _set_column(r, "Status", "IP Address")),
        "unknown_codes",
        "meta_status",
    ),
    "only_previews": (
        CSV_2023,
        _on_csv(lambda r: _set_column(r, "Status", "1")),
        "no_valid_respondents",
        "No valid respondent",
    ),
    "duplicate_column": (
        CSV_2023,
        _on_csv(lambda r: [[*row, row[_col(r, "Q5")]] for row in r]),
        "duplicate_column",
        "Q5",
    ),
    "sav_instead_of_csv": (CSV_2023, None, "missing_column", "datamap"),
    "sav_labels_contradict_datamap": (
        Path("2022") / "innovatiemonitor-2022.sav",
        _swap_labels_in_sav,
        "value_labels_mismatch",
        "inno_goods",
    ),
    "xlsx_title_row": (
        Path("2021") / "innovatiemonitor-2021.xlsx",
        _xlsx_with_title_row,
        "missing_column",
        "StartDate",
    ),
}


@pytest.fixture()
def workspace(demo: dict, tmp_path: Path) -> dict:
    raw = tmp_path / "raw"
    store = tmp_path / "store"
    shutil.copytree(demo["exports"], raw)
    shutil.copytree(demo["store"], store)
    return {"raw": raw, "store": store, "published": tree_hashes(store / "published")}


def _run_expect_3(ws: dict, capsys, rule: str, words: str) -> None:
    code = main(["run", "--year", "2023", "--raw-root", str(ws["raw"]), "--store", str(ws["store"])])
    err = capsys.readouterr().err
    assert code == 3, err[-2000:]
    last = (
        err.strip().splitlines()[-1]
        if "innomon:" not in err
        else next(line for line in err.splitlines() if line.startswith("innomon:"))
    )
    assert f"rule {rule}" in last, last
    assert words in last, last
    assert "Traceback" not in err
    assert not re.search(r"\bR_[0-9A-Za-z]{15}\b", err), err  # no response id in a message or a log line
    assert tree_hashes(ws["store"] / "published") == ws["published"]


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_export(workspace: dict, capsys, kind: str) -> None:
    target, damage, rule, words = BROKEN[kind]
    path = workspace["raw"] / target
    if kind == "sav_instead_of_csv":
        path.write_bytes((workspace["raw"] / "2022" / "innovatiemonitor-2022.sav").read_bytes())
    else:
        path.write_bytes(damage(path.read_bytes()))
    _run_expect_3(workspace, capsys, rule, words)


def _corrections(ws: dict, rows: list[list[str]]) -> None:
    folder = ws["store"] / "processed" / "corrections"
    folder.mkdir(parents=True, exist_ok=True)
    header = ["response_id", "variable", "old_value", "new_value", "reason", "author"]
    (folder / "corrections-2023.csv").write_bytes(_csv([header, *rows], bom=False, newline="\n"))


def _first_answer(ws: dict, column: str) -> tuple[str, str]:
    rows = _rows((ws["raw"] / CSV_2023).read_bytes())
    row = rows[3]
    return row[_col(rows, "ResponseId")], row[_col(rows, column)]


def test_correction_with_stale_old_value_is_refused(workspace: dict, capsys) -> None:
    rid, value = _first_answer(workspace, "Q9_1")
    stale = "2" if value == "1" else "1"
    _corrections(workspace, [[rid, "inno_goods", stale, value, "typo", "survey team"]])
    _run_expect_3(workspace, capsys, "correction_mismatch", "old value")


def test_correction_of_unknown_response_is_refused(workspace: dict, capsys) -> None:
    _corrections(workspace, [["R_doesnotexist123", "inno_goods", "1", "2", "typo", "survey team"]])
    _run_expect_3(workspace, capsys, "correction_unknown_response", "ResponseId")


def test_unaudited_correction_is_refused(workspace: dict, capsys) -> None:
    rid, value = _first_answer(workspace, "Q9_1")
    _corrections(workspace, [[rid, "inno_goods", value, value, "typo", ""]])
    _run_expect_3(workspace, capsys, "correction_unaudited", "author")


def _config_copy(tmp_path: Path, edit: Callable[[dict], None], year: int = 2023) -> Path:
    cdir = tmp_path / "configs"
    shutil.copytree(config.config_dir(), cdir)
    edit_yaml(cdir / f"{year}.yaml", edit)
    return cdir


def test_frozen_year_refuses_other_bytes(workspace: dict, capsys, tmp_path: Path, monkeypatch) -> None:
    cdir = _config_copy(tmp_path, lambda d: d["source"].update(sha256="0" * 64))
    monkeypatch.setenv("INNOMON_CONFIG_DIR", str(cdir))
    _run_expect_3(workspace, capsys, "data_freeze", "frozen")


def test_row_rule_configured_as_file_level_stops(workspace: dict, capsys, tmp_path: Path, monkeypatch) -> None:
    cdir = _config_copy(
        tmp_path, lambda d: d.setdefault("validation", {}).setdefault("levels", {}).update(routing_violation="file")
    )
    monkeypatch.setenv("INNOMON_CONFIG_DIR", str(cdir))
    path = workspace["raw"] / CSV_2023
    path.write_bytes(_csv(_routing_violation(_rows(path.read_bytes()))))
    _run_expect_3(workspace, capsys, "routing_violation", "file-level")


def test_applied_correction_is_counted(workspace: dict, capsys) -> None:
    rid, value = _first_answer(workspace, "Q9_1")
    _corrections(workspace, [[rid, "inno_goods", value, value, "confirmed by phone", "survey team"]])
    assert main(["run", "--year", "2023", "--raw-root", str(workspace["raw"]), "--store", str(workspace["store"])]) == 0
    import json

    report = json.loads((latest_release(workspace["store"], 2023) / "validation" / "report.json").read_text())
    assert report["years"][0]["year"] == 2023 and report["years"][0]["corrections_applied"] == 1


def _cp1252_semicolon(rows: list[list[str]]) -> bytes:
    fte = _col(rows, "Q6")
    for r in rows[3:]:
        r[fte] = r[fte].replace(".", ",")
    return _csv(rows, bom=False, delimiter=";", encoding="cp1252")


MESSY = {
    "cp1252_semicolon_decimal_comma": _cp1252_semicolon,
    "utf8_without_bom_lf": lambda rows: _csv(rows, bom=False, newline="\n"),
    "one_header_row": lambda rows: _csv([rows[0], *rows[3:]]),
    "legacy_import_ids": lambda rows: _csv(
        [
            rows[0],
            rows[1],
            [c.replace('{"ImportId":"', "{'ImportId': '").replace('"}', "'}").replace("_", "-") for c in rows[2]],
            *rows[3:],
        ]
    ),
    "finished_as_true_false": lambda rows: _csv(
        [
            *rows[:3],
            *[
                [("True" if c == "1" else "False") if j == _col(rows, "Finished") else c for j, c in enumerate(r)]
                for r in rows[3:]
            ],
        ]
    ),
}


@pytest.mark.parametrize("kind", sorted(MESSY))
def test_messy_but_valid_export_gives_identical_tables(workspace: dict, demo: dict, kind: str) -> None:
    clean = (latest_release(demo["store"], 2023) / "data" / "tables.csv").read_bytes()
    path = workspace["raw"] / CSV_2023
    path.write_bytes(MESSY[kind](_rows(path.read_bytes())))
    assert main(["run", "--year", "2023", "--raw-root", str(workspace["raw"]), "--store", str(workspace["store"])]) == 0
    release = latest_release(workspace["store"], 2023)
    assert release != latest_release(demo["store"], 2023)  # another input file: another release
    assert (release / "data" / "tables.csv").read_bytes() == clean
    # The same answers in another file: the steps that read the file ran (the validation report
    # names the file's encoding and layout); the steps that read only the answers came from cache (D36).
    states = task_states()
    assert sorted(states["ingest"]) == ["Cached", "Cached", "Completed"], states["ingest"]
    assert_cached(states, ("weights", "link", "indicators", "models"), kind)


def test_declared_date_format_reads_dutch_dates_as_the_iso_ones() -> None:
    """A source that declares `date_format: "%d-%m-%Y %H:%M"` is read by that pattern, never guessed:
    5 June stays 5 June, and an ISO date in such a file is refused, naming its row."""
    import pandas as pd

    from innomon.errors import InputError
    from tasks.ingest.mapping import ISO_DATES, _parse_dates

    iso = _parse_dates(pd.Series(["2024-06-05 10:04", "2024-06-14 23:59", ""]), ISO_DATES, "x.csv", "RecordedDate")
    dutch = _parse_dates(pd.Series(["05-06-2024 10:04", "14-06-2024 23:59", ""]), "%d-%m-%Y %H:%M", "x.csv", "C")
    pd.testing.assert_series_equal(dutch, iso)
    assert dutch.iloc[0] == pd.Timestamp("2024-06-05 10:04")
    try:
        _parse_dates(pd.Series(["05-06-2024 10:04", "2024-06-14 23:59"]), "%d-%m-%Y %H:%M", "x.csv", "RecordedDate")
    except InputError as exc:
        assert exc.rule == "date_format" and exc.row == 2 and exc.column == "RecordedDate", str(exc)
        assert "'%d-%m-%Y %H:%M'" in str(exc)
    else:
        raise AssertionError("an ISO date in a file declared %d-%m-%Y was accepted")
