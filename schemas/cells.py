"""The cell: one figure of one table, and the tidy files that hold them (`data/tables.csv`,
`data/models.csv`, `data/model_fit.csv`).

The indicator engine builds `Cell`s; the publication, the QA step and the revision marks read the
tidy CSV back with `read_tables_csv`. Writer and reader live together so the file's form is decided
in one place: `.` decimals, unrounded values to 6 decimals, empty for missing.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# The columns of data/tables.csv, in their order (SPEC section 5).
COLUMNS = ["table_id", "year", "group", "item", "category", "stat", "value", "n", "ci_low", "ci_high", "flag", "sig"]
# What identifies a cell across releases (the revision marks compare on it).
KEYS = ["table_id", "year", "group", "item", "category", "stat"]


@dataclass(slots=True, kw_only=True)
class Cell:
    """One figure as the engine computes it: the published columns, and what suppression and the
    year-over-year test need besides (`dim`, `count`, `base`, `distribution`, `firms`, `dominated`)."""

    table_id: str
    year: int
    group: str = "all"  # `all`, or `DIM=KEY` of a breakdown
    dim: str = ""  # the breakdown's dimension ("" for `all`)
    item: str
    category: str = ""
    stat: str
    value: float | None = None
    n: int | float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    flag: str = ""
    sig: str = ""
    count: float | None = None  # the count behind a share (weighted: the effective count)
    base: float | None = None  # a weighted share's base: Kish's effective n (None: `n`)
    distribution: bool = False  # a share of a full distribution (its categories sum to 100)
    firms: int | None = None  # a weighted share's firms with the answer (the frequency rule counts firms)
    dominated: bool = False  # a mean of a magnitude that fails the dominance rule (D50)


def cells_frame(cells: list[Cell]) -> pd.DataFrame:
    """The cells as a DataFrame, one column per field."""
    fields = Cell.__slots__
    return pd.DataFrame({f: [getattr(c, f) for c in cells] for f in fields}, columns=list(fields))


def _blank_or(fmt: Any) -> Any:
    def text(v: Any) -> str:
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt(v)

    return text


def tables_csv_bytes(cells: pd.DataFrame) -> bytes:
    """data/tables.csv: `.` decimals, unrounded values to 6 decimals, empty for missing."""
    out = cells.copy()
    for col in ("value", "ci_low", "ci_high"):
        out[col] = out[col].map(_blank_or(lambda v: f"{v:.6f}"))
    out["n"] = out["n"].map(_blank_or(lambda v: str(int(v))))
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def read_tables_csv(data: bytes) -> pd.DataFrame:
    """Read a tables.csv written by `tables_csv_bytes`: text keys, float values, empty flags as ""."""
    cells = pd.read_csv(
        io.BytesIO(data),
        dtype={"category": str, "group": str, "flag": str, "sig": str},
        keep_default_na=False,
        na_values={"value": [""], "n": [""], "ci_low": [""], "ci_high": [""]},
    )
    cells["flag"] = cells["flag"].fillna("")
    cells["sig"] = cells["sig"].fillna("")
    return cells


def _model_text(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else f"{float(v):.6f}"
    return str(v)


def models_csv_bytes(frame: pd.DataFrame) -> bytes:
    """data/models.csv and data/model_fit.csv: `.` decimals, 6 decimals for floats."""
    out = frame.copy()
    for col in out.columns:
        out[col] = out[col].map(_model_text)
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def read_models_csv(data: bytes) -> pd.DataFrame:
    """Read data/models.csv."""
    return pd.read_csv(io.BytesIO(data))


def read_model_fit_csv(data: bytes) -> pd.DataFrame:
    """Read data/model_fit.csv: values as written (text), so a count stays a count."""
    return pd.read_csv(io.BytesIO(data), dtype={"value": str}, keep_default_na=False)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (JSON writes Python's own)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")


def rows_json_bytes(rows: Any) -> bytes:
    """Intermediate rows (a table's cells, a model's terms) as JSON for the store: floats exactly
    (Python writes the shortest text that reads back to the same double; NaN as `NaN`), keys in the
    order written. Never a pickle: an object read back from storage is data, not code."""
    import json

    return json.dumps(rows, default=_plain, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def read_rows_json(data: bytes) -> Any:
    """Rows written by `rows_json_bytes`."""
    import json

    return json.loads(data.decode("utf-8"))


def cells_json_bytes(cells: list[Cell]) -> bytes:
    """A table's unsuppressed cells, for the per-table step of a distributed run."""
    return rows_json_bytes([[getattr(c, f) for f in Cell.__slots__] for c in cells])


def read_cells_json(data: bytes) -> list[Cell]:
    """Cells written by `cells_json_bytes`."""
    return [Cell(**dict(zip(Cell.__slots__, row, strict=True))) for row in read_rows_json(data)]
