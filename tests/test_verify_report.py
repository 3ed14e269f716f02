"""`innomon verify-report` (issue 32, point 1): the demo's draft as published passes, so does a copy
with harmless edits; each kind of planted error is named (exit 3)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import pytest

from tests.helpers import latest_release

PROJECT = Path(__file__).resolve().parent.parent


def _verify(store: Path, path: Path) -> tuple[int, dict]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "innomon.cli",
            "verify-report",
            "--year",
            "2023",
            "--json",
            "--store",
            str(store),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=600,
    )
    assert done.returncode in (0, 3), done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture(scope="module")
def draft(demo: dict) -> Path:
    return next(latest_release(demo["store"], 2023).glob("*-concept.docx"))


def _edit(draft: Path, target: Path, paragraph: str | None = None, new: str = "", table: tuple | None = None) -> Path:
    """A copy of the draft with one paragraph's text replaced (`paragraph`: a text it contains) or one
    table cell's (`table`: caption start, row index, column index, new text)."""
    document = docx.Document(str(draft))
    if paragraph is not None:
        hit = next(p for p in document.paragraphs if paragraph in p.text)
        hit.text = new.format(old=hit.text)
    if table is not None:
        caption, row, col, text = table
        body = document.element.body
        found = False
        for child in body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p" and "".join(child.itertext()).startswith(caption):
                found = True
            elif tag == "tbl" and found:
                grid = docx.table.Table(child, document)
                grid.rows[row].cells[col].text = text
                break
    document.save(str(target))
    return target


def _suppressed_cell(draft: Path, caption: str) -> tuple[int, int]:
    """Row and column of the first [c] in the table below `caption`."""
    document = docx.Document(str(draft))
    found = False
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p" and "".join(child.itertext()).startswith(caption):
            found = True
        elif tag == "tbl" and found:
            grid = docx.table.Table(child, document)
            for r, row in enumerate(grid.rows):
                for c, cell in enumerate(row.cells):
                    if cell.text == "[c]":
                        return r, c
            break
    raise AssertionError(f"no [c] below {caption}")


def test_the_published_draft_and_harmless_edits_pass(demo: dict, draft: Path, tmp_path: Path) -> None:
    code, summary = _verify(demo["store"], draft)
    assert code == 0 and summary["wrong"] == 0, summary["findings"][:3]
    assert summary["checked"] > 1000 and summary["agreed"] == summary["checked"]
    edited = _edit(
        draft,
        tmp_path / "reworded.docx",
        "De grootste groep respondenten bestaat uit koplopers",
        "{old} Dat is in lijn met het beeld van eerdere jaren.",
    )
    document = docx.Document(str(edited))
    document.add_paragraph("De auteurs danken alle ondernemers die de vragenlijst invulden.")
    hit = next(p for p in document.paragraphs if "De grootste groep respondenten bestaat uit" in p.text)
    hit.text = hit.text.replace("De grootste groep respondenten bestaat uit", "De grootste groep respondenten zijn")
    document.save(str(edited))
    code, summary = _verify(demo["store"], edited)
    assert code == 0 and summary["wrong"] == 0, summary["findings"][:3]


def _traced(demo: dict, contains: str) -> str:
    sentences = json.loads((latest_release(demo["store"], 2023) / "data" / "concept-sentences.json").read_text())
    return next(s["text"] for s in sentences if contains in s["text"])


def test_each_kind_of_planted_error_is_named(demo: dict, draft: Path, tmp_path: Path) -> None:
    response = _traced(demo, "een respons van")
    pyramid = _traced(demo, "De grootste groep respondenten bestaat uit koplopers")
    change, word, other = _traced(demo, "dat aandeel is gedaald"), "gedaald", "gestegen"
    from tests.helpers import read_tables

    cells = read_tables(latest_release(demo["store"], 2023))
    koplopers = cells[
        (cells["table_id"] == "T01") & (cells["item"] == "pyramid") & (cells["category"] == "koploper")
        & (cells["group"] == "all") & (cells["stat"] == "pct")
    ].set_index("year")["value"]  # fmt: skip
    this, last = f"{koplopers[2023]:.0f}%", f"{koplopers[2022]:.0f}%"
    assert this != last and f"koplopers ({this})" in pyramid
    planted = {
        "number": _edit(draft, tmp_path / "a.docx", "een respons van", response.replace("3,7%", "4,7%")),
        "direction": _edit(draft, tmp_path / "b.docx", change[:40], change.replace(word, other)),
        "last_year": _edit(draft, tmp_path / "c.docx", "bestaat uit koplopers", pyramid.replace(this, last, 1)),
        "table": _edit(draft, tmp_path / "d.docx", table=("Tabel 12:", 1, 1, "9,99")),
        "suppressed": _edit(
            draft, tmp_path / "e.docx", table=("Tabel 12:", *_suppressed_cell(draft, "Tabel 12:"), "12%")
        ),
    }
    found = {}
    for kind, path in planted.items():
        code, summary = _verify(demo["store"], path)
        assert code == 3 and summary["wrong"] == 1, (kind, summary["findings"])
        found[kind] = summary["findings"][0]
    assert found["number"]["says"] == "4,7%" and found["number"]["data"] == "3,7%"
    assert found["direction"]["says"] == other and found["direction"]["data"] == word
    assert found["last_year"]["says"] == last and "is the figure of 2022" in found["last_year"]["what"]
    assert found["table"]["says"] == "9,99" and found["table"]["data"] != "9,99"
    assert found["suppressed"]["data"] == "[c]" and "a suppressed figure quoted" in found["suppressed"]["what"]
    assert all(f["where"] for f in found.values())


def test_plain_text_and_pdf_are_read_too(demo: dict, draft: Path, tmp_path: Path) -> None:
    document = docx.Document(str(draft))
    text = "\n\n".join(p.text for p in document.paragraphs)
    plain = tmp_path / "report.txt"
    plain.write_text(text, "utf-8")
    code, summary = _verify(demo["store"], plain)
    assert code == 0 and summary["checked"] >= 20
    plain.write_text(text.replace("een respons van 3,7%", "een respons van 4,7%"), "utf-8")
    code, summary = _verify(demo["store"], plain)
    assert code == 3 and summary["findings"][0]["where"].startswith("regel ")
    if shutil.which("soffice") is None or shutil.which("pdftotext") is None:
        pytest.skip("LibreOffice or poppler-utils is not installed")
    subprocess.run(
        ["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
         "pdf", "--outdir", str(tmp_path), str(draft)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    pdf = tmp_path / draft.with_suffix(".pdf").name
    assert pdf.exists()
    code, summary = _verify(demo["store"], pdf)
    assert code == 0 and summary["checked"] >= 20, summary["findings"][:3]
