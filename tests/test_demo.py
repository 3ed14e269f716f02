"""The demo run of 2021-2023 reproduces the report's figures it is calibrated to (issue 2)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import latest_release, read_tables, report_figures

YEARS = (2021, 2022, 2023)


@pytest.fixture(scope="module")
def tables(demo: dict):
    return read_tables(latest_release(demo["store"], 2023))


def _ours(tables, table_id, year, item, category, stat):
    row = tables[
        (tables.table_id == table_id)
        & (tables.year == year)
        & (tables.group == "all")
        & (tables["item"] == item)
        & (tables.category == category)
        & (tables.stat == stat)
    ]
    assert len(row) == 1, (table_id, year, item, category, stat)
    return float(row["value"].iloc[0])


@pytest.mark.parametrize("year", YEARS)
def test_t01_pyramid_matches_normalised_report(tables, year) -> None:
    rep = report_figures()
    rep = rep[(rep.table_id == "T01") & (rep.year == year)]
    total = rep["value"].sum()  # Tabel 1's rows sum to 78 and 74 in 2023 and 2022: normalised
    assert len(rep) == 5
    for _, r in rep.iterrows():
        assert abs(_ours(tables, "T01", year, "pyramid", r["category"], "pct") - 100 * r["value"] / total) <= 3


@pytest.mark.parametrize("year", YEARS)
def test_t06_innovation_shares_match_report(tables, year) -> None:
    rep = report_figures()
    rep = rep[(rep.table_id == "T06") & (rep.year == year)]
    assert len(rep) == 8
    for _, r in rep.iterrows():
        assert abs(_ours(tables, "T06", year, r["item"], "1", "pct") - r["value"]) <= 3, r["item"]


@pytest.mark.parametrize("year", YEARS)
def test_t08_barriers_match_report(tables, year) -> None:
    rep = report_figures()
    rep = rep[(rep.table_id == "T08") & (rep.year == year) & (rep.group == "all")]
    assert len(rep) == 20
    for _, r in rep.iterrows():
        if r["stat"] == "pct_top":
            assert abs(_ours(tables, "T08", year, r["item"], "4", "pct_top") - r["value"]) <= 3, r["item"]
        else:
            assert abs(_ours(tables, "T08", year, r["item"], "", "mean") - r["value"]) <= max(0.2, 0.05 * r["value"])


def test_breakdowns_present_and_small_cells_suppressed_with_n_kept(tables) -> None:
    t08 = tables[(tables.table_id == "T08") & (tables.year == 2023)]
    assert {"pyramid=koploper", "age_class=oud", "size_class=micro"} <= set(t08["group"])
    small = tables[(tables["n"] < 10) & (tables["stat"] != "n")]
    assert len(small) > 0  # e.g. partner locations of rare collaboration types
    assert small["value"].isna().all() and small["flag"].str.contains("c").all()


def test_m1_secrecy_and_internal_rd_positive_and_significant(demo) -> None:
    import pandas as pd

    models = pd.read_csv(latest_release(demo["store"], 2023) / "data" / "models.csv")
    m1 = models[(models.model_id == "M1") & (models.year == 2023)].set_index("term")
    for term in ("protect_secrecy", "rd_internal_pct"):
        assert m1.loc[term, "estimate"] > 0 and m1.loc[term, "p_value"] < 0.05, term


def test_k01_counts_and_repeat_respondents(tables) -> None:
    k01 = tables[tables.table_id == "K01"].set_index(["year", "item", "stat"])
    assert k01.loc[(2023, "valid", "n"), "value"] == 423
    assert k01.loc[(2023, "invited", "n"), "value"] == 11427
    assert k01.loc[(2023, "repeat_respondents", "n"), "value"] == 65
    assert k01.loc[(2021, "response_rate", "pct"), "flag"] == "x"  # invited unknown for 2021


def test_validation_report_shows_planted_exclusions(demo) -> None:
    report = json.loads((latest_release(demo["store"], 2023) / "validation" / "report.json").read_text())
    for year_report in report["years"]:
        year = year_report["year"]
        planted = json.loads((demo["exports"] / "_truth" / f"planted-{year}.json").read_text())
        rules = {r["rule"]: r["records_excluded"] for r in year_report["rules"]}
        assert rules["status"] == planted["preview"] + planted.get("test", 0)
        assert rules["incomplete"] == planted["incomplete"]
        assert rules["outside_region"] == planted["outside_region"]
        assert rules["not_sme"] == planted["not_sme"]
        assert rules["duplicate"] == planted["duplicate"]
        assert year_report["valid"] + sum(rules.values()) == year_report["records"]


def test_every_configured_table_is_in_tables_csv(tables) -> None:
    from innomon import config

    ids = {t["id"] for t in config.load(2023)["tables"]["tables"]}
    assert ids == set(tables["table_id"])
    region = tables[(tables.table_id == "T20") & (tables.year == 2021)]
    assert (region["flag"] == "x").all() and region["value"].isna().all()


@pytest.mark.parametrize(
    "model,term,sign",
    [
        ("M2", "rd_internal_pct", -1),
        ("M2", "fte", -1),
        ("M3", "protect_secrecy", -1),
        ("M3", "rd_internal_pct", 1),
        ("M3", "fte", 1),
        ("M4", "protect_secrecy", -1),
        ("M4", "rd_internal_pct", 1),
        ("M4", "fte", 1),
    ],
)
def test_report_main_effects_keep_sign_and_significance(demo, model, term, sign) -> None:
    import pandas as pd

    models = pd.read_csv(latest_release(demo["store"], 2023) / "data" / "models.csv")
    row = models[(models.model_id == model) & (models.term == term)].iloc[0]
    assert row["estimate"] * sign > 0 and row["p_value"] < 0.05


SPEC_TABLES = [
    "T01",
    "T02",
    "T03",
    "T04",
    "T05",
    "T06",
    "T07",
    "T08",
    "T09",
    "T11",
    "T12",
    "T13",
    "T15",
    "T16",
    "T17",
    "T18",
    "T19",
    "T20",
    "F02",
    "T21",
    "T22",
    "T23",
    "T24",
    "T25",
    "K01",
    "K02",
    "K03",
]


def test_spec_tables_for_every_year_they_are_defined_for(tables) -> None:
    for tid in SPEC_TABLES:
        years = set(tables.loc[tables.table_id == tid, "year"])
        assert years == {2021, 2022, 2023}, tid
    with_values = tables[tables["value"].notna()].groupby("table_id")["year"].agg(set)
    assert with_values["T15"] == {2021, 2022}  # subsidy schemes: asked 2021-2022 only
    for tid in ("T20", "F02", "T21", "T22", "T23", "T24", "T25"):
        assert with_values[tid] == {2023}, tid  # region and interregional items: 2023 only
    k03 = tables[(tables.table_id == "K03") & (tables.year == 2023)]
    assert (k03["flag"] == "b").all()


def test_models_and_fit_statistics_complete(demo) -> None:
    import pandas as pd

    release = latest_release(demo["store"], 2023)
    fit = pd.read_csv(release / "data" / "model_fit.csv")
    stats = fit.groupby("model_id")["statistic"].agg(set)
    for model in ("M1", "M2", "M4"):
        assert {"status", "n", "r2", "adj_r2"} <= stats[model]
    assert {"status", "n", "cox_snell_r2", "nagelkerke_r2", "mcfadden_r2"} <= stats["M3"]
    models = pd.read_csv(release / "data" / "models.csv")
    assert list(models.columns) == ["model_id", "year", "term", "estimate", "std_error", "p_value", "ci_low", "ci_high"]
    assert set(models["model_id"]) == {"M1", "M2", "M3", "M4"}
    m1 = models[models.model_id == "M1"]
    assert "province[T.Drenthe]" in set(m1["term"]) and "sector[T.bouw]" in set(m1["term"])
    assert not any("Friesland" in t or "overig" in t for t in m1["term"])  # the reference categories


def test_unchanged_code_reproduces_its_own_publications(tables) -> None:
    # The 2023 run recomputes 2021 and 2022 with the code that published them: nothing is revised.
    assert not tables["flag"].str.contains("r").any()


def test_the_synthetic_exports_are_the_same_bytes_at_any_time() -> None:
    """The same seed gives the same export, whatever the clock: the SPSS writer stamps the file with
    the time it was written, which gave every demo a new 2022 input and so a new run id."""
    import time

    from innomon.synth.export import synthesise

    first = synthesise(2022)[0]
    time.sleep(1.1)  # the stamp has whole seconds
    assert synthesise(2022)[0] == first
    assert first[92:109] == b"01 Jan 0000:00:00"
