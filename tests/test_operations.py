"""Operator tools: rollback of a release, the key-figure and QA-diff artifacts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from innomon.cli import main, run_year
from tasks.qa.stage import qa_diff
from tests.conftest import copy_demo_store


def test_rollback_points_latest_back_and_refuses_unknown_runs(demo: dict, tmp_path: Path, capsys) -> None:
    store = tmp_path / "store"
    shutil.copytree(demo["store"], store)
    first = json.loads((store / "published" / "2023" / "latest.json").read_text())["run_id"]
    folder = store / "processed" / "corrections"
    folder.mkdir(parents=True)
    raw = demo["exports"] / "2023" / "innovatiemonitor-2023.csv"
    import csv
    import io

    rows = list(csv.reader(io.StringIO(raw.read_text("utf-8-sig"), newline="")))
    rid, value = rows[3][rows[0].index("ResponseId")], rows[3][rows[0].index("Q9_1")]
    (folder / "corrections-2023.csv").write_text(
        "response_id,variable,old_value,new_value,reason,author\n"
        f"{rid},inno_goods,{value},{3 - int(value)},check,team\n"
    )
    second = run_year(2023, str(demo["exports"]), str(store))["run_id"]
    assert second != first
    assert main(["rollback", "--year", "2023", "--to", first, "--store", str(store)]) == 0
    assert json.loads((store / "published" / "2023" / "latest.json").read_text())["run_id"] == first
    assert f"2023/runs/{first}/" in (store / "published" / "index.html").read_text()
    capsys.readouterr()
    assert main(["rollback", "--year", "2023", "--to", "0123456789abcdef", "--store", str(store)]) == 2
    assert "no release '0123456789abcdef'" in capsys.readouterr().err

    # Withdraw the release that is latest again: its files leave the site, the notice stays, latest
    # returns to the release that was latest before it, and it cannot be rolled back to.
    assert main(["rollback", "--year", "2023", "--to", second, "--store", str(store)]) == 0
    capsys.readouterr()
    why = ["--reason", "a correction was applied to the wrong firm"]
    assert main(["withdraw", "--year", "2023", "--run", second, "--store", str(store), *why]) == 0
    published = store / "published" / "2023"
    assert not (published / "runs" / second / "manifest.json").exists()
    assert not [p for p in (published / "runs" / second).rglob("*") if p.is_file()]
    assert json.loads((published / "latest.json").read_text())["run_id"] == first
    notice = json.loads((published / "withdrawn.json").read_text())[second]
    assert notice["reason"] == "a correction was applied to the wrong firm" and notice["withdrawn_at"]
    assert second not in (store / "published" / "index.html").read_text()
    capsys.readouterr()
    assert main(["rollback", "--year", "2023", "--to", second, "--store", str(store)]) == 2
    assert "was withdrawn" in capsys.readouterr().err
    assert main(["withdraw", "--year", "2023", "--run", "../runs/x", "--store", str(store), *why]) == 2
    assert main(["verify-store", "--store", str(store)]) == 0


def test_qa_diff_flags_moves_beyond_tolerance_with_reliable_bases() -> None:
    rows = []
    for year, a, b, c in ((2023, 60.0, 30.0, 2.5), (2022, 50.0, 28.0, 2.0)):
        rows += [
            {
                "table_id": "T",
                "year": year,
                "group": "all",
                "item": "a",
                "category": "1",
                "stat": "pct",
                "value": a,
                "n": 400,
                "sig": "",
            },
            {
                "table_id": "T",
                "year": year,
                "group": "all",
                "item": "b",
                "category": "1",
                "stat": "pct",
                "value": b,
                "n": 400,
                "sig": "",
            },
            {
                "table_id": "T",
                "year": year,
                "group": "all",
                "item": "c",
                "category": "",
                "stat": "mean",
                "value": c,
                "n": 40,
                "sig": "",
            },
        ]
    diff = qa_diff(pd.DataFrame(rows), 2023, 5.0, 0.10, 50)
    assert [d["item"] for d in diff] == ["a"]  # b moved 2 points; c's base of 40 is below 50
    assert diff[0]["change"] == 10.0


def test_key_figure_and_qa_artifacts_exist(demo: dict, tmp_path: Path) -> None:
    """A run of the year (cached here) leaves its artifacts in the Prefect API of this process."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    keys = ["innomon-2023-key-figures", "innomon-2023-qa-diff", "innomon-2023-workbook", "innomon-index"]
    run_year(2023, str(demo["exports"]), str(copy_demo_store(demo, tmp_path / "store")))
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
    assert {a.key for a in found} == set(keys)


def test_scheduled_run_without_year_takes_the_year_it_runs_in() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from prefect import flow

    from flows.annual import monitor_year_of_schedule

    @flow
    def probe() -> int:
        return monitor_year_of_schedule()

    assert probe() == dt.datetime.now(ZoneInfo("Europe/Amsterdam")).year
