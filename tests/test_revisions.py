"""The `r` flag marks comparison-year figures that differ from that year's own last publication."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from innomon.cli import run_year
from innomon.hashing import sha256_bytes
from tasks.indicators.revisions import mark_revisions
from tests.helpers import latest_release, read_tables


def test_mark_revisions_only_on_changed_cells() -> None:
    base = {"table_id": "T", "group": "all", "item": "q", "stat": "pct", "flag": "", "year": 2022}
    cells = pd.DataFrame([{**base, "category": "1", "value": 40.0}, {**base, "category": "2", "value": 60.0}])
    published = pd.DataFrame([{**base, "category": "1", "value": 40.0000001}, {**base, "category": "2", "value": 59.0}])
    out = mark_revisions(cells, {2022: published})
    assert out["flag"].tolist() == ["", "r"]


def test_revised_comparison_year_is_flagged(demo: dict, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(demo["store"], store)
    # Pretend 2022's last publication printed another share of goods innovators than we now compute.
    release = latest_release(store, 2022)
    fake = release.parent / "earlier"
    shutil.copytree(release, fake)
    tables = (fake / "data" / "tables.csv").read_text().splitlines()
    i = next(k for k, line in enumerate(tables) if line.startswith("T06,2022,all,inno_goods,1,pct,"))
    fields = tables[i].split(",")
    fields[6] = f"{float(fields[6]) + 1.5:.6f}"
    tables[i] = ",".join(fields)
    data = ("\n".join(tables) + "\n").encode()
    (fake / "data" / "tables.csv").write_bytes(data)
    manifest = json.loads((fake / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["path"] == "data/tables.csv":
            entry.update(size=len(data), sha256=sha256_bytes(data))
    (fake / "manifest.json").write_text(json.dumps(manifest))
    pointer = {"year": 2022, "run_id": "earlier", "manifest": "runs/earlier/manifest.json"}
    (store / "published" / "2022" / "latest.json").write_text(json.dumps(pointer))

    run_year(2023, str(demo["exports"]), str(store))
    ours = read_tables(latest_release(store, 2023))
    t06 = ours[(ours.table_id == "T06") & (ours.year == 2022) & (ours.group == "all")].set_index("item")
    assert t06.loc["inno_goods", "flag"] == "r"
    assert (t06.drop(index="inno_goods")["flag"] == "").all()
