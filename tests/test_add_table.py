"""A new table is a few lines of YAML: the engine evaluates it with no code change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from innomon import config
from tasks.configure.stage import resolve
from tasks.indicators.stage import compute_tables

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
    run = config.typed(cfgs[2023])
    assert run.table_specs[0].id == "T99"
    frames = {}
    for year in (2023, 2022, 2021):
        path = sorted((demo["store"] / "processed" / str(year)).glob("respondents-*.parquet"))[-1]
        frames[year] = pd.read_parquet(path)
    facts = {y: {"records": 0, "valid": len(f), "invited": None, "repeat": None} for y, f in frames.items()}
    assert run.tables is not None
    cells, _ = compute_tables(frames, facts, run, run.tables)
    t99 = cells[cells.table_id == "T99"]
    assert set(t99["year"]) == {2021, 2022, 2023}
    df = frames[2023]
    micro = df[df["size_class"] == "micro"]
    expected = 100 * (micro["protect_patents"] == 1).sum() / micro["protect_patents"].notna().sum()
    got = t99[(t99.year == 2023) & (t99.group == "size_class=micro")]["value"].iloc[0]
    assert abs(got - expected) < 1e-9


def test_table_added_to_yaml_and_outline_reaches_workbook_and_draft(demo: dict, tmp_path: Path, monkeypatch) -> None:
    """A table with a layout in `tables.yaml` and two blocks in the outline: the workbook gets its
    report-shaped sheets and the draft its sentence and tables, with no code change."""
    import io
    import re

    import docx
    import openpyxl

    from tasks.configure.stage import with_comparison_datamaps
    from tasks.publish.concept import build_concept
    from tasks.publish.workbook import build_workbook
    from tests.helpers import latest_release

    cdir = tmp_path / "configs"
    shutil.copytree(config.config_dir(), cdir)
    table = NEW_TABLE.lstrip("\n") + (
        "    layout: {rows: [item], columns: [year]}\n    by_layout: {rows: [item], columns: [group], years: current}\n"
    )
    spec = (cdir / "tables.yaml").read_text()
    (cdir / "tables.yaml").write_text(spec.replace("\ntables:\n", "\ntables:\n" + table, 1))
    outline = (cdir / "report" / "outline.yaml").read_text()
    blocks = (
        "          - table: T19\n"
        "          - text: Van de bedrijven gebruikt {{ fig('T99', category='1') }} octrooien.\n"
        "          - table: T99\n"
        "          - table: T99\n"
        "            breakdown: size_class\n"
    )
    (cdir / "report" / "outline.yaml").write_text(outline.replace("          - table: T19\n", blocks, 1))
    monkeypatch.setenv("INNOMON_CONFIG_DIR", str(cdir))
    cfg = with_comparison_datamaps(resolve(2023), 2023)
    frames = {
        year: pd.read_parquet(sorted((demo["store"] / "processed" / str(year)).glob("respondents-*.parquet"))[-1])
        for year in (2023, 2022, 2021)
    }
    facts = {y: {"records": 0, "valid": len(f), "invited": None, "repeat": None} for y, f in frames.items()}
    run = config.typed(cfg)
    cells, _ = compute_tables(frames, facts, run, run.tables)
    release = latest_release(demo["store"], 2023)
    models = pd.read_csv(release / "data" / "models.csv")
    fits = pd.read_csv(release / "data" / "model_fit.csv", dtype={"value": str}, keep_default_na=False)
    meta = {"run_id": "test", "code_version": "test", "valid": len(frames[2023])}

    book = openpyxl.load_workbook(io.BytesIO(build_workbook(cells, run, meta, models, fits)))
    assert {"T99", "T99 Bedrijfsgrootte"} <= set(book.sheetnames)
    header = [c.value for c in book["T99"][2] if c.value is not None]
    assert header[1:] == ["Monitor 2023", "Monitor 2022", "Monitor 2021"]
    by_size = [c.value for c in book["T99 Bedrijfsgrootte"][2] if c.value is not None]
    assert by_size[1:] == ["Micro bedrijven", "Kleine bedrijven", "Middelgrote bedrijven"]

    data, _ = build_concept(cells, models, fits, run, meta, {}, cdir / "report" / "template.docx")
    draft = docx.Document(io.BytesIO(data))
    df = frames[2023]
    share = 100 * (df["protect_patents"] == 1).sum() / df["protect_patents"].notna().sum()
    assert f"Van de bedrijven gebruikt {share:.0f}% octrooien." in [p.text for p in draft.paragraphs]
    sources = [re.search(r"blad ([^)]+)\)", p.text).group(1) for p in draft.paragraphs if "(werkmap, blad" in p.text]
    position = sources.index("T19")
    assert sources[position + 1 : position + 3] == ["T99", "T99 Bedrijfsgrootte"]
