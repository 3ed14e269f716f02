"""Regression models from formulas in configuration (statsmodels formula API).

OLS where the report says "GLM" (SPSS univariate GLM), logit for the binary outcome; listwise
deletion; reference categories from config. A model that cannot be estimated is reported with
its reason and the run goes on.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from innomon import refs, storage
from innomon.prefect_support import cached_stage
from schemas.cells import models_csv_bytes, read_rows_json, rows_json_bytes
from schemas.config import Model, ModelsSpec, RunConfig

MODEL_COLUMNS = ["model_id", "year", "term", "estimate", "std_error", "p_value", "ci_low", "ci_high"]
FIT_COLUMNS = ["model_id", "year", "statistic", "value"]


def model_frame(df: pd.DataFrame, spec: ModelsSpec) -> pd.DataFrame:
    """Binary covariates as 1/0, categorical terms with their reference category first."""
    out = df.copy()
    for col in spec.binary:
        if col in out.columns:
            out[col] = out[col].eq(1).astype("int64")
    for col, ref in spec.references.items():
        if col in out.columns:
            present = sorted(str(v) for v in out[col].dropna().unique())
            cats = [ref] + [c for c in present if c != ref]
            out[col] = pd.Categorical(out[col].astype(object), categories=cats)
    return out


def _variables(formula: str, frame: pd.DataFrame) -> list[str]:
    import re

    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", formula))
    return [c for c in frame.columns if c in names]


def fit_model(
    df: pd.DataFrame, model: Model, spec: ModelsSpec, year: int, min_n: int = 10
) -> tuple[list[dict], list[dict]]:
    """Estimate one model; returns (term rows, fit rows). Failures become a `status` fit row.

    Disclosure (D50): a coefficient of a dummy describes the firms in its level. A level of a
    categorical covariate with fewer than `min_n` firms in the estimation sample is merged into the
    reference level (said in a `merged` fit row); a binary covariate with fewer than `min_n` firms
    with, or without, it refuses the model, whose reason says so."""
    frame = model_frame(df, spec)
    used = _variables(model.formula, frame)
    data = frame[used].dropna()
    merged: list[str] = []
    for col, ref in spec.references.items():
        if col in data.columns:
            data[col] = data[col].cat.remove_unused_categories()
            if ref not in data[col].cat.categories:
                return [], _failed(model, year, len(data), f"reference category {ref!r} of {col} has no observations")
            counts = data[col].value_counts()
            small = sorted(str(level) for level, c in counts.items() if 0 < c < min_n and level != ref)
            if small:
                data[col] = data[col].where(~data[col].astype(str).isin(small), ref).cat.remove_unused_categories()
                merged.append(f"{col}: {', '.join(small)} -> {ref}")
    n = len(data)
    if n < spec.min_observations:
        return [], _failed(model, year, n, f"too few observations ({n})")
    outcome = model.formula.split("~", 1)[0].strip()
    for col in spec.binary:
        if col in data.columns and col != outcome:
            ones = int(data[col].sum())
            if min(ones, len(data) - ones) < min_n:
                return [], _failed(
                    model,
                    year,
                    len(data),
                    f"the binary covariate {col} has fewer than {min_n} firms with or without it: its coefficient "
                    "would describe those firms",
                )
    cov = spec.covariance  # one covariance for every model of the spec (a model has no key of its own)
    # imported where used: a cached run of the command line never loads statsmodels
    import statsmodels.formula.api as smf
    from patsy import PatsyError
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    try:
        with warnings.catch_warnings():
            # Separation and non-convergence must fail the model, not pass as estimates.
            warnings.simplefilter("error", PerfectSeparationWarning)
            warnings.simplefilter("error", ConvergenceWarning)
            if model.method == "logit":
                result = smf.logit(model.formula, data=data).fit(disp=0, maxiter=200, cov_type=cov)
            else:
                result = smf.ols(model.formula, data=data).fit(cov_type=cov)
    except (np.linalg.LinAlgError, PatsyError, ValueError, ConvergenceWarning, PerfectSeparationWarning) as exc:
        return [], _failed(model, year, n, f"cannot be estimated: {type(exc).__name__}: {exc}")
    except Exception as exc:  # statsmodels raises PerfectSeparationError/Warning and others
        return [], _failed(model, year, n, f"cannot be estimated: {type(exc).__name__}: {exc}")
    if model.method != "logit" and np.linalg.matrix_rank(result.model.exog) < result.model.exog.shape[1]:
        return [], _failed(model, year, n, "singular design (a covariate is a combination of others)")
    ci = result.conf_int(alpha=0.05)
    terms = [
        {
            "model_id": model.id,
            "year": year,
            "term": term,
            "estimate": float(result.params[term]),
            "std_error": float(result.bse[term]),
            "p_value": float(result.pvalues[term]),
            "ci_low": float(ci.loc[term, 0]),
            "ci_high": float(ci.loc[term, 1]),
        }
        for term in result.params.index
    ]
    fit = [
        {"model_id": model.id, "year": year, "statistic": "status", "value": "estimated"},
        {"model_id": model.id, "year": year, "statistic": "n", "value": n},
        {"model_id": model.id, "year": year, "statistic": "covariance", "value": cov},
    ]
    if merged:
        fit.append({"model_id": model.id, "year": year, "statistic": "merged", "value": "; ".join(merged)})
    if model.method == "logit":
        ll_model, ll_null = float(result.llf), float(result.llnull)
        cox_snell = 1 - math.exp(2 * (ll_null - ll_model) / n)
        nagelkerke = cox_snell / (1 - math.exp(2 * ll_null / n))
        fit += [
            {"model_id": model.id, "year": year, "statistic": s, "value": v}
            for s, v in (
                ("cox_snell_r2", cox_snell),
                ("nagelkerke_r2", nagelkerke),
                ("mcfadden_r2", 1 - ll_model / ll_null),
            )
        ]
    else:
        fit += [
            {"model_id": model.id, "year": year, "statistic": "r2", "value": float(result.rsquared)},
            {"model_id": model.id, "year": year, "statistic": "adj_r2", "value": float(result.rsquared_adj)},
        ]
    return terms, fit


def _failed(model: Model, year: int, n: int, reason: str) -> list[dict]:
    return [
        {"model_id": model.id, "year": year, "statistic": "status", "value": "not_estimated"},
        {"model_id": model.id, "year": year, "statistic": "n", "value": n},
        {"model_id": model.id, "year": year, "statistic": "reason", "value": reason},
    ]


def fit_all(df: pd.DataFrame, spec: ModelsSpec, year: int, min_n: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every model of the spec for one year."""
    terms: list[dict] = []
    fits: list[dict] = []
    for model in spec.models:
        t, f = fit_model(df, model, spec, year, min_n)
        terms += t
        fits += f
    return pd.DataFrame(terms, columns=MODEL_COLUMNS), pd.DataFrame(fits, columns=FIT_COLUMNS)


def store_models(terms: pd.DataFrame, fits: pd.DataFrame, cfg: RunConfig, processed_root: str) -> dict[str, Any]:
    """models.csv and model_fit.csv in the processed zone."""
    root = storage.join(processed_root, str(cfg.year))
    return {
        "year": cfg.year,
        "models": int(fits["model_id"].nunique()),
        "models_csv": refs.put_bytes(root, "models", models_csv_bytes(terms), "csv"),
        "model_fit_csv": refs.put_bytes(root, "model_fit", models_csv_bytes(fits), "csv"),
    }


@cached_stage("models")
def models_task(linked: dict[str, Any], cfg_ref: dict[str, Any], processed_root: str) -> dict[str, Any]:
    """Prefect wrapper: the year's respondent table -> models.csv and model_fit.csv."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    terms, fits = fit_all(
        refs.get_frame(linked["respondents"]), cfg.models_spec, cfg.year, cfg.thresholds.suppression_min_n
    )
    return store_models(terms, fits, cfg, processed_root)


# The same stage split per model, for a distributed task runner (Dask).


@cached_stage("model", report=False)
def model_task(model_id: str, linked: dict[str, Any], cfg_ref: dict[str, Any], processed_root: str) -> dict:
    """One model's term and fit rows, stored as JSON (floats exactly as estimated)."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    spec = cfg.models_spec
    model = next(m for m in spec.models if m.id == model_id)
    rows = fit_model(refs.get_frame(linked["respondents"]), model, spec, cfg.year, cfg.thresholds.suppression_min_n)
    root = storage.join(processed_root, str(cfg.year), "model-rows")
    return refs.put_bytes(root, model_id, rows_json_bytes(rows), "json")


@cached_stage("models-assemble")
def models_assemble_task(model_refs: list[dict], cfg_ref: dict[str, Any], processed_root: str) -> dict[str, Any]:
    """All models in spec order -> models.csv and model_fit.csv."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    terms: list[dict] = []
    fits: list[dict] = []
    for ref in model_refs:
        t, f = read_rows_json(refs.get_bytes(ref))
        terms += t
        fits += f
    frames = pd.DataFrame(terms, columns=MODEL_COLUMNS), pd.DataFrame(fits, columns=FIT_COLUMNS)
    return store_models(*frames, cfg, processed_root)
