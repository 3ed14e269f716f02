"""A new table is a few lines of YAML: the engine evaluates it with no code change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from innomon import config
from tasks.configure import resolve
from tasks.indicators import compute_tables

NEW_TABLE = """
  - id: T99
    report: Tabel 99
    title: Aandeel bedrijven met octrooien, naar grootte
    universe: valid
    items: [protect_patents]
    stats: [pct]
    categories: ["1"]
    by: [size_class]
"""


def test_table_added_from_yaml_alone(demo: dict, tmp_path: Path, monkeypatch) -> None:
    cdir = tmp_path / "configs"
    shutil.copytree(config.config_dir(), cdir)
    spec = (cdir / "tables.yaml").read_text()
    (cdir / "tables.yaml").write_text(spec.replace("\ntables:\n", "\ntables:\n" + NEW_TABLE.lstrip("\n"), 1))
    monkeypatch.setenv("INNOMON_CONFIG_DIR", str(cdir))
    cfgs = resolve(2023)
    cfg = cfgs[2023]
    assert cfg["tables"]["tables"][0]["id"] == "T99"
    frames = {}
    for year in (2023, 2022, 2021):
        path = sorted((demo["store"] / "processed" / str(year)).glob("respondents-*.parquet"))[-1]
        frames[year] = pd.read_parquet(path)
    facts = {y: {"records": 0, "valid": len(f), "invited": None, "repeat": None} for y, f in frames.items()}
    cells = compute_tables(frames, facts, cfg, cfg["tables"])
    t99 = cells[cells.table_id == "T99"]
    assert set(t99["year"]) == {2021, 2022, 2023}
    df = frames[2023]
    micro = df[df["size_class"] == "micro"]
    expected = 100 * (micro["protect_patents"] == 1).sum() / micro["protect_patents"].notna().sum()
    got = t99[(t99.year == 2023) & (t99.group == "size_class=micro")]["value"].iloc[0]
    assert abs(got - expected) < 1e-9
