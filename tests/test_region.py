"""The region is configuration: the national profile runs the same pipeline over all twelve provinces."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from innomon import config
from innomon.cli import main, run_year
from innomon.synth.export import write_year
from tests.helpers import latest_release, read_tables, without_comparisons

TWELVE = [
    "Drenthe",
    "Flevoland",
    "Friesland",
    "Gelderland",
    "Groningen",
    "Limburg",
    "Noord-Brabant",
    "Noord-Holland",
    "Overijssel",
    "Utrecht",
    "Zeeland",
    "Zuid-Holland",
]


def test_base_region_is_the_north_and_profiles_override_it() -> None:
    north = config.load(2023)
    assert north["region"]["provinces"] == ["Groningen", "Friesland", "Drenthe"]
    assert north["models"]["references"]["province"] == "Friesland"
    national = config.load(2023, region="national")
    assert sorted(national["region"]["provinces"]) == TWELVE
    assert national["models"]["references"]["province"] == "Zuid-Holland"
    assert national["models"]["term_labels"]["province[T.Drenthe]"] == "Provincie Drenthe (t.o.v. Zuid-Holland)"
    assert national["hash"] != north["hash"]  # a region change recomputes everything downstream
    assert config.typed(national).region.profile == "national" and config.typed(north).region.profile is None


def test_unknown_region_profile_is_a_config_error(capsys) -> None:
    assert main(["--region", "benelux", "run", "--year", "2023"]) == 2
    assert "No region profile 'benelux'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()
    mp.setenv("INNOMON_REGION", "national")
    root = tmp_path_factory.mktemp("national")
    # 2023 alone: these tests read the national year's own tables, models and cover
    configs = Path(shutil.copytree(config.config_dir(), root / "configs"))
    mp.setenv("INNOMON_CONFIG_DIR", str(without_comparisons(configs)))
    write_year(2023, root / "exports", n=1000)
    result = run_year(2023, str(root / "exports"), str(root / "store"))
    mp.undo()
    return root, result


def test_national_run_lists_all_twelve_provinces(national) -> None:
    root, _ = national
    release = latest_release(root / "store", 2023)
    tables = read_tables(release)
    t04 = tables[(tables["table_id"] == "T04") & (tables["year"] == 2023)]
    assert sorted(t04["category"]) == TWELVE
    assert t04["value"].sum() == pytest.approx(100.0, abs=0.1)
    t22 = tables[(tables["table_id"] == "T22") & (tables["year"] == 2023)]
    assert sorted(g.split("=", 1)[1] for g in set(t22["group"]) if g.startswith("province=")) == TWELVE
    # The network items keep their three northern answer codes.
    assert set(t22["category"]) == {"1", "2", "3"}

    workbook = next(release.glob("*.xlsx"))
    sheet = openpyxl.load_workbook(workbook, read_only=True)["T04"]
    cells = {str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None}
    assert set(TWELVE) <= cells


def test_national_models_use_the_configured_reference(national) -> None:
    root, _ = national
    import pandas as pd

    models = pd.read_csv(latest_release(root / "store", 2023) / "data" / "models.csv")
    terms = set(models.loc[models["model_id"] == "M1", "term"])
    province_terms = {t for t in terms if t.startswith("province[")}
    assert province_terms == {f"province[T.{p}]" for p in TWELVE if p != "Zuid-Holland"}


def test_national_bundle_names_the_national_monitor(national) -> None:
    root, result = national
    workbook = next(latest_release(root / "store", 2023).glob("*.xlsx"))
    cover = openpyxl.load_workbook(workbook, read_only=True)["Voorblad"]
    text = " ".join(str(c) for row in cover.iter_rows(values_only=True) for c in row if c)
    assert "Nederlandse Innovatiemonitor (alle provincies)" in text
    assert result["new_release"] is True and Path(root / "store").exists()


def test_national_release_passes_the_disclosure_audit(national) -> None:
    """Twelve provinces over 1000 synthetic firms: small provinces, many primary cells, all protected."""
    from innomon.disclosure_store import audit_year

    root, _ = national
    summary = audit_year(str(root / "store"), 2023)
    assert summary["unprotected"] == [] and summary["checked"] > 20, summary["checked"]
