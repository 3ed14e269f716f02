"""pandera validation at the three checkpoints: mapped export, respondent table, output tables."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from innomon.errors import InputError


def validate_lazy(schema: pa.DataFrameSchema, df: pd.DataFrame, file: str, stage: str) -> pd.DataFrame:
    """Validate collecting every failure; raise one InputError naming the first (column, row, check)."""
    try:
        return schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        first = cases.iloc[0]
        row = first.get("index")
        row_no = int(row) + 1 if row is not None and str(row).isdigit() else None
        raise InputError(
            f"{len(cases)} value(s) fail the {stage} schema, first {first['check']!s} on {first['column']!s}",
            file=file,
            column=None if first["column"] is None else str(first["column"]),
            row=row_no,
            rule=f"schema_{stage}",
        ) from exc
