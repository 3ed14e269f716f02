"""Schema of the canonical respondent table (valid respondents, after derivation and universe).

It restates the universe rules of SPEC section 2 and the cross-field rules as checks, so a bug in a
derivation can never reach a published figure unnoticed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pandera.pandas as pa

from schemas.vocabulary import PYRAMID

if TYPE_CHECKING:
    from schemas.config import RunConfig


def respondents_schema(cfg: RunConfig) -> pa.DataFrameSchema:
    """Valid respondents of one year."""
    limit = float(cfg.universe.sme_fte_limit)
    cs = cfg.constant_sum
    year = cfg.year
    pct = [pa.Check.ge(0), pa.Check.le(100)]

    def constant_sum_ok(df: pd.DataFrame) -> pd.Series:
        total = df[list(cs.items)].sum(axis=1)
        return (df["turnover_valid"] == 0) | total.between(cs.min, cs.max)

    return pa.DataFrameSchema(
        {
            "response_id": pa.Column(str, unique=True),
            "meta_status": pa.Column(float, pa.Check.isin(cfg.universe.valid_status)),
            "province": pa.Column(None, pa.Check.isin(cfg.region.provinces)),
            "fte": pa.Column(float, [pa.Check.ge(0), pa.Check.lt(limit)], nullable=True),
            "age": pa.Column(float, [pa.Check.ge(0), pa.Check.le(year - cfg.classes.founding_year_min)], nullable=True),
            "rd_internal_pct": pa.Column(float, pct, nullable=True),
            "rd_external_pct": pa.Column(float, pct, nullable=True),
            "rd_employees": pa.Column(float, pa.Check.ge(0), nullable=True),
            "turnover_new_market": pa.Column(float, pct, nullable=True),
            "pyramid": pa.Column(None, pa.Check.isin(PYRAMID)),
            "sector": pa.Column(None, pa.Check.isin(cfg.sectors.order), nullable=True),
        },
        checks=[pa.Check(constant_sum_ok, name="constant_sum_99_101")],
        strict=False,
        name=f"respondents-{year}",
    )
