"""A bad export stops the run with exit code 3, a message naming the problem, and nothing published."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from innomon.cli import main
from tests.conftest import copy_exports


def _break(root: Path, kind: str) -> None:
    path = root / "2023" / "innovatiemonitor-2023.csv"
    data = path.read_bytes()
    if kind == "missing_column":
        text = data.decode("utf-8-sig")
        lines = text.split("\r\n")
        # drop column Q17 (rd_systematic) from every line
        import csv
        import io

        rows = list(csv.reader(io.StringIO(text, newline="")))
        idx = rows[0].index("Q17")
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        for r in rows:
            w.writerow(r[:idx] + r[idx + 1 :])
        data = b"\xef\xbb\xbf" + buf.getvalue().encode()
        assert lines
    elif kind == "unreadable":
        data = b"\x00\x01\x02garbage" * 100
    elif kind == "other_year":
        data = re.sub(rb"2023-(\d\d-\d\d \d\d:\d\d:\d\d)", rb"2022-\1", data)
    path.write_bytes(data)


@pytest.mark.parametrize(
    "kind,rule,words",
    [
        ("missing_column", "missing_column", "Q17"),
        ("unreadable", "unreadable_file", "binary"),
        ("other_year", "wrong_year", "2022"),
    ],
)
def test_bad_export_exits_3_and_publishes_nothing(exports: Path, tmp_path: Path, capsys, kind, rule, words) -> None:
    raw = copy_exports(exports, tmp_path / "raw")
    _break(raw, kind)
    store = tmp_path / "store"
    code = main(["run", "--year", "2023", "--raw-root", str(raw), "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 3, err
    assert f"rule {rule}" in err and words in err
    assert "Traceback" not in err
    published = store / "published"
    assert not published.exists() or not any(p.is_file() for p in published.rglob("*"))
    # The rejected export is kept privately (by its SHA-256) but is not the year's archive: a later
    # run that reads 2023 as a comparison year never takes it (issue 29).
    assert not (store / "raw" / "2023" / "archived.json").exists()


def test_unknown_year_is_a_configuration_error(capsys) -> None:
    assert main(["run", "--year", "1999"]) == 2
    assert "No configuration for monitor year 1999" in capsys.readouterr().err
