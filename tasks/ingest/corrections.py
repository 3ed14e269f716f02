"""The audited corrections file: fixes the survey team makes to single answers, applied after mapping.

Columns: response_id, variable, old_value, new_value, reason, author. A correction applies only when
its old value matches the export; otherwise the whole file is refused (the export changed under the
survey team's feet and someone must look). Every applied correction is counted in the report; the
values themselves never reach a log or the published zone.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pandas as pd

from innomon.errors import InputError
from schemas.config import RunConfig
from schemas.datamap import TEXT_TYPES, parse_codes

COLUMNS = ["response_id", "variable", "old_value", "new_value", "reason", "author"]


def read_corrections(data: bytes, name: str) -> pd.DataFrame:
    """Parse the corrections CSV (all text); refuses a file without the audited columns."""
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"The corrections file lacks the column {missing[0]!r}.",
            file=name,
            column=missing[0],
            rule="corrections_columns",
        )
    for i, row in df.iterrows():
        if not row["reason"].strip() or not row["author"].strip():
            raise InputError(
                "A correction has no reason or author (corrections must be audited).",
                file=name,
                row=int(i) + 2,
                rule="correction_unaudited",
            )
    return df[COLUMNS]


def _same(current: Any, old: str, text: bool) -> bool:
    if text:
        return str(current if current is not None else "").strip() == old.strip()
    if old.strip() == "":
        return current is None or (isinstance(current, float) and math.isnan(current))
    try:
        return float(old.replace(",", ".")) == float(current)
    except (TypeError, ValueError):
        return False


def apply_corrections(
    mapped: pd.DataFrame, corrections: pd.DataFrame, cfg: RunConfig, name: str
) -> tuple[pd.DataFrame, int]:
    """Apply every correction or refuse the file; returns the corrected table and the count applied."""
    types = {r.variable: r for r in cfg.datamap_rows}
    out = mapped.copy()
    index = {rid: i for i, rid in enumerate(out["response_id"])}
    for i, c in corrections.iterrows():
        row_no = int(i) + 2
        if c["variable"] not in types or c["variable"] == "response_id":
            raise InputError(
                f"A correction names the unknown variable {c['variable']!r}.",
                file=name,
                row=row_no,
                column="variable",
                rule="correction_unknown_variable",
            )
        if c["response_id"] not in index:
            raise InputError(
                "A correction names a ResponseId that is not in the export.",
                file=name,
                row=row_no,
                column="response_id",
                rule="correction_unknown_response",
            )
        spec = types[c["variable"]]
        text = spec.type in TEXT_TYPES
        pos = index[c["response_id"]]
        current = out.at[pos, c["variable"]]
        if not _same(current, c["old_value"], text):
            raise InputError(
                f"A correction of {c['variable']} expects another old value than the export holds: "
                "the export changed since the correction was written.",
                file=name,
                row=row_no,
                column="old_value",
                rule="correction_mismatch",
            )
        if text:
            out.at[pos, c["variable"]] = c["new_value"].strip()
            continue
        new = float("nan") if c["new_value"].strip() == "" else float(c["new_value"].replace(",", "."))
        codes = parse_codes(spec.codes)
        if not math.isnan(new) and not bool(codes.allows(pd.Series([new])).iloc[0]):
            raise InputError(
                f"A correction sets {c['variable']} to a value outside its answer codes.",
                file=name,
                row=row_no,
                column="new_value",
                rule="correction_invalid_value",
            )
        out.at[pos, c["variable"]] = new
    return out, len(corrections)
