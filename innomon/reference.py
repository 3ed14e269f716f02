"""Reference tables: PC4 -> province (CBS) and the SBI 2008 code list, read once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd


@lru_cache(maxsize=4)
def pc4_table(path: str) -> pd.DataFrame:
    """The PC4 table as text columns (`pc4` as 4-digit text); rows without a province dropped."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df[df["province"].str.strip() != ""].copy()
    df["pc4"] = df["pc4"].str.zfill(4)
    return df.reset_index(drop=True)


@lru_cache(maxsize=4)
def pc4_to_province(path: str) -> dict[str, str]:
    """PC4 (4-digit text) -> province name."""
    df = pc4_table(path)
    return dict(zip(df["pc4"], df["province"], strict=True))


@lru_cache(maxsize=4)
def sbi_sections(path: str) -> dict[str, str]:
    """Every valid SBI code (digits only, any level below the section) -> its section letter."""
    df = pd.read_csv(Path(path), dtype=str, keep_default_na=False)
    df = df[df["code_cijfers"] != ""]
    return dict(zip(df["code_cijfers"], df["sectie"], strict=True))
