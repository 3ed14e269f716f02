"""The published bundle: accessible workbooks, chart assets with alt text, the same bytes for the
same inputs, and no respondent identity anywhere under the published root."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from innomon.cli import run_year
from tests.helpers import latest_release
from tests.xlsx_checks import check_workbook


@pytest.mark.parametrize("year", [2021, 2022, 2023])
def test_workbooks_pass_x1_to_x13(demo: dict, year: int) -> None:
    path = latest_release(demo["store"], year) / f"innovatiemonitor-{year}.xlsx"
    assert check_workbook(path) == []


def test_every_sheet_prints_one_page_wide(demo: dict) -> None:
    """Printed or converted to PDF, no sheet splits its columns over pages (the contents' long
    titles did)."""
    import re
    import zipfile

    path = latest_release(demo["store"], 2023) / "innovatiemonitor-2023.xlsx"
    with zipfile.ZipFile(path) as z:
        names = re.findall(r'<sheet name="([^"]+)"', z.read("xl/workbook.xml").decode())
        sheets = sorted(n for n in z.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
        assert len(sheets) == len(names) > 40
        for name, sheet in zip(names, sorted(sheets, key=lambda n: int(re.sub(r"\D", "", n))), strict=True):
            xml = z.read(sheet).decode()
            assert '<pageSetUpPr fitToPage="1"/>' in xml and 'fitToHeight="0"' in xml, name
            assert 'orientation="landscape"' in xml, name


def test_a_kept_bundle_is_read_back_whole_or_built_again(tmp_path: Path) -> None:
    """The bundle a failed publish built is reused by its retry, byte for byte; a damaged archive is
    built again, never published."""
    from innomon import storage
    from tasks.publish.stage import kept_bundle

    processed = storage.as_uri(str(tmp_path / "processed"))
    bundle = ({"data/tables.csv": b"a,b\n1,2\n", "charts/T01.png": bytes(range(256))}, [{"id": "T01", "alt_text": "x"}])
    builds: list[int] = []

    def build() -> tuple[dict[str, bytes], list[dict[str, str]]]:
        builds.append(1)
        return bundle

    assert kept_bundle(processed, 2023, "k" * 64, build) == bundle and len(builds) == 1
    assert kept_bundle(processed, 2023, "k" * 64, build) == bundle and len(builds) == 1  # read back, not built
    assert kept_bundle(processed, 2023, "j" * 64, build) == bundle and len(builds) == 2  # another key: built
    kept = next((tmp_path / "processed" / "2023" / "bundles").glob("kkk*.zip"))
    data = bytearray(kept.read_bytes())
    data[data.index(bytes(range(256))) + 10] ^= 0xFF  # one flipped byte inside a stored file: CRC-32 fails
    kept.write_bytes(bytes(data))
    assert kept_bundle(processed, 2023, "k" * 64, build) == bundle and len(builds) == 3
    assert kept_bundle(None, 2023, "k" * 64, build) == bundle and len(builds) == 4  # nowhere to keep it


def test_kept_charts_are_the_drawn_bytes_and_a_damaged_one_is_drawn_again(
    demo: dict, tmp_path: Path, monkeypatch
) -> None:
    """Charts drawn for one release are kept by what they are drawn from; the next bundle with the
    same figures reads them instead of drawing, byte for byte, and a damaged one is drawn again."""
    from innomon import config, storage
    from schemas.cells import read_tables_csv
    from tasks.publish import chart_workers
    from tasks.publish.stage import start_chart_assets

    cells = read_tables_csv((latest_release(demo["store"], 2023) / "data" / "tables.csv").read_bytes())
    cfg = config.load_typed(2023)
    assert cfg.tables is not None
    charted = [t for t in cfg.table_specs if t.chart]
    assert len(charted) == 7 and charted[0].id == "T01"
    # two of the seven charts: what is kept and read is per chart, and drawing is the test's cost
    tables = [t for t in cfg.table_specs if not t.chart] + charted[:2]
    cfg = cfg.model_copy(update={"tables": cfg.tables.model_copy(update={"tables": tables})})
    kept = storage.as_uri(str(tmp_path / "charts"))
    drawn: list[int] = []
    real = chart_workers.Rendering

    class Counted(real):  # type: ignore[misc, valid-type]
        def __init__(self, jobs: list) -> None:
            drawn.append(len(jobs))
            super().__init__(jobs)

    monkeypatch.setattr(chart_workers, "Rendering", Counted)
    first = start_chart_assets(cells, cfg, kept)()
    assert drawn == [2] and len(list((tmp_path / "charts").glob("*.zip"))) == 2
    assert start_chart_assets(cells, cfg, kept)() == first and drawn == [2, 0]  # read, not drawn
    assert start_chart_assets(cells, cfg)() == first and drawn == [2, 0, 2]  # the same bytes drawn again
    one = sorted((tmp_path / "charts").glob("*.zip"))[0]
    data = bytearray(one.read_bytes())
    data[len(data) // 2] ^= 0xFF
    one.write_bytes(bytes(data))
    assert start_chart_assets(cells, cfg, kept)() == first and drawn == [2, 0, 2, 1]
    changed = cells.assign(value=cells["value"].where(cells["table_id"] != "T01", cells["value"] + 1))
    files, _ = start_chart_assets(changed, cfg, kept)()
    assert drawn[-1] == 1 and files["charts/T01.png"] != first[0]["charts/T01.png"]  # new figures: drawn


def test_checker_catches_what_it_should(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "bad.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Sheet1")
    ws.write(1, 0, "a")
    ws.merge_range(3, 0, 3, 2, "merged")
    ws.freeze_panes(1, 0)
    wb.close()
    fails = " ".join(check_workbook(path))
    for code in ("X1", "X3", "X5", "X9", "X10"):
        assert code in fails


def test_chart_assets_have_alt_text_and_the_table(demo: dict) -> None:
    release = latest_release(demo["store"], 2023)
    manifest = json.loads((release / "manifest.json").read_text())
    charts = {c["id"]: c for c in manifest["charts"]}
    assert {"T01", "T06", "T08", "T13", "T20", "F02", "T21"} <= set(charts)
    paths = {f["path"] for f in manifest["files"]}
    for c in charts.values():
        assert c["png"] in paths and c["svg"] in paths
        assert len(c["alt_text"]) > 40 and c["table"] in c["alt_text"]
        svg = (release / c["svg"]).read_text()
        assert "<svg" in svg and "Date" not in svg.split("</metadata>")[0]


def test_same_inputs_give_the_same_bytes(demo: dict, tmp_path: Path) -> None:
    result = run_year(2023, str(demo["exports"]), str(tmp_path / "store"))
    ours = latest_release(demo["store"], 2023)
    theirs = tmp_path / "store" / "published" / "2023" / "runs" / result["run_id"]
    assert ours.name == theirs.name
    files = sorted(p.relative_to(ours) for p in ours.rglob("*") if p.is_file())
    assert len(files) >= 15
    for rel in files:
        assert (ours / rel).read_bytes() == (theirs / rel).read_bytes(), rel


def _identities(store: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"name": set(), "kvk": set(), "email": set(), "postcode": set()}
    for path in (store / "processed").rglob("identities-*.parquet"):
        df = pd.read_parquet(path)
        found["name"] |= {n for n in df["company_name"] if isinstance(n, str) and len(n) >= 6}
        found["kvk"] |= {k for k in df["kvk_norm"].dropna()}
        found["email"] |= {e for e in df["email"] if isinstance(e, str) and "@" in e}
        for pc in df["postcode"].dropna():
            compact = re.sub(r"\s", "", pc)
            if re.fullmatch(r"\d{4}[A-Z]{2}", compact):
                found["postcode"] |= {pc, compact}
    for path in (store / "raw").rglob("frame/*.csv"):  # the invitation frames: register numbers, postcodes
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        found["kvk"] |= set(frame["frame_id"])
        found["postcode"] |= set(frame["postcode"]) | {re.sub(r"\s", "", pc) for pc in frame["postcode"]}
        found["frame"] = set(frame["frame_id"])
    return found


def _published_text(root: Path) -> str:
    parts = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix in (".xlsx", ".docx"):  # the workbook and the report draft: every XML part
            with zipfile.ZipFile(path) as z:
                parts += [z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")]
        elif path.suffix in (".csv", ".json", ".html", ".svg"):
            parts.append(path.read_text("utf-8"))
    return "\n".join(parts)


def test_no_identity_reaches_the_published_zone(demo: dict) -> None:
    ids = _identities(demo["store"])
    assert len(ids["name"]) > 1000 and len(ids["kvk"]) > 1000 and len(ids["email"]) > 1000
    assert len(ids["frame"]) == 11427  # the 2023 frame's firms are searched for too
    text = _published_text(demo["store"] / "published")
    assert len(text) > 100_000
    assert "Concept van het rapport" in text  # the drafts were read
    for kind in ("name", "email"):
        leaked = [v for v in ids[kind] if v in text]
        assert not leaked, (kind, leaked[:3])
    # Postcodes and register numbers (tens of thousands with the frames): every position of the text
    # where one could start is read once (overlapping lookahead), instead of one search per value.
    postcodes = {a + b for a, b in re.findall(r"(?=(\d{4}) ?([A-Z]{2}))", text)}
    compact = {re.sub(r"\s", "", v) for v in ids["postcode"]}
    assert not (postcodes & compact), sorted(postcodes & compact)[:3]
    digits = set(re.findall(r"(?<!\d)\d{8}(?!\d)", text))
    assert not (digits & ids["kvk"])


@pytest.mark.parametrize("year", [2021, 2022, 2023])
def test_no_category_is_a_bare_code(demo: dict, year: int) -> None:
    """A reader sees Ja/Nee and the questionnaire's answer texts, never an answer code."""
    import openpyxl

    book = openpyxl.load_workbook(latest_release(demo["store"], year) / f"innovatiemonitor-{year}.xlsx", read_only=True)
    codes = []
    for ws in book.worksheets:
        rows = ws.iter_rows(values_only=True)
        column = None
        for row in rows:
            if column is None:
                column = row.index("Categorie") if "Categorie" in row else None
                continue
            value = row[column] if column < len(row) else None
            if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
                codes.append((ws.title, value))
    assert codes == [], codes[:10]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_workbooks_open_in_libreoffice(demo: dict, tmp_path: Path) -> None:
    """Each workbook converts with LibreOffice headless without an error (a file Excel would offer
    to "repair" often fails here too), and the PDF has a page per sheet at least."""
    import subprocess

    import openpyxl

    books = {year: latest_release(demo["store"], year) / f"innovatiemonitor-{year}.xlsx" for year in (2021, 2022, 2023)}
    out = tmp_path / "pdf"
    done = subprocess.run(  # one LibreOffice start for the three workbooks
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--convert-to", "pdf",
         "--outdir", str(out), *map(str, books.values())],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    said = done.stdout + done.stderr  # soffice exits 0 and prints "Error: ..." when a file fails to load
    assert done.returncode == 0 and "Error" not in said, said
    for year, book in books.items():
        pdf = (out / f"innovatiemonitor-{year}.pdf").read_bytes()
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert pages >= len(openpyxl.load_workbook(book, read_only=True).sheetnames), (year, pages)
