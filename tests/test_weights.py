"""Issue 16: the invitation frame, raked weights, R01 (response by stratum) and R02 (weighted beside
unweighted). The demo's 2023 has a frame; 2021 and 2022 have none and still publish."""

from __future__ import annotations

import io
import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from innomon.errors import ConfigError, InputError
from tasks.indicators import weighted as wtables
from tasks.weights import frame as wframe
from tasks.weights import raking as wraking
from tests.helpers import latest_release

DIMS = ["province", "size_class", "sector"]


def _cfg(year: int = 2023) -> dict:
    from tasks.configure.stage import resolve, with_comparison_datamaps

    return with_comparison_datamaps(resolve(year), year)


def _frame_csv(rows: list[dict], columns: list[str] | None = None) -> bytes:
    frame = pd.DataFrame(rows)
    return frame[columns or list(frame.columns)].to_csv(index=False).encode()


GOOD = [
    {"frame_id": "10000001", "sbi_code": "6201", "fte": "3.0", "postcode": "9712 AB"},
    {"frame_id": "10000002", "sbi_code": "4711", "fte": "40", "postcode": "8911 CD"},
    {"frame_id": "10000003", "sbi_code": "4120", "fte": "120,5", "postcode": "9401 EF"},
]


# --- refusals: one sentence, exit 3 --------------------------------------------------------------


def test_frame_without_a_column_is_refused() -> None:
    data = _frame_csv(GOOD, ["frame_id", "fte", "postcode"])
    with pytest.raises(InputError) as err:
        wframe.read_frame(data, "frame-2023.csv")
    assert err.value.exit_code == 3
    assert (err.value.column, err.value.rule) == ("sbi_code", "frame_missing_column")
    assert err.value.message.count(".") == 1 and "\n" not in str(err.value)  # one sentence


def test_frame_with_a_duplicate_identifier_is_refused_by_row_without_the_identifier() -> None:
    rows = [*GOOD, {**GOOD[0], "postcode": "9999 ZZ"}]
    with pytest.raises(InputError) as err:
        wframe.read_frame(_frame_csv(rows), "frame-2023.csv")
    assert err.value.exit_code == 3
    assert (err.value.column, err.value.row, err.value.rule) == ("frame_id", 4, "frame_duplicate_id")
    assert "rows 1 and 4" in str(err.value)
    assert "10000001" not in str(err.value)  # a register number is never logged


def test_frame_smaller_than_the_respondents_is_refused() -> None:
    with pytest.raises(InputError) as err:
        wframe.check_size(400, 423, "frame-2023.csv")
    assert err.value.exit_code == 3 and err.value.rule == "frame_too_small"
    assert "400 firms, fewer than the year's 423 valid respondents" in str(err.value)
    wframe.check_size(423, 423, "frame-2023.csv")  # as many firms as respondents: a (full) response


def test_frame_firm_outside_the_region_is_refused_with_its_row() -> None:
    from innomon.config import load_typed

    rows = [*GOOD, {"frame_id": "10000004", "sbi_code": "6201", "fte": "2", "postcode": "1012 AB"}]
    frame = wframe.read_frame(_frame_csv(rows), "frame-2023.csv")
    with pytest.raises(InputError) as err:
        wframe.frame_strata(frame, load_typed(2023), DIMS, "frame-2023.csv")
    assert (err.value.column, err.value.row, err.value.rule) == ("postcode", 4, "frame_outside_region")
    assert err.value.exit_code == 3 and "row 4 is no postcode of the region (1 firm(s)" in str(err.value)


def test_frame_firm_of_250_fte_is_refused_naming_the_fte_column() -> None:
    from innomon.config import load_typed

    rows = [*GOOD, {"frame_id": "10000004", "sbi_code": "6201", "fte": "260", "postcode": "9712 AB"}]
    frame = wframe.read_frame(_frame_csv(rows), "frame-2023.csv")
    with pytest.raises(InputError) as err:
        wframe.frame_strata(frame, load_typed(2023), DIMS, "frame-2023.csv")
    assert (err.value.column, err.value.row, err.value.rule) == ("fte", 4, "frame_not_sme")


def _toy(n_resp: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows = [{"province": p, "size_class": s} for (p, s), k in n_resp.items() for _ in range(k)]
    return pd.DataFrame(rows)


def test_a_respondent_in_a_level_the_frame_lacks_is_left_unweighted_not_the_year() -> None:
    cells = {("Groningen", "micro"): 20, ("Groningen", "klein"): 10, ("Drenthe", "micro"): 10}
    strata = _toy({**cells, ("Drenthe", "klein"): 10, ("Drenthe", "middelgroot"): 1})
    totals = {"province": {"Groningen": 700, "Drenthe": 300}, "size_class": {"micro": 800, "klein": 200}}
    w, info = wraking.rake(strata, totals, 3.5)
    assert info["problem"] is None and info["unweighted"] == 1
    assert w[-1] == 0 and (w[:-1] > 0).all()
    assert wraking.margin_deviation(strata.iloc[:-1], w[:-1], totals) < 1e-6


def test_margins_no_weighting_can_meet_are_reported_not_published() -> None:
    """Groningen answered only as micro firms and Drenthe only as small ones: no weights can give
    Groningen 700 firms and micro firms 800. The year gets no weights and says why."""
    strata = _toy({("Groningen", "micro"): 30, ("Drenthe", "klein"): 20})
    totals = {"province": {"Groningen": 700, "Drenthe": 300}, "size_class": {"micro": 800, "klein": 200}}
    w, info = wraking.rake(strata, totals, 3.5)
    assert (w == 0).all() and "did not meet the frame's margins" in info["problem"]


def test_a_cap_that_does_not_settle_keeps_the_margins_and_is_reported() -> None:
    """A rare level with few respondents needs large weights: with a tight cap svy's trim-and-rake
    cycle may not settle; the weights still meet every margin, and the diagnostics say whether the
    cap holds."""
    strata = _toy(
        {("Groningen", "micro"): 2, ("Groningen", "klein"): 60, ("Drenthe", "klein"): 40, ("Drenthe", "micro"): 3}
    )
    totals = {"province": {"Groningen": 600, "Drenthe": 400}, "size_class": {"micro": 900, "klein": 100}}
    w, info = wraking.rake(strata, totals, 1.5)
    assert info["problem"] is None and isinstance(info["trim_converged"], bool)
    assert wraking.margin_deviation(strata, w, totals) < 1e-6
    assert info["trim_converged"] == (w.max() <= 1.5 * w.mean() * 1.001)


def test_r01_shows_no_rate_above_100_and_no_test_when_respondents_sit_where_the_frame_has_none() -> None:
    from tasks.indicators.context import EngineContext

    ctx = EngineContext(derived_categories={"size_class": ["micro", "klein", "middelgroot"]}, confidence=0.95)
    resp = pd.DataFrame({"size_class": ["micro"] * 5 + ["klein"] * 4 + ["middelgroot"] * 2})
    weighting = {"frame": True, "dims": ["size_class"], "margins": {"size_class": {"micro": 100, "klein": 3}}}
    from schemas.config import ResponseByStratumTable

    spec = ResponseByStratumTable(id="R01", report="", title="", kind="response_by_stratum")
    rows = [asdict(r) for r in wtables.response_rows(spec, resp, weighting, 2023, ctx)]
    cell = {(r["category"], r["stat"]): r for r in rows}
    assert cell[("micro", "pct")]["value"] == 5.0
    assert cell[("klein", "pct")]["value"] is None and cell[("klein", "pct")]["flag"] == ""  # 4 of 3: [z]
    assert cell[("middelgroot", "invited")]["value"] == 0
    assert cell[("totaal", "chi2")]["value"] is None  # 2 respondents in a level with no firm: no test


def test_a_share_of_100_percent_has_no_design_effect() -> None:
    y = np.ones(50)
    got = wtables.weighted_share(y, np.linspace(1, 3, 50), np.ones(50, dtype=bool), 0.05)
    assert got["est"] == 1.0 and math.isnan(got["deff"])


def test_frame_strata_follow_the_respondents_derivation() -> None:
    from innomon.config import load_typed

    frame = wframe.read_frame(_frame_csv(GOOD), "frame-2023.csv")
    assert frame["fte"].tolist() == [3.0, 40.0, 120.5]  # a Dutch decimal comma is read
    strata = wframe.frame_strata(frame, load_typed(2023), DIMS, "frame-2023.csv")
    assert strata.to_dict("records") == [
        {"province": "Groningen", "size_class": "micro", "sector": "informatie_communicatie"},
        {"province": "Friesland", "size_class": "klein", "sector": "handel"},
        {"province": "Drenthe", "size_class": "middelgroot", "sector": "bouw"},
    ]


def test_bad_frame_stops_the_run_with_exit_3_and_publishes_nothing(exports: Path, tmp_path: Path, capsys) -> None:
    from innomon.cli import main
    from tests.conftest import copy_exports

    raw = copy_exports(exports, tmp_path / "raw")
    path = raw / "2023" / "frame-2023.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines, lines[5]]))  # the fifth firm listed twice
    store = tmp_path / "store"
    code = main(["run", "--year", "2023", "--raw-root", str(raw), "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "rule frame_duplicate_id" in err and f"rows 5 and {len(lines)}" in err
    assert lines[5].split(b",")[0].decode() not in err  # not the register number
    assert "Traceback" not in err
    published = store / "published"
    assert not published.exists() or not any(p.is_file() for p in published.rglob("*"))


# --- the demo: weights, R01, R02 -----------------------------------------------------------------


def _demo_year(store: Path, year: int = 2023) -> dict:
    """The demo's frame, valid respondents (with their stored weights) and published tidy data."""
    raw = store / "raw" / str(year) / "frame"
    meta = json.loads((raw / "archived.json").read_text())
    frame = wframe.read_frame((raw / f"{meta['sha256']}.{meta['ext']}").read_bytes(), meta["name"])
    processed = store / "processed" / str(year)
    (weights_file,) = sorted((processed / "private").glob("weights-*.parquet"))
    weights = pd.read_parquet(weights_file)
    respondents = pd.concat([pd.read_parquet(p) for p in sorted(processed.glob("valid-*.parquet"))])
    respondents = respondents.drop_duplicates("response_id")
    respondents = respondents.merge(weights, on="response_id", how="left", validate="one_to_one")
    latest = latest_release(store, year)
    tables = pd.read_csv(
        io.StringIO((latest / "data" / "tables.csv").read_text()), dtype={"category": str}, keep_default_na=False
    )
    return {"frame": frame, "respondents": respondents, "tables": tables, "latest": latest}


@pytest.fixture(scope="module")
def year2023(demo: dict) -> dict:
    return _demo_year(demo["store"])


def test_raked_weights_reproduce_every_frame_margin(year2023: dict) -> None:
    from innomon.config import load_typed

    cfg = load_typed(2023)
    strata = wframe.frame_strata(year2023["frame"], cfg, DIMS, "frame")
    resp = year2023["respondents"]
    assert resp["weight"].notna().all() and (resp["weight"] > 0).all()
    assert len(year2023["frame"]) == cfg.invited
    checked = 0
    for dim in DIMS:
        frame_counts = strata[dim].value_counts()
        weighted = resp.groupby(dim)["weight"].sum()
        assert set(weighted.index) == set(frame_counts.index)
        for level, count in frame_counts.items():
            assert abs(weighted[level] - count) < 1e-6, (dim, level)
            checked += 1
    assert checked == 3 + 3 + 9
    # trimmed: no weight above 3.5 x the mean (the last step is a rake, so a hair above is allowed)
    assert resp["weight"].max() <= 3.5 * resp["weight"].mean() * 1.05


def _numpy_r02(resp: pd.DataFrame, cfg: dict) -> dict[tuple[str, str], dict[str, float]]:
    """Every share R02 compares, recomputed with plain numpy from the respondents and their stored
    weights: the weighted share, its Taylor-linearised standard error (each firm its own unit, with
    replacement, the domain's outsiders contributing zero), the logit 95% interval on n_domain - 1
    degrees of freedom and the design effect Var / (s^2/n) with s^2 = n p(1-p)/(n-1), n = n_domain."""
    universes = cfg["tables"]["universes"]
    specs = {t["id"]: t for t in cfg["tables"]["tables"]}
    w = resp["weight"].to_numpy()
    n_total = len(resp)
    out = {}
    for tid in specs["R02"]["indicators"]:
        spec = specs[tid]
        universe = universes.get(spec.get("universe", "valid")) or ""
        in_universe = resp.eval(universe).to_numpy(bool) if universe else np.ones(n_total, bool)
        for item in spec["items"]:
            values = resp[item]
            answered = (in_universe & values.notna().to_numpy()).astype(float)
            text = np.array([str(int(v)) if isinstance(v, float) and v == v else str(v) for v in values])
            if "pct_top" in spec["stats"]:
                categories = [str(spec["top"])]
            else:
                categories = spec.get("categories") or cfg["tables"]["derived_categories"][item]
            for cat in categories:
                y = (text == cat).astype(float)
                p = float((w * answered * y).sum() / (w * answered).sum())
                z = w * answered * (y - p) / (w * answered).sum()
                se = math.sqrt(n_total / (n_total - 1) * ((z - z.mean()) ** 2).sum())
                n_dom = int(answered.sum())
                half = sps.t.ppf(0.975, n_dom - 1) * se / (p * (1 - p))
                logit = math.log(p / (1 - p))
                lo, hi = (100 / (1 + math.exp(-(logit + s * half))) for s in (-1, 1))
                unweighted = 100 * float((answered * y).sum() / answered.sum())
                out[(item, cat)] = {
                    "pct_w": 100 * p,
                    "lo": lo,
                    "hi": hi,
                    "deff": se**2 / (p * (1 - p) / (n_dom - 1)),
                    "pct": unweighted,
                }
    return out


def test_r02_weighted_shares_recomputed_with_numpy(year2023: dict) -> None:
    """R02's weighted shares as the pipeline computes them (full precision) equal plain numpy's to
    1e-9 (as proportions), their intervals and design effects to 1e-6; the published tidy data holds
    the same figures to its six decimals."""
    from innomon.config import typed
    from tasks.indicators.context import WEIGHT, context

    cfg = _cfg()
    resp = year2023["respondents"]
    expected = _numpy_r02(resp, cfg)
    assert len(expected) == 1 + 5 + 8 + 10 + 6  # K02, T01, T06, T08 (top answer), T17
    run = typed(cfg)
    assert run.tables is not None
    weighting = {"year": 2023, "frame": True, "problem": None}
    rows = wtables.weighted_rows(
        run.table("R02"),
        resp.rename(columns={"weight": WEIGHT}),
        weighting,
        2023,
        run.table_specs,
        context(run, run.tables),
    )
    computed = {(r.item, r.category, r.stat): asdict(r) for r in rows}
    tidy = year2023["tables"]
    published = tidy[tidy["table_id"] == "R02"].set_index(["item", "category", "stat"])
    for (item, cat), e in expected.items():
        got = computed[(item, cat, "pct_w")]
        assert abs(got["value"] / 100 - e["pct_w"] / 100) < 1e-9, item
        assert abs(got["ci_low"] - e["lo"]) < 1e-6 and abs(got["ci_high"] - e["hi"]) < 1e-6, item
        assert abs(computed[(item, cat, "deff")]["value"] - e["deff"]) < 1e-6, item
        assert abs(computed[(item, cat, "pct")]["value"] - e["pct"]) < 1e-9, item
        for stat, key in (("pct_w", "pct_w"), ("deff", "deff"), ("pct", "pct")):
            assert abs(float(published.loc[(item, cat, stat), "value"]) - e[key]) <= 5e-7, (item, stat)
        assert abs(float(published.loc[(item, cat, "pct_w"), "ci_low"]) - e["lo"]) <= 5e-7


def test_r01_response_by_stratum_and_goodness_of_fit(year2023: dict) -> None:
    from innomon.config import load_typed

    strata = wframe.frame_strata(year2023["frame"], load_typed(2023), DIMS, "frame")
    resp = year2023["respondents"]
    tidy = year2023["tables"]
    r01 = tidy[tidy["table_id"] == "R01"]
    for dim in DIMS:
        block = r01[r01["item"] == dim]
        frame_counts = strata[dim].value_counts()
        resp_counts = resp[dim].value_counts()
        for level, invited in frame_counts.items():
            row = block[block["category"] == level].set_index("stat")["value"].astype(float)
            assert row["invited"] == invited and row["n"] == resp_counts.get(level, 0)
            assert abs(row["pct"] - 100 * resp_counts.get(level, 0) / invited) < 1e-5
        total = block[block["category"] == "totaal"].set_index("stat")["value"].astype(float)
        expected = len(resp) * frame_counts / frame_counts.sum()
        chi2 = float((((resp_counts.reindex(frame_counts.index, fill_value=0) - expected) ** 2) / expected).sum())
        assert abs(total["chi2"] - chi2) < 1e-5
        assert abs(total["p_value"] - sps.chi2.sf(chi2, len(frame_counts) - 1)) < 1e-5
    # the planted bias shows: larger firms answered more often, and the test says so
    size = r01[(r01["item"] == "size_class") & (r01["stat"] == "pct")].set_index("category")["value"].astype(float)
    assert size["micro"] < size["klein"] < size["middelgroot"]
    size_p = r01[(r01["item"] == "size_class") & (r01["stat"] == "p_value")]["value"].astype(float).iloc[0]
    assert size_p < 0.001


def test_a_year_without_a_frame_publishes_r01_and_r02_as_x(demo: dict) -> None:
    latest = latest_release(demo["store"], 2022)
    tidy = pd.read_csv(latest / "data" / "tables.csv", dtype={"category": str, "flag": str}, keep_default_na=False)
    r01 = tidy[tidy["table_id"] == "R01"]
    assert set(r01.loc[r01["stat"].isin(["invited", "pct", "chi2", "p_value"]), "flag"]) == {"x"}
    assert (r01.loc[r01["stat"] == "n", "flag"] == "").all()  # the respondents per stratum are known
    r02 = tidy[tidy["table_id"] == "R02"]
    assert set(r02.loc[r02["stat"].isin(["pct_w", "deff"]), "flag"]) == {"x"}
    report = json.loads((latest / "validation" / "report.json").read_text())
    assert report["years"][0]["weighting"]["frame"] is False


def test_weights_diagnostics_in_the_validation_report(year2023: dict) -> None:
    report = json.loads((year2023["latest"] / "validation" / "report.json").read_text())
    got = report["years"][0]["weighting"]
    w = year2023["respondents"]["weight"].to_numpy()
    d = got["diagnostics"]
    assert got["frame_firms"] == 11427 and got["problem"] is None
    assert d["n"] == len(w) and d["unweighted"] == 0
    assert abs(d["min"] - w.min()) < 1e-9 and abs(d["max"] - w.max()) < 1e-9
    assert abs(d["cv"] - w.std() / w.mean()) < 1e-9
    assert abs(d["n_eff"] - w.sum() ** 2 / (w**2).sum()) < 1e-6
    assert d["max_margin_deviation"] < 1e-6


def test_apply_to_tables_weights_every_table(year2023: dict) -> None:
    """The switch computes the report's tables with the weights: K02's innovator share then equals
    R02's weighted one; and a year without weights in the run is refused."""
    from innomon.config import typed
    from tasks.indicators.context import WEIGHT
    from tasks.indicators.stage import compute_tables

    run = typed(_cfg())
    assert run.tables is not None
    weighting_on = run.weighting.model_copy(update={"apply_to_tables": True})
    cfg = run.model_copy(update={"weighting": weighting_on, "comparison_years": []})
    resp = year2023["respondents"].rename(columns={"weight": WEIGHT})
    tables = run.tables.model_copy(update={"tables": [t for t in run.tables.tables if t.id in ("K02", "T01")]})
    facts = {2023: {}}
    weighting = {2023: {"year": 2023, "frame": True, "problem": None}}
    cells, _ = compute_tables({2023: resp}, facts, cfg, tables, weighting)
    k02 = cells[(cells["table_id"] == "K02") & (cells["group"] == "all")]["value"].iloc[0]
    w = resp[WEIGHT].to_numpy()
    assert abs(k02 - 100 * (w * (resp["innovator"] == 1)).sum() / w.sum()) < 1e-9
    unweighted = 100 * (resp["innovator"] == 1).mean()
    assert abs(k02 - unweighted) > 0.1  # the weights do change it
    t01 = cells[(cells["table_id"] == "T01") & (cells["group"] == "all")]
    assert abs(t01["value"].sum() - 100) < 1e-9
    with pytest.raises(ConfigError, match="2023 has no weights"):
        compute_tables({2023: resp}, facts, cfg, tables, {2023: {"year": 2023, "frame": False}})


def test_every_statistic_of_the_vocabulary_has_a_dutch_label_and_no_label_names_another() -> None:
    """The statistics have one source (schemas.vocabulary); the workbook's labels are presentation,
    kept beside it: each statistic a cell may hold is labelled, and no label is left for a removed one."""
    from schemas.vocabulary import STATS
    from tasks.publish.layout import STAT_LABELS

    assert set(STAT_LABELS) == set(STATS)
