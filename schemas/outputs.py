"""Schema of the tidy output table (`data/tables.csv`): ranges, flags, and distributions summing to 100."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from schemas.vocabulary import STATS


def _distribution_sums(df: pd.DataFrame) -> pd.Series:
    """Shares of one full distribution (stat pct, table without a fixed category list) sum to 100 +- 0.1
    where no cell is suppressed or missing."""
    ok = pd.Series(True, index=df.index)
    dist = df[(df["stat"] == "pct") & (df["distribution"])]
    for _, block in dist.groupby(["table_id", "year", "group", "item"], sort=False):
        if block["value"].isna().any() or block["n"].fillna(0).eq(0).any():
            continue
        if abs(block["value"].sum() - 100) > 0.1:
            ok[block.index] = False
    return ok


TABLES_SCHEMA = pa.DataFrameSchema(
    {
        "table_id": pa.Column(str),
        "year": pa.Column(int),
        "group": pa.Column(str),
        "item": pa.Column(str),
        "stat": pa.Column(str, pa.Check.isin(STATS)),
        "value": pa.Column(float, nullable=True),
        "n": pa.Column(float, pa.Check.ge(0), nullable=True),
        "flag": pa.Column(str, pa.Check.str_matches(r"^[cxbr]*$")),
        "sig": pa.Column(str, pa.Check.isin(["", "s", "ns"])),
    },
    checks=[
        pa.Check(
            lambda df: ~df["stat"].isin(["pct", "pct_top", "pct_w"]) | df["value"].isna() | df["value"].between(0, 100),
            name="shares_0_100",
        ),
        pa.Check(_distribution_sums, name="distribution_sums_to_100"),
    ],
    strict=False,
    name="tables",
)
