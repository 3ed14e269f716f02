"""The datamap: each year's survey instrument, column by column, as a typed row, and the grammar of
its `codes` field (answer codes, ranges, "weet ik niet" codes).

Read by the configuration (every row checked), the ingest stage (mapping an export), the indicator
engine and the publication (category labels), and the synthetic generator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

CODE_TYPES = {"single", "binary", "likert"}
NUMBER_TYPES = {"integer", "number", "percent", "constant_sum"}
TEXT_TYPES = {"text", "id"}
TRUE_FALSE = {"true": "1", "false": "0"}


def spss_safe(column_id: str) -> str:
    """The SPSS variable name a platform gives a column id (SPEC 1.1)."""
    return re.sub(r"[^A-Za-z0-9_.@#$]", "_", column_id)


@dataclass(frozen=True)
class CodeSpec:
    """The allowed values of one item, parsed from the datamap's `codes` field."""

    codes: frozenset[float]
    low: float | None
    high: float | None
    missing: frozenset[float]
    labels: dict[str, str]

    def allows(self, values: pd.Series) -> pd.Series:
        """Which (non-missing) values are allowed."""
        ok = pd.Series(True, index=values.index)
        if self.codes:
            ok &= values.isin(list(self.codes))
        if self.low is not None:
            ok &= values >= self.low
        if self.high is not None:
            ok &= values <= self.high
        return ok


def parse_codes(text: str) -> CodeSpec:
    """`1=Ja|2=Nee`, `0-100`, `>=0`, `-100-100|99999=Weet ik niet` -> CodeSpec."""
    codes: set[float] = set()
    missing: set[float] = set()
    labels: dict[str, str] = {}
    low = high = None
    parts = [p for p in (text or "").split("|") if p.strip()]
    has_range = any("=" not in p or p.startswith(">=") for p in parts)
    for part in parts:
        part = part.strip()
        if part.startswith(">="):
            low = float(part[2:])
            continue
        if "=" in part:
            key, label = part.split("=", 1)
            labels[key.strip()] = label.strip()
            if has_range:
                missing.add(float(key))
            elif key.strip() == "99999":
                missing.add(float(key))
            else:
                codes.add(float(key))
            continue
        m = re.fullmatch(r"(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)", part)
        if m:
            low, high = float(m.group(1)), float(m.group(2))
    return CodeSpec(frozenset(codes), low, high, frozenset(missing), labels)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


DatamapType = Literal[
    "id", "text", "datetime", "single", "binary", "likert", "integer", "number", "percent", "constant_sum"
]


class DatamapRow(_Strict):
    column_id: Annotated[str, Field(min_length=1)]
    variable: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    block: str = ""
    question_text: str = ""
    type: DatamapType
    codes: str = ""
    routing: str = ""
