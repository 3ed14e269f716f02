"""Derived variables (SPEC section 2), computed column-wise for a whole year at once.

Order matters and is fixed here: routing flags from the ungated items, then answers given where
routing says the question was not shown are cleared (and counted), then the constant sum is
checked, and only then are the analysis variables derived.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from innomon import config as config_mod
from innomon import reference, refs, storage
from innomon.normalise import classify, normalise_postcode, normalise_sbi, sector_of
from innomon.prefect_support import cached_stage
from schemas.config import RunConfig
from schemas.datamap import DatamapRow
from schemas.vocabulary import (
    COLLAB,
    NETWORK,
    ORGANISATIONAL,
    ORIENTATION,
    PROCESS,
    PRODUCT,
    PYRAMID,
    RD_AMOUNTS,
    SUBSIDY_SCHEMES,
)


def _yes(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    present = [c for c in cols if c in df.columns]
    return df[present].eq(1) if present else pd.DataFrame(index=df.index)


def any_yes(df: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    """1 if any item is 1 (Ja); unanswered counts as not 1."""
    yes = _yes(df, cols)
    if yes.shape[1] == 0:
        return pd.Series(0, index=df.index, dtype="int64")
    return yes.any(axis=1).astype("int64")


def routing_masks(df: pd.DataFrame, year: int) -> dict[str, pd.Series]:
    """Who was asked each routed question, from the ungated items (datamap `routing`)."""
    product = any_yes(df, PRODUCT).astype(bool)
    process = any_yes(df, PROCESS).astype(bool)
    innovator = any_yes(df, PRODUCT + PROCESS + ORGANISATIONAL).astype(bool)
    rd_active = df["rd_systematic"].isin([1, 2]) if "rd_systematic" in df else pd.Series(False, index=df.index)
    return {
        "product_innovation or process_innovation": product | process,
        "innovator": innovator,
        "rd_active": rd_active,
        "no_subsidy": no_subsidy(df, year).astype(bool),
    }


def no_subsidy(df: pd.DataFrame, year: int) -> pd.Series:
    """2021-2022: no scheme answered 3 (Aangevraagd); 2023+: subsidy_any_applied == 2."""
    if "subsidy_any_applied" in df.columns:
        return df["subsidy_any_applied"].eq(2).astype("int64")
    schemes = [c for c in SUBSIDY_SCHEMES if c in df.columns]
    return (~df[schemes].eq(3).any(axis=1)).astype("int64")


def apply_routing(df: pd.DataFrame, datamap: list[DatamapRow], year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clear answers given where routing says the question was not shown; count them."""
    masks = routing_masks(df, year)
    df = df.copy()
    cleared = []
    for row in datamap:
        rule, var = row.routing.strip(), row.variable
        if not rule:
            continue
        if rule in masks:
            asked = masks[rule]
        elif rule.startswith("the matching collab_"):
            asked = df[var.replace("loc_", "collab_", 1)].eq(1)
        elif rule.startswith("the matching network_"):
            asked = df[var.replace("netloc_", "network_", 1)].eq(1)
        else:
            raise ValueError(f"Routing rule {rule!r} of {var} is not known to the pipeline.")
        violation = ~asked & df[var].notna()
        if violation.any():
            cleared.append(
                pd.DataFrame(
                    {
                        "response_id": df.loc[violation, "response_id"].to_numpy(),
                        "variable": var,
                        "rule": "routing_violation",
                    }
                )
            )
            df.loc[violation, var] = np.nan
    return df, _frame(cleared)


def _frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if parts:
        return pd.concat(parts, ignore_index=True)
    return pd.DataFrame(
        {"response_id": pd.Series(dtype=str), "variable": pd.Series(dtype=str), "rule": pd.Series(dtype=str)}
    )


def apply_constant_sum(df: pd.DataFrame, cfg: RunConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unanswered parts are 0 when one part is answered; a sum outside 99-101 clears all three."""
    spec = cfg.constant_sum
    items = list(spec.items)
    df = df.copy()
    answered = df[items].notna().any(axis=1)
    filled = df[items].fillna(0)
    total = filled.sum(axis=1)
    bad = answered & ((total < spec.min) | (total > spec.max))
    df.loc[answered, items] = filled[answered]
    df.loc[bad, items] = np.nan
    df["turnover_valid"] = (answered & ~bad).astype("int64")
    issues = pd.DataFrame(
        {"response_id": df.loc[bad, "response_id"].to_numpy(), "variable": "turnover", "rule": "constant_sum"}
    )
    return df, issues


def derive(mapped: pd.DataFrame, cfg: RunConfig, pc4_path: str, sbi_path: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All derived variables of SPEC section 2; returns the table and the row-level issues."""
    year = cfg.year
    df, routing_issues = apply_routing(mapped, cfg.datamap_rows, year)
    df, sum_issues = apply_constant_sum(df, cfg)
    issues = [routing_issues, sum_issues]

    if "province" not in df.columns:  # ingest derives it from the postcode, which it keeps private
        df["province"] = normalise_postcode(df["postcode"]).map(reference.pc4_to_province(pc4_path)).astype(object)

    valid_sbi = reference.sbi_sections(sbi_path)
    sbi, status = normalise_sbi(df["sbi_code"], valid_sbi)
    df["sbi_norm"] = sbi
    df["sector"] = sector_of(sbi, valid_sbi, cfg.sectors.by_section, cfg.sectors.by_division)
    bad_sbi = status.isin(["unknown", "ambiguous"])
    issues.append(
        pd.DataFrame(
            {
                "response_id": df.loc[bad_sbi, "response_id"].to_numpy(),
                "variable": "sbi_code",
                "rule": "sbi_" + status[bad_sbi].astype(str),
            }
        )
    )
    df["sbi_restored"] = (status == "restored").astype("int64")

    classes = cfg.classes
    df["size_class"] = classify(df["fte"], classes.size_class)
    founding = df["founding_year"]
    impossible = founding.notna() & ((founding > year) | (founding < classes.founding_year_min))
    issues.append(
        pd.DataFrame(
            {
                "response_id": df.loc[impossible, "response_id"].to_numpy(),
                "variable": "founding_year",
                "rule": "impossible_founding_year",
            }
        )
    )
    df["age"] = (year - founding).mask(impossible)
    df["age_class"] = classify(df["age"], classes.age_class)

    df["product_innovation"] = any_yes(df, PRODUCT)
    df["process_innovation"] = any_yes(df, PROCESS)
    df["org_innovation"] = any_yes(df, ORGANISATIONAL)
    df["innovator"] = any_yes(df, PRODUCT + PROCESS + ORGANISATIONAL)
    df["rd_active"] = df["rd_systematic"].isin([1, 2]).astype("int64")
    no_rd = df["rd_systematic"].eq(3)
    for col in RD_AMOUNTS:
        df.loc[no_rd, col] = 0.0
    df["collaboration"] = any_yes(df, COLLAB)
    df["any_network"] = any_yes(df, NETWORK)
    df["radical"] = np.log1p(df["turnover_new_market"])
    tech = [c for c in df.columns if c.startswith("tech_")]
    df["disruptive_count"] = df[tech].eq(3).sum(axis=1).astype("int64") if tech else 0
    df["disruptive_any"] = (df["disruptive_count"] > 0).astype("int64")
    df["no_subsidy"] = no_subsidy(df, year)
    if "delivery_focus" in df.columns:
        df["orientation"] = df["delivery_focus"].map(ORIENTATION).astype(object)
    df["pyramid"] = pyramid(df)
    env = [c for c in df.columns if c.startswith("env_")]
    if env:
        df["env_any"] = any_yes(df, env).astype(float).where(df[env].notna().any(axis=1))
    df["profit_sign"] = np.select(
        [df["profit_margin"] > 0, df["profit_margin"] == 0, df["profit_margin"] < 0], ["pos", "zero", "neg"], default=""
    )
    df["profit_sign"] = df["profit_sign"].replace("", None).astype(object)
    return df, _frame([i for i in issues if len(i)])


def pyramid(df: pd.DataFrame) -> pd.Series:
    """The innovation pyramid segment (SPEC 2): the first rule that holds."""
    prodproc = (df["product_innovation"] == 1) | (df["process_innovation"] == 1)
    koploper = prodproc & df["rd_systematic"].eq(1) & df["turnover_new_market"].gt(0)
    ontwikkelaar = prodproc & df["inno_developer"].eq(1)
    toepasser = prodproc & ((df["collaboration"] == 1) | (df["any_network"] == 1))
    volger = (df["innovator"] == 1) | (df["rd_active"] == 1) | (df["collaboration"] == 1)
    conditions = [koploper, ontwikkelaar, toepasser, volger]
    return pd.Series(np.select(conditions, PYRAMID[:4], default=PYRAMID[4]), index=df.index, dtype=object)


@cached_stage("derive")
def derive_task(ingested: dict[str, Any], cfg_ref: dict[str, Any], processed_root: str) -> dict[str, Any]:
    """Prefect wrapper: answers -> answers with every derived variable."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    df, issues = derive(
        refs.get_frame(ingested["answers"]),
        cfg,
        str(config_mod.reference_path(cfg, "pc4")),
        str(config_mod.reference_path(cfg, "sbi")),
    )
    root = storage.join(processed_root, str(cfg.year))
    return {
        **ingested,
        "derived": refs.put_frame(root, "derived", df),
        "derive_issues": refs.put_frame(storage.join(root, "private"), "derive-issues", issues),
    }
