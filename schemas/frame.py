"""Schema of the invitation frame: the firms the survey was sent to, drawn from the business register.

The frame is private like the export (it names firms by register number). It is checked twice: its
own columns as read (`FRAME_SCHEMA`), and the strata derived from them (`strata_schema`), so that a
firm the weighting cannot place (unknown SBI code, postcode outside the region, no size) is refused
with its row instead of silently dropping out of the margins.
"""

from __future__ import annotations

import pandera.pandas as pa

from schemas.config import RunConfig

ID_COLUMN = "frame_id"
REQUIRED = ["frame_id", "sbi_code", "postcode"]
SIZE_COLUMNS = ["fte", "size_class"]  # one of the two: the register's FTE, or its size class

FRAME_SCHEMA = pa.DataFrameSchema(
    {
        "frame_id": pa.Column(str, pa.Check.str_length(min_value=1), unique=True),
        "sbi_code": pa.Column(str, pa.Check.str_length(min_value=1)),
        "postcode": pa.Column(str, pa.Check.str_length(min_value=1)),
        "fte": pa.Column(float, pa.Check.ge(0), nullable=False, required=False),
        "size_class": pa.Column(str, pa.Check.str_length(min_value=1), required=False),
    },
    strict=False,
    name="frame",
)


def known_levels(cfg: RunConfig) -> dict[str, list[str]]:
    """The levels of each weighting dimension: the region's provinces, the SME size classes, the
    report's sector groups."""
    return {
        "province": list(cfg.region.provinces),
        "size_class": [str(k) for k, _ in cfg.classes.size_class],
        "sector": list(cfg.sectors.order),
    }


def strata_schema(cfg: RunConfig, dims: list[str]) -> pa.DataFrameSchema:
    """Every frame firm in a known level of every weighting dimension (e.g. an SME by FTE)."""
    known = known_levels(cfg)
    return pa.DataFrameSchema(
        {d: pa.Column(str, pa.Check.isin(known[d]), nullable=False) for d in dims if d in known},
        strict=False,
        name="frame strata",
    )
