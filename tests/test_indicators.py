"""The indicator engine on small frames: statistics, intervals, suppression, significance, x."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.cells import cells_frame
from schemas.config import DistributionTable, KeyFiguresTable
from tasks.indicators.context import EngineContext
from tasks.indicators.distribution import evaluate_table
from tasks.indicators.statistics import significance, two_proportion_p, wilson

CTX = EngineContext(
    derived_categories={"size_class": ["micro", "klein"]},
    codes={"q": {"1": "Ja", "2": "Nee"}},
    universes={"valid": ""},
    confidence=0.95,
    breaks={"q": [2023]},
)


def test_wilson_interval_known_value() -> None:
    low, high = wilson(47, 100, 0.95)
    # by hand: centre (0.47 + 1.96²/200) / (1 + 1.96²/100) = 0.47111, half-width 0.09600
    assert round(low, 2) == 37.51 and round(high, 2) == 56.71


def test_pct_mean_and_not_asked_year() -> None:
    cur = pd.DataFrame({"q": [1.0, 1.0, 2.0, np.nan], "size_class": ["micro", "micro", "klein", "klein"]})
    prev = pd.DataFrame({"size_class": ["micro"]})
    spec = DistributionTable(
        id="T98", report="", title="", items=["q"], stats=["pct"], categories=["1"], by=["size_class"]
    )
    rows = cells_frame(evaluate_table(spec, {2023: cur, 2022: prev}, CTX))
    overall = rows[(rows.year == 2023) & (rows.group == "all")].iloc[0]
    assert overall["value"] == 100 * 2 / 3 and overall["n"] == 3 and overall["flag"] == "b"
    klein = rows[(rows.year == 2023) & (rows.group == "size_class=klein")].iloc[0]
    assert klein["value"] == 0 and klein["n"] == 1
    missing = rows[rows.year == 2022].iloc[0]
    assert missing["flag"] == "x" and pd.isna(missing["value"])


def test_significance_only_with_reliable_bases() -> None:
    rows = [
        {
            "table_id": "T",
            "group": "all",
            "item": "q",
            "category": "1",
            "stat": "pct",
            "flag": "",
            "sig": "",
            "year": y,
            "count": c,
            "n": n,
        }
        for y, c, n in ((2023, 60, 100), (2022, 40, 100))
    ]
    rows += [
        {
            "table_id": "T",
            "group": "g",
            "item": "q",
            "category": "1",
            "stat": "pct",
            "flag": "",
            "sig": "",
            "year": y,
            "count": c,
            "n": n,
        }
        for y, c, n in ((2023, 20, 40), (2022, 10, 40))
    ]
    rows += [  # the same difference, but the previous year's cell is suppressed (D50): no test
        {**rows[0], "group": "h", "year": y, "count": c, "n": n, "flag": f}
        for y, c, n, f in ((2023, 60, 100, ""), (2022, 40, 100, "c"))
    ]
    out = significance(pd.DataFrame(rows), 2023, 2022, 50, 0.05)
    assert out.loc[0, "sig"] == "s"  # p = 0.0047
    assert out.loc[2, "sig"] == ""  # bases of 40 are below the reliability threshold
    assert out.loc[4, "sig"] == ""  # either year suppressed: never tested against it
    assert round(two_proportion_p(60, 100, 40, 100), 4) == 0.0047


def test_response_rate_above_100_percent_is_a_config_error() -> None:
    import pytest

    from innomon.errors import ConfigError
    from tasks.indicators.key_figures import key_figures

    spec = KeyFiguresTable.model_validate(
        {
            "id": "K01",
            "report": "",
            "title": "",
            "kind": "key_figures",
            "figures": [{"item": "response_rate", "stat": "pct", "numerator": "valid", "denominator": "invited"}],
        }
    )
    ok = key_figures(spec, {2023: {"valid": 400, "invited": 500}}, EngineContext(confidence=0.95))
    assert ok[0].value == 80.0
    with pytest.raises(ConfigError, match=r"2023: valid \(500\) exceeds invited \(400\)"):
        key_figures(spec, {2023: {"valid": 500, "invited": 400}}, EngineContext(confidence=0.95))


def test_every_table_kind_of_the_configuration_has_its_function_in_the_registry() -> None:
    from schemas.config import TABLE_MODELS
    from tasks.indicators.kinds import KINDS

    assert set(KINDS) == set(TABLE_MODELS.values())
