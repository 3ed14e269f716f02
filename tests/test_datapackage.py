"""The data package for re-users (issue 32, point 3): `datapackage.json` (Data Package v2) beside
`data/*.csv` in every release, valid by frictionless, listed in the manifest, and a schema that
catches what a re-user's program would trip over."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import frictionless
import pandas as pd

from tests.helpers import latest_release


def _validate(folder: Path) -> frictionless.Report:
    return frictionless.validate(str(folder / "datapackage.json"))


def test_every_release_holds_a_valid_data_package(demo: dict) -> None:
    release = latest_release(demo["store"], 2023)
    report = _validate(release)
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])[:5]
    assert report.stats["tasks"] == 4
    package = json.loads((release / "datapackage.json").read_text())
    assert package["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    paths = [r["path"] for r in package["resources"]]
    assert paths == ["data/tables.csv", "data/models.csv", "data/model_fit.csv", "data/labels.csv"]
    manifest = json.loads((release / "manifest.json").read_text())
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert "datapackage.json" in listed and "data/labels.csv" in listed
    for resource in package["resources"]:  # the package names the very bytes the manifest lists
        assert resource["hash"] == f"sha256:{listed[resource['path']]}"
    tables = pd.read_csv(release / "data" / "tables.csv", dtype=str, keep_default_na=False)
    schema = package["resources"][0]["schema"]
    assert [f["name"] for f in schema["fields"]] == list(tables.columns)
    fields = {f["name"]: f for f in schema["fields"]}
    assert set(tables["stat"]) == {c["value"] for c in fields["stat"]["categories"]}
    assert tables["flag"].str.fullmatch(fields["flag"]["constraints"]["pattern"]).all()
    assert "c" in "".join(tables["flag"])  # a suppressed cell is in it, and its code described
    labels = pd.read_csv(release / "data" / "labels.csv", dtype=str, keep_default_na=False)
    assert labels.set_index(["item", "category"]).loc[("age_class", "jong"), "label"] == "Jonge bedrijven"


def test_a_damaged_or_altered_file_fails_the_package(demo: dict, tmp_path: Path) -> None:
    release = latest_release(demo["store"], 2023)
    copy = Path(shutil.copytree(release, tmp_path / "release"))
    tables = copy / "data" / "tables.csv"
    text = tables.read_text().splitlines()
    first = text[1].split(",")
    first[7] = "veel"  # n, an integer
    text[1] = ",".join(first)
    tables.write_text("\n".join(text) + "\n")
    report = _validate(copy)
    types = {e[1] for e in report.flatten(["resourceName", "type"])}
    assert not report.valid and "type-error" in types and "hash-count" in types
