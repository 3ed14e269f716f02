"""Erasure on request (issue 30, point 4): a repeat firm erased from a copy of the demo store, the
years run again from the original exports (which still hold it), and a scan of every file under the
store and the Prefect home (Parquet decoded, ZIP members, SQLite, JSON, CSV, raw bytes) finds none of
its identifiers; the valid counts of the years it answered drop by one, the others stay."""

from __future__ import annotations

import glob
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from innomon.cli import main
from tests.conftest import copy_demo_store

PROJECT = Path(__file__).resolve().parent.parent


def _repeat_firm(store: Path) -> dict:
    """A firm that answered 2022 and 2023 under one KvK number and a name no other firm has."""
    processed = store / "processed"
    registry = {y: pd.read_parquet(glob.glob(str(processed / "panel" / "*" / f"{y}.parquet"))[0]) for y in (2022, 2023)}
    identities = {
        y: pd.read_parquet(sorted(glob.glob(str(processed / str(y) / "private" / "identities-*.parquet")))[0])
        for y in (2021, 2022, 2023)
    }
    names = pd.concat([identities[y]["company_name"] for y in identities]).tolist()
    for panel_id in sorted(set(registry[2022]["panel_id"]) & set(registry[2023]["panel_id"])):
        rows = {y: registry[y].loc[registry[y]["panel_id"] == panel_id, "response_id"].iloc[0] for y in registry}
        who = {y: identities[y].set_index("response_id").loc[rows[y]] for y in registry}
        kvks = {str(w["kvk_number"]) for w in who.values()}
        firm_names = {str(w["company_name"]) for w in who.values()}
        if len(kvks) == 1 and len(firm_names) == 1 and names.count(next(iter(firm_names))) == 2:
            if str(next(iter(kvks))).isdigit():
                return {
                    "kvk": next(iter(kvks)),
                    "name": next(iter(firm_names)),
                    "emails": {str(w["email"]) for w in who.values() if str(w["email"])},
                    "response_ids": {str(w["platform_response_id"]) for w in who.values()},
                    "pseudonyms": set(rows.values()),
                }
    pytest.fail("the demo has no repeat firm to erase")


def _texts(path: Path) -> list[bytes]:
    """What a file says: a Parquet file decoded, a ZIP's members, anything else as its bytes."""
    data = path.read_bytes()
    if path.suffix == ".parquet":
        return [pd.read_parquet(io.BytesIO(data)).to_csv(index=False).encode()]
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [data, *(archive.read(n) for n in archive.namelist())]
    return [data]


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "innomon.cli", *args], capture_output=True, text=True, cwd=PROJECT, env=env, timeout=900
    )


def _valid(store: Path, year: int) -> dict[str, int]:
    pointer = json.loads((store / "published" / str(year) / "latest.json").read_text())
    manifest = json.loads((store / "published" / str(year) / pointer["manifest"]).read_text())
    return {y: int(c["valid"]) for y, c in manifest["counts"].items()}


def test_an_erased_firm_is_gone_from_every_file_and_stays_gone(demo: dict, tmp_path: Path, capsys) -> None:
    store = copy_demo_store(demo, tmp_path / "store")
    firm = _repeat_firm(store)
    before = _valid(store, 2023)
    assert main(["erase", "--kvk", firm["kvk"], "--reason", "verzoek van de ondernemer", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    said = json.loads(out[out.index("{\n") :])  # after any stage lines of an earlier run
    assert said["years"] == [2022, 2023] and said["republish"] == [2022, 2023]
    assert said["rows_removed"]["raw/2022"] == 1 and said["rows_removed"]["raw/2023"] == 1

    home = tmp_path / "prefect-home"  # the reruns' own Prefect home, scanned below
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    try:
        for year in (2021, 2022, 2023):  # from the original exports, which still hold the firm
            done = _cli(["run", "--year", str(year), "--raw-root", str(demo["exports"]), "--store", str(store)], env)
            assert done.returncode == 0, done.stderr[-3000:]
            if year > 2021:
                assert "1 erased on request" in done.stdout + done.stderr, done.stdout
    finally:
        _cli(["local-api", "--stop"], env)

    after = _valid(store, 2023)
    assert after == {"2023": before["2023"] - 1, "2022": before["2022"] - 1, "2021": before["2021"]}
    needles = {firm["kvk"], firm["name"], *firm["emails"], *firm["response_ids"], *firm["pseudonyms"]}
    assert len(needles) >= 7
    files = [p for root in (store, home) for p in root.rglob("*") if p.is_file()]
    assert any(p.name.startswith("prefect.db") for p in files) and len(files) > 200
    found = {str(p): sorted(n for n in needles if any(n.encode() in text for text in _texts(p))) for p in files}
    assert {p: n for p, n in found.items() if n} == {}
    ledger = (store / "processed" / "erasure" / "ledger.json").read_text()
    assert "verzoek van de ondernemer" in ledger and not any(n in ledger for n in needles)


def test_a_repeat_firm_that_shares_no_identifier_across_years_is_found_by_its_panel_id(
    demo: dict, tmp_path: Path, capsys
) -> None:
    """A firm linked by Splink (another e-mail address, no KvK number in one year) is the same firm
    only in the panel registry, whose entries name responses by keyed pseudonyms: erasing its 2023
    response must take its 2022 response too, and leave the registry without either pseudonym."""
    store = copy_demo_store(demo, tmp_path / "store")
    processed = store / "processed"
    registry = {y: pd.read_parquet(glob.glob(str(processed / "panel" / "*" / f"{y}.parquet"))[0]) for y in (2022, 2023)}
    identities = {
        y: pd.read_parquet(sorted(glob.glob(str(processed / str(y) / "private" / "identities-*.parquet")))[0])
        for y in (2022, 2023)
    }

    def named(row: pd.Series) -> set[str]:
        found = {str(row["platform_response_id"]), str(row["kvk_norm"]), str(row["email"]).strip().lower()}
        return found - {"None", "nan", ""}

    chosen = None
    for panel_id in sorted(set(registry[2022]["panel_id"]) & set(registry[2023]["panel_id"])):
        rows = {y: registry[y].set_index("panel_id").loc[panel_id, "response_id"] for y in registry}
        who = {y: identities[y].set_index("response_id").loc[rows[y]] for y in registry}
        if not named(who[2022]) & named(who[2023]):
            chosen = rows, who
            break
    assert chosen is not None, "the demo has no repeat firm linked without a shared identifier"
    rows, who = chosen
    assert main(["erase", "--response-id", str(who[2023]["platform_response_id"]), "--store", str(store)]) == 0
    out = capsys.readouterr().out
    said = json.loads(out[out.index("{\n") :])
    assert said["responses"] == 2 and said["years"] == [2022, 2023], said
    for year in (2022, 2023):
        entry = pd.read_parquet(glob.glob(str(processed / "panel" / "*" / f"{year}.parquet"))[0])
        assert rows[year] not in set(entry["response_id"]) and len(entry) == len(registry[year]) - 1
