"""Derived variables and normalisation (SPEC section 2), on small hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from innomon import config, reference
from innomon.normalise import normalise_kvk, normalise_name, normalise_postcode, normalise_sbi
from tasks.derive.stage import apply_constant_sum, apply_routing, pyramid


def test_postcode_normalisation_accepts_the_spellings_of_spec() -> None:
    got = normalise_postcode(pd.Series(["9712 cp", "9712CP", " 9712-CP ", "9712", "971", "ABCD", None]))
    assert got.tolist()[:4] == ["9712", "9712", "9712", "9712"]
    assert got.iloc[4:].isna().all()


def test_kvk_and_name_normalisation() -> None:
    assert normalise_kvk(pd.Series(["1234 5678", "12.34.56.78", "1234567", ""])).tolist()[:2] == ["12345678"] * 2
    assert normalise_kvk(pd.Series(["1234567"])).isna().all()
    names = normalise_name(
        pd.Series(["Bakkerij Jansen B.V.", "bakkerij  jansen", "Bakkerij Jansen BV", "V.O.F. De Vries"])
    )
    assert names.tolist() == ["bakkerij jansen", "bakkerij jansen", "bakkerij jansen", "de vries"]


def test_sbi_leading_zero_restored_only_when_unambiguous() -> None:
    cfg = config.load(2023)
    valid = reference.sbi_sections(str(config.reference_path(cfg, "sbi")))
    assert "0111" in valid and "111" not in valid  # 01.11 exists, "111" only as a lost zero
    assert "1411" in valid and "01411" in valid  # 14.11 and 01.41.1: both readings are codes
    codes, status = normalise_sbi(pd.Series(["0111", "111", "1411", "62.01", "9999", ""]), valid)
    assert status.tolist() == ["ok", "restored", "ambiguous", "ok", "unknown", "blank"]
    assert codes.iloc[[0, 1, 3]].tolist() == ["0111", "0111", "6201"] and pd.isna(codes.iloc[2])


def test_constant_sum_fills_zero_and_rejects_bad_sums() -> None:
    cfg = config.load_typed(2023)
    df = pd.DataFrame(
        {
            "response_id": ["a", "b", "c", "d"],
            "turnover_new_market": [30, 50, np.nan, 10],
            "turnover_new_firm": [20, np.nan, np.nan, 10],
            "turnover_unchanged": [50, 50, np.nan, 10],
        }
    )
    out, issues = apply_constant_sum(df, cfg)
    assert out.loc[1, "turnover_new_firm"] == 0
    assert out.loc[[2, 3], "turnover_new_market"].isna().all()
    assert issues["response_id"].tolist() == ["d"]
    assert out["turnover_valid"].tolist() == [1, 1, 0, 0]


def test_routing_violation_cleared_and_counted() -> None:
    cfg = config.load_typed(2023)
    n = 2
    df = pd.DataFrame(
        {
            c: [2.0] * n
            for c in [
                "inno_goods",
                "inno_services",
                "inno_production",
                "inno_logistics",
                "inno_support",
                "org_practices",
                "org_responsibilities",
                "org_external",
            ]
        }
    )
    df["response_id"] = ["r1", "r2"]
    df["rd_systematic"] = [3.0, 1.0]
    df["rd_internal_pct"] = [10.0, 10.0]  # r1 is not R&D-active, so was never asked
    df["subsidy_any_applied"] = [1.0, 2.0]
    rows = [r for r in cfg.datamap_rows if r.variable in ("rd_internal_pct",)]
    out, issues = apply_routing(df, rows, 2023)
    assert np.isnan(out.loc[0, "rd_internal_pct"]) and out.loc[1, "rd_internal_pct"] == 10
    assert issues["rule"].tolist() == ["routing_violation"]


def test_pyramid_rules_in_order() -> None:
    df = pd.DataFrame(
        {
            "product_innovation": [1, 1, 1, 0, 0, 1],
            "process_innovation": [0, 0, 0, 0, 0, 0],
            "rd_systematic": [1, 2, 3, 2, 3, 1],
            "turnover_new_market": [10, 10, 0, 0, 0, 0],
            "inno_developer": [1, 1, 2, np.nan, np.nan, 3],
            "collaboration": [0, 0, 1, 0, 0, 0],
            "any_network": [0, 0, 0, 0, 0, 0],
            "innovator": [1, 1, 1, 0, 0, 1],
            "rd_active": [1, 1, 0, 1, 0, 1],
        }
    )
    assert pyramid(df).tolist() == ["koploper", "ontwikkelaar", "toepasser", "volger", "niet_innovatief", "volger"]
