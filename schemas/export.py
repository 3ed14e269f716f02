"""Schema of an export as mapped by the datamap: every datamap variable present, codes and ranges.

Built from the year's datamap, so a new year's instrument needs no code change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandera.pandas as pa

from schemas.datamap import CODE_TYPES, NUMBER_TYPES, parse_codes

if TYPE_CHECKING:
    from schemas.config import RunConfig


def export_schema(cfg: RunConfig) -> pa.DataFrameSchema:
    """One column per datamap variable with the item's allowed codes or range."""
    columns: dict[str, pa.Column] = {}
    for row in cfg.datamap_rows:
        var, typ = row.variable, row.type
        spec = parse_codes(row.codes)
        checks = []
        if typ in CODE_TYPES and spec.codes:
            checks.append(pa.Check.isin(sorted(spec.codes)))
        if typ in NUMBER_TYPES:
            if spec.low is not None:
                checks.append(pa.Check.ge(spec.low))
            if spec.high is not None:
                checks.append(pa.Check.le(spec.high))
        if typ in CODE_TYPES or typ in NUMBER_TYPES:
            columns[var] = pa.Column(float, checks=checks, nullable=True)
        elif typ == "datetime":
            columns[var] = pa.Column("datetime64[ns]", nullable=True)
        else:
            columns[var] = pa.Column(nullable=True)
    columns["response_id"] = pa.Column(str, unique=True, nullable=False)
    return pa.DataFrameSchema(columns, strict=False, name=f"export-{cfg.year}")
