"""`innomon verify-store` finds a damaged and a missing object in every zone, one line each, and
`--repair` mends what can be mended (issue 29)."""

from __future__ import annotations

from pathlib import Path

from innomon.cli import main, run_year
from tests.conftest import copy_demo_store
from tests.helpers import latest_release, tree_hashes


def _flip(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:10] + bytes([data[10] ^ 0x01]) + data[11:])


def test_verify_store_finds_and_repairs_damaged_and_missing_objects(demo: dict, tmp_path: Path, capsys) -> None:
    store = copy_demo_store(demo, tmp_path / "store")
    assert main(["verify-store", "--store", str(store)]) == 0
    assert capsys.readouterr().out.strip() == "0 problem(s); 0 repaired, 0 left"

    answers = next((store / "processed" / "2023").glob("answers-*.parquet"))
    archive = next(p for p in (store / "raw" / "2022").iterdir() if p.suffix == ".sav")
    whole = {answers: answers.read_bytes(), archive: archive.read_bytes()}
    release = latest_release(store, 2023)
    chart = release / "charts" / "T01.png"
    chart_bytes = chart.read_bytes()
    _flip(answers)
    _flip(archive)
    chart.unlink()
    before = tree_hashes(store)

    assert main(["verify-store", "--store", str(store)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "3 problem(s); 0 repaired, 3 left", lines
    said = "\n".join(lines)
    assert f"processed/2023/{answers.name}: damaged" in said
    assert f"raw/2022/{archive.name}: damaged" in said
    assert f"published/2023/runs/{release.name}/charts/T01.png: missing" in said
    assert tree_hashes(store) == before  # without --repair nothing changes

    assert main(["verify-store", "--store", str(store), "--repair"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "3 problem(s); 3 repaired, 0 left", lines
    assert chart.read_bytes() == chart_bytes  # restored from the kept bundle
    assert not answers.exists() and not archive.exists()  # the next run computes and archives them again
    assert main(["verify-store", "--store", str(store)]) == 0
    run_year(2023, str(demo["exports"]), str(store))
    assert {path: path.read_bytes() for path in whole} == whole
    assert latest_release(store, 2023) == release  # the same inputs, code and configuration: the same release
