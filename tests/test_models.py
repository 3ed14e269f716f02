"""Models from configuration: coverage of known coefficients, and failures reported with a reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from schemas.config import Model, ModelsSpec
from tasks.models.stage import fit_model

SPEC = ModelsSpec(
    references={"province": "Friesland", "sector": "overig"}, binary=["secrecy"], min_observations=30, models=[]
)
PROVINCES = ["Friesland", "Drenthe", "Groningen"]
SECTORS = ["overig", "bouw", "handel"]
TRUE = {
    "Intercept": 0.5,
    "secrecy": 0.8,
    "rd": 0.03,
    "fte": -0.01,
    "province[T.Drenthe]": 0.3,
    "province[T.Groningen]": -0.2,
    "sector[T.bouw]": 0.4,
    "sector[T.handel]": -0.5,
}


def _model(method: str, formula: str) -> Model:
    return Model(id="M99", report="", title="", method=method, formula=formula)


def _data(seed: int, n: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "secrecy": rng.choice([1.0, 2.0], size=n),  # 1 = Ja
            "rd": rng.uniform(0, 40, n),
            "fte": rng.uniform(1, 200, n),
            "province": rng.choice(PROVINCES, n),
            "sector": rng.choice(SECTORS, n),
        }
    )
    eta = (
        TRUE["Intercept"]
        + TRUE["secrecy"] * (df["secrecy"] == 1)
        + TRUE["rd"] * df["rd"]
        + TRUE["fte"] * df["fte"]
        + df["province"].map({"Friesland": 0, "Drenthe": 0.3, "Groningen": -0.2})
        + df["sector"].map({"overig": 0, "bouw": 0.4, "handel": -0.5})
    )
    return df, eta.to_numpy()


@pytest.mark.parametrize("method", ["ols", "logit"])
def test_intervals_cover_known_coefficients(method: str) -> None:
    covered = total = 0
    model = _model(method, "y ~ secrecy + rd + fte + province + sector")
    for seed in range(20):
        df, eta = _data(seed)
        rng = np.random.default_rng(1000 + seed)
        if method == "ols":
            df["y"] = eta + rng.normal(0, 1.0, len(df))
        else:
            df["y"] = (rng.random(len(df)) < 1 / (1 + np.exp(-(eta - 1.0)))).astype(float)
        terms, fit = fit_model(df, model, SPEC, 2023)
        assert fit[0]["value"] == "estimated"
        for t in terms:
            truth = TRUE[t["term"]] - (1.0 if method == "logit" and t["term"] == "Intercept" else 0.0)
            covered += t["ci_low"] <= truth <= t["ci_high"]
            total += 1
    assert total == 20 * len(TRUE)
    assert covered / total >= 0.90, covered / total


def test_hc3_is_a_configurable_alternative() -> None:
    df, eta = _data(1)
    df["y"] = eta + np.random.default_rng(5).normal(0, 1 + df["fte"] / 50)  # heteroscedastic
    model = _model("ols", "y ~ secrecy + rd + fte + province + sector")
    plain, _ = fit_model(df, model, SPEC, 2023)
    robust, fit = fit_model(df, model, SPEC.model_copy(update={"covariance": "HC3"}), 2023)
    assert dict((f["statistic"], f["value"]) for f in fit)["covariance"] == "HC3"
    se = {t["term"]: t["std_error"] for t in plain}
    se_hc3 = {t["term"]: t["std_error"] for t in robust}
    assert se_hc3["fte"] != pytest.approx(se["fte"], rel=1e-3)
    assert [t["estimate"] for t in plain] == pytest.approx([t["estimate"] for t in robust])


def test_unestimable_models_are_reported_with_a_reason() -> None:
    df, eta = _data(2, n=20)
    df["y"] = eta
    _, fit = fit_model(df, _model("ols", "y ~ secrecy + rd"), SPEC, 2023)
    status = {f["statistic"]: f["value"] for f in fit}
    assert status["status"] == "not_estimated" and "too few observations" in status["reason"]

    df, _ = _data(3)
    df["y"] = (df["rd"] > 20).astype(float)  # perfectly separated by rd
    _, fit = fit_model(df, _model("logit", "y ~ rd + fte"), SPEC, 2023)
    status = {f["statistic"]: f["value"] for f in fit}
    assert status["status"] == "not_estimated" and "cannot be estimated" in status["reason"]

    df, eta = _data(4)
    df["y"] = eta
    df["rd2"] = df["rd"] * 2  # collinear with rd
    _, fit = fit_model(df, _model("ols", "y ~ rd + rd2"), SPEC, 2023)
    status = {f["statistic"]: f["value"] for f in fit}
    assert status["status"] == "not_estimated" and "singular" in status["reason"]


def test_a_dummy_level_of_few_firms_joins_the_reference_and_says_so() -> None:
    """Disclosure (D50): a sector of 6 firms would get a coefficient describing those 6; it is
    merged into the reference level, and the fit rows say which levels went where."""
    df, eta = _data(3)
    df.loc[df.index[:6], "sector"] = "energie"
    df["y"] = eta + np.random.default_rng(3).normal(0, 0.5, len(df))
    terms, fit = fit_model(df, _model("ols", "y ~ secrecy + rd + sector"), SPEC, 2023, min_n=10)
    names = {t["term"] for t in terms}
    assert "sector[T.energie]" not in names and {"sector[T.bouw]", "sector[T.handel]"} <= names
    status = {f["statistic"]: f["value"] for f in fit}
    assert status["status"] == "estimated" and status["merged"] == "sector: energie -> overig"
    plain, fit_plain = fit_model(df, _model("ols", "y ~ secrecy + rd + sector"), SPEC, 2023, min_n=5)
    assert "sector[T.energie]" in {t["term"] for t in plain} and "merged" not in {f["statistic"] for f in fit_plain}


def test_a_binary_covariate_of_few_firms_refuses_the_model() -> None:
    df, eta = _data(4)
    df["secrecy"] = 2.0
    df.loc[df.index[:7], "secrecy"] = 1.0  # 7 firms keep their inventions secret
    df["y"] = eta
    terms, fit = fit_model(df, _model("ols", "y ~ secrecy + rd"), SPEC, 2023, min_n=10)
    status = {f["statistic"]: f["value"] for f in fit}
    assert terms == [] and status["status"] == "not_estimated"
    assert status["reason"].startswith("the binary covariate secrecy has fewer than 10 firms with or without it")
