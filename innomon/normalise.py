"""Normalising what firms write (postcode, chamber-of-commerce number, name, SBI code) and placing
numbers in the configuration's classes.

Shared by the stages that meet firms' own writing (ingest, derive, weights' invitation frame) and by
the synthetic generator, so each rule is written once, below every stage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

LEGAL_FORMS = r"\b(b\.?\s?v\.?|n\.?\s?v\.?|v\.?\s?o\.?\s?f\.?|c\.?\s?v\.?|holding|eenmanszaak|vof|bv|nv)\b"


def normalise_postcode(values: pd.Series) -> pd.Series:
    """`9712 cp`, `9712CP`, ` 9712-CP ` -> `9712`; anything else -> missing."""
    text = values.fillna("").astype(str).str.upper().str.replace(r"[\s\-.]", "", regex=True)
    pc4 = text.str.extract(r"^([1-9]\d{3})(?:[A-Z]{2})?$")[0]
    return pc4


def normalise_kvk(values: pd.Series) -> pd.Series:
    """KvK number with spaces and dots removed if it is 8 digits, else missing."""
    text = values.fillna("").astype(str).str.replace(r"[\s.]", "", regex=True)
    text = text.str.replace(r"\.0$", "", regex=True)
    return text.where(text.str.fullmatch(r"\d{8}"), None)


def normalise_name(values: pd.Series) -> pd.Series:
    """Lower case, legal form removed, punctuation and spaces collapsed (SPEC 2, rule 7)."""
    text = values.fillna("").astype(str).str.lower()
    text = text.str.replace(LEGAL_FORMS, " ", regex=True)
    text = text.str.replace(r"[^\w]+", " ", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    return text.where(text != "", None)


def normalise_sbi(values: pd.Series, valid: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """SBI code -> (valid digits or missing, status: ok / restored / ambiguous / unknown / blank)."""
    text = values.fillna("").astype(str).str.replace(r"[\s.\u00a0]", "", regex=True)
    as_is = text.isin(valid.keys())
    padded_text = "0" + text
    padded = padded_text.isin(valid.keys()) & ~text.str.startswith("0")
    status = pd.Series("unknown", index=values.index, dtype=object)
    status[text == ""] = "blank"
    status[as_is & ~padded] = "ok"
    status[~as_is & padded] = "restored"
    status[as_is & padded] = "ambiguous"
    code = pd.Series(None, index=values.index, dtype=object)
    code[status == "ok"] = text[status == "ok"]
    code[status == "restored"] = padded_text[status == "restored"]
    return code, status


def sector_of(
    codes: pd.Series, valid: Mapping[str, str], by_section: Mapping[str, str], by_division: Mapping[str, str]
) -> pd.Series:
    """Normalised SBI digits -> sector key by division, else by section (`sectors` of the configuration)."""
    by_div = {str(k): v for k, v in by_division.items()}
    by_sec = by_section
    out = []
    for code in codes.tolist():
        if code is None or (isinstance(code, float) and np.isnan(code)):
            out.append(None)
            continue
        out.append(by_div.get(code[:2]) or by_sec.get(valid[code]))
    return pd.Series(out, index=codes.index, dtype=object)


def classify(values: pd.Series, bounds: Sequence[Sequence[Any]]) -> pd.Series:
    """Values -> the first class whose exclusive upper bound they stay under (None: no bound)."""
    out = pd.Series(None, index=values.index, dtype=object)
    done = values.isna()
    for key, upper in bounds:
        hit = ~done & (values < upper if upper is not None else pd.Series(True, index=values.index))
        out[hit] = key
        done |= hit
    return out
