"""The cross-checks' list of derived variables is the pipeline's: a table may name exactly the
variables the derive and link stages add to the datamap's."""

from __future__ import annotations

import glob

import pandas as pd

from innomon import config
from schemas.vocabulary import DERIVED


def test_derived_variables_are_the_columns_the_pipeline_adds(demo: dict) -> None:
    added: set[str] = set()
    for year in (2021, 2022, 2023):
        datamap = {row["variable"] for row in config.load(year)["datamap_rows"]}
        for path in glob.glob(str(demo["store"] / "processed" / str(year) / "respondents-*.parquet")):
            added |= set(pd.read_parquet(path).columns) - datamap
    assert added == set(DERIVED), (sorted(added - DERIVED), sorted(DERIVED - added))
