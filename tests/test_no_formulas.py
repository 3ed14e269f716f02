"""Free text never becomes a formula, and no respondent identity reaches the published zone."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import openpyxl

from innomon.cli import main, run_year
from tests.conftest import copy_demo_store
from tests.helpers import latest_release

DANGEROUS = ['=HYPERLINK("http://x")', "+31 Bouw", "-Techniek", "@Media"]


def test_formula_like_names_never_reach_outputs_as_formulas(demo: dict, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    store = tmp_path / "store"
    shutil.copytree(demo["exports"], raw)
    shutil.copytree(demo["store"], store)
    path = raw / "2023" / "innovatiemonitor-2023.csv"
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    name = rows[0].index("Q1")
    for i, row in enumerate(rows[3:7]):
        row[name] = DANGEROUS[i]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode())
    assert main(["run", "--year", "2023", "--raw-root", str(raw), "--store", str(store)]) == 0
    release = latest_release(store, 2023)
    wb = openpyxl.load_workbook(release / "innovatiemonitor-2023.xlsx")
    assert not [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    everything = b""
    for p in release.rglob("*"):
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                everything += b"".join(z.read(n) for n in z.namelist())
        elif p.is_file():
            everything += p.read_bytes()
    for text in DANGEROUS:
        assert text.encode() not in everything


def test_validation_summary_artifact_has_a_stable_key(demo: dict, tmp_path: Path) -> None:
    """Every run of the year writes the artifact under the same key (a cached rerun here: the demo
    store may have been built by another test process, with its own Prefect API)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    run_year(2023, str(demo["exports"]), str(copy_demo_store(demo, tmp_path / "store")))
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["innomon-2023-validation"]))
        )
    assert found
    assert "# Validation 2023" in found[0].data and "| duplicate |" in found[0].data
    with get_client(sync_client=True) as client:  # and the weights' summary beside it (issue 16)
        weights = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["innomon-2023-weights"]))
        )
    assert weights and "Frame: 11,427 invited firms" in weights[0].data
    assert "| respondents weighted | 423 |" in weights[0].data


def test_records_read_equal_rows_in_the_export(demo: dict) -> None:
    import json

    report = json.loads((latest_release(demo["store"], 2023) / "validation" / "report.json").read_text())
    for year_report in report["years"]:
        truth = (demo["exports"] / "_truth" / f"truth-{year_report['year']}.csv").read_text().splitlines()
        assert year_report["records"] == len(truth) - 1
