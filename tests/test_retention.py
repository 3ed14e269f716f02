"""Retention (issue 30, point 5): a dry run lists what is past its period and changes nothing;
`--apply` empties the identities of the years past `identities_years` and removes the raw data of
the years past `raw_exports_years`; the years within their periods stay as they were."""

from __future__ import annotations

from pathlib import Path

from innomon.cli import main
from innomon.exports import read_export
from tests.conftest import copy_demo_store
from tests.helpers import tree_hashes

IDENTITY_COLUMNS_2021 = ("Q20", "Q21", "Q22", "Q23")  # company name, KvK number, e-mail, postcode (datamap 2021)


def test_retention_dry_run_then_apply(demo: dict, tmp_path: Path, capsys) -> None:
    store = copy_demo_store(demo, tmp_path / "store")
    before = tree_hashes(store)
    kept = {y: tree_hashes(store / "processed" / str(y)) for y in (2022, 2023)}
    # 2027: the identities of 2021 are past 5 years, its raw export not past 7
    assert main(["retention", "--store", str(store), "--as-of", "2027"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert tree_hashes(store) == before  # a dry run
    assert listed[-1].startswith(f"{len(listed) - 1} object(s) past their retention period (a dry run")
    assert all("2021" in line for line in listed[:-1]) and any("empty identities  raw/2021/" in line for line in listed)

    assert main(["retention", "--store", str(store), "--as-of", "2027", "--apply"]) == 0
    capsys.readouterr()
    assert not (store / "processed/2021/private").exists() or not any((store / "processed/2021/private").iterdir())
    (export,) = [p for p in (store / "raw/2021").iterdir() if p.suffix == ".xlsx"]
    frame = read_export(export.read_bytes(), export.name).frame
    assert len(frame) > 400 and (frame[list(IDENTITY_COLUMNS_2021)] == "").all().all()
    assert (frame["ResponseId"] != "").all()  # the answers stay; only who gave them is gone
    assert {y: tree_hashes(store / "processed" / str(y)) for y in (2022, 2023)} == kept
    assert main(["retention", "--store", str(store), "--as-of", "2027"]) == 0  # nothing left to do
    assert capsys.readouterr().out.strip() == "0 object(s) past their retention period (a dry run: --apply does it)"

    assert main(["retention", "--store", str(store), "--as-of", "2029", "--apply"]) == 0  # 2021 past 7 years
    capsys.readouterr()
    assert not [p for p in (store / "raw/2021").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert [p for p in (store / "raw/2023").rglob("*") if p.is_file()]  # 2023's raw data is within 7 years


def test_retention_runs_as_a_flow(demo: dict, tmp_path: Path) -> None:
    """The scheduled deployment's flow: the same plan, applied, with its list as an artifact."""
    from flows.retention import retention_flow

    store = copy_demo_store(demo, tmp_path / "store")
    dry = retention_flow(str(store), False, 2027)
    assert dry["objects"] >= 2 and dry["applied"] is False
    assert any((store / "processed/2021/private").iterdir())
    done = retention_flow(str(store), True, 2027)
    assert done["objects"] == dry["objects"]
    assert not any((store / "processed/2021/private").iterdir())
