"""The layout engine: a table's tidy cells in the report's shape, as declared in `tables.yaml`.

Each table spec names the dimensions (`year`, `group`, `item`, `category`, `stat`) that run down the
rows and across the columns (`layout:`), and how each breakdown (`by:`) is shown (`by_layout:`).
This module turns the long cells into `Shaped` tables: labels, headers and cells that carry both
the full-precision value and the text as the report prints it. The writers (workbook, report
draft) only place what it returns; no writer knows a table by its id.

Written by hand: pandas' `pivot` does the reshaping, but no library knows the report's ordering,
labels and shorthand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from schemas.config import Chart, Layout, Model, RunConfig, TableBase
from tasks.publish.labels import Labels

DIMS = ("year", "group", "item", "category", "stat")
# Display formats: (Excel number format of the number, literal unit printed after it, decimals).
FORMATS: dict[str, tuple[str, str, int]] = {
    "percent": ("0", "%", 0),
    "percent1": ("0.0", "%", 1),
    "decimal": ("0.00", "", 2),
    "decimal3": ("0.000", "", 3),  # p-values
    "count": ("#,##0", "", 0),  # 11.427 in a Dutch Excel
}
DEFAULT_FORMAT = {
    "pct": "percent",
    "pct_top": "percent",
    "pct_w": "percent",
    "mean": "decimal",
    "n": "count",
    "invited": "count",
    "p_value": "decimal3",
}
STAT_LABELS = {
    "pct": "Percentage",
    "pct_top": "Percentage topcategorie",
    "mean": "Gemiddelde",
    "n": "Aantal",
    "invited": "Uitgenodigd",
    "chi2": "Chi-kwadraat",
    "p_value": "p-waarde",
    "pct_w": "Gewogen percentage",
    "deff": "Designeffect",
}
DEFAULT_LAYOUT = Layout(rows=["item", "category", "stat"], columns=["year"])  # a table that declares none
DIM_HEADERS = {"year": "Jaar", "group": "Groep", "item": "Onderwerp", "category": "Categorie", "stat": "Statistiek"}
NOT_APPLICABLE = "[z]"


class LayoutError(ValueError):
    """A layout that does not give each figure its own cell (a dimension varies but is not laid out)."""


@dataclass(frozen=True)
class ShownCell:
    """One cell of a report-shaped table, as shown (the computed figure is `schemas.cells.Cell`).

    `value` is the figure at full precision (None where a code is shown), `text` the cell as the
    report prints it (`47%`, `2,33`, `[c]`, `51% [s]`), `fmt` its display format (a key of FORMATS),
    `marks` the shorthand printed after the number, `key` the tidy cell it shows (year, group,
    item, category, stat), None where no figure exists for that position.
    """

    value: float | None
    text: str
    fmt: str
    marks: str
    key: tuple[int, str, str, str, str] | None


@dataclass(frozen=True)
class Shaped:
    """A table in the report's shape: one header row, label columns, then value columns."""

    table_id: str
    sheet: str  # worksheet name (at most 31 characters)
    name: str  # Excel table name: letters, digits and underscores
    title: str  # the sheet's A1 text
    caption: str  # the report's caption, `Tabel 8: Overzicht ...`
    breakdown: str | None  # the `by` variable of a breakdown table
    row_headers: list[str]
    column_headers: list[str]
    row_labels: list[list[str]]
    row_keys: list[dict[str, str]]
    column_keys: list[dict[str, str]]
    cells: list[list[ShownCell]]
    chart: Chart | None

    @property
    def headers(self) -> list[str]:
        return self.row_headers + self.column_headers


def dutch(value: float, decimals: int = 0) -> str:
    """`12.5` -> `12,5` (Dutch decimal comma; a narrow no-break space between thousands)."""
    return f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


def display_format(layout: Layout | None, item: str, stat: str) -> str:
    """The display format of a figure: the layout's rule for its item, else for its statistic, else
    the default of the statistic."""
    return format_by_rules(layout.formats if layout else {}, item, stat)


def format_by_rules(rules: dict[str, str], item: str, stat: str) -> str:
    """`display_format` from a layout's `formats` rules."""
    return rules.get(item) or rules.get(stat) or DEFAULT_FORMAT.get(stat, "decimal")


def display(value: float, fmt: str) -> str:
    """A figure as the report prints it: `47%`, `3,7%`, `2,33`, `11 427`."""
    _, unit, decimals = FORMATS[fmt]
    return f"{dutch(float(value), decimals)}{unit}"


def by_table(cells: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The cells split by table once (rows in their order), for the writers that visit every table:
    one boolean mask over all cells per table cost more than the table's own work."""
    return dict(tuple(cells.groupby("table_id", sort=False)))


def shape_tables(cells: pd.DataFrame, cfg: RunConfig, labels: Labels) -> list[Shaped]:
    """Every table of the release in the report's shape, in `tables.yaml` order; a table's breakdowns
    follow it."""
    tables = by_table(cells)
    out: list[Shaped] = []
    for spec in cfg.table_specs:
        if spec.id in tables:
            out += shape_table(spec, tables[spec.id], labels, cfg.year)
    return out


def shape_table(spec: TableBase, block: pd.DataFrame, labels: Labels, year: int) -> list[Shaped]:
    """The table itself, then one table per breakdown variable when the spec declares `by_layout`."""
    layout = spec.layout or DEFAULT_LAYOUT
    dims = layout.rows + layout.columns
    if "group" in dims:
        groups = layout.groups or ("by" if spec.by_only else "both")
    else:
        groups = "all"
    main = _select(block, groups, None, layout, year)
    shaped = [_shape(spec, main, labels, layout, year, None)] if len(main) else []
    by_layout = spec.by_layout
    for dim in (spec.by or []) if by_layout else []:
        part = _select(block, "by", dim, by_layout, year)
        if len(part):
            shaped.append(_shape(spec, part, labels, by_layout, year, dim))
    return shaped


def _select(block: pd.DataFrame, groups: str, dim: str | None, layout: Layout, year: int) -> pd.DataFrame:
    """The cells one shaped table shows: its groups (and breakdown variable) and years."""
    grp = block["group"].astype(str)
    if groups == "all":
        keep = grp == "all"
    elif groups == "by":
        keep = grp != "all" if dim is None else grp.str.startswith(f"{dim}=")
    else:
        keep = pd.Series(True, index=block.index)
    if layout.years == "current":
        keep &= block["year"].astype(int) == year
    return block[keep]


def _shape(spec: TableBase, block: pd.DataFrame, labels: Labels, layout: Layout, year: int, by: str | None) -> Shaped:
    if layout.item_labels:
        labels = Labels({**labels.items, **layout.item_labels}, labels.categories, labels.questions)
    frame = block.assign(
        year=block["year"].astype(int),
        category=block["category"].fillna("").astype(str),
        group=block["group"].astype(str),
    )
    rows, cols = list(layout.rows), list(layout.columns)
    varying = [d for d in DIMS if d not in rows + cols and frame[d].nunique() > 1]
    clash = frame.duplicated(subset=rows + cols, keep=False)
    if clash.any():
        example = frame[clash].iloc[0]
        raise LayoutError(
            f"table {spec.id}: layout rows {rows}, columns {cols} puts several figures in one cell "
            f"(e.g. year {example['year']}, item {example['item']!r}); lay out {varying or 'every dimension'} too"
        )
    orders = {d: _order(frame, d, layout, labels) for d in DIMS}
    row_keys = _keys(frame, rows, orders)
    col_keys = _keys(frame, cols, orders)
    by_position = {
        tuple(str(r[d]) for d in rows + cols): r for r in frame.to_dict("records")
    }  # plain dicts: iterrows builds a Series per row
    fmt_rules = layout.formats
    cells = [
        [_cell(by_position.get(tuple(rk[d] for d in rows) + tuple(ck[d] for d in cols)), fmt_rules) for ck in col_keys]
        for rk in row_keys
    ]
    stat_labels = {**STAT_LABELS, **layout.stat_labels}
    dim_label = _DimLabels(labels, stat_labels, layout.label_format, frame)
    row_labels = [[dim_label(d, rk) for d in rows] for rk in row_keys]
    column_headers = _unique([" ".join(dim_label(d, ck) for d in cols) for ck in col_keys])
    row_headers = _unique([_row_header(d, frame, labels, by) for d in rows])
    report = spec.report
    suffix = f" naar {labels.item(by).lower()}" if by else ""
    sheet = f"{spec.id} {labels.item(by)}"[:31] if by else spec.id
    return Shaped(
        table_id=spec.id,
        sheet=sheet,
        name=f"Tabel_{spec.id}" + (f"_{by}" if by else ""),
        title=f"{spec.id} {report}: {spec.title}{suffix}",
        caption=f"{report}: {spec.title}{suffix}",
        breakdown=by,
        row_headers=row_headers,
        column_headers=column_headers,
        row_labels=row_labels,
        row_keys=row_keys,
        column_keys=col_keys,
        cells=cells,
        chart=spec.chart if by is None else None,
    )


def _order(frame: pd.DataFrame, dim: str, layout: Layout, labels: Labels) -> dict[str, int]:
    """Rank of each value of a dimension: years newest first (as the report), `all` before the
    groups, everything else in the order the table engine computed it (the spec's order), or by
    label where the layout says `sort: {dim: label}` (the report lists provinces alphabetically)."""
    values = [str(v) for v in dict.fromkeys(frame[dim])]
    if dim == "year":
        values = sorted(values, key=int, reverse=True)
    elif dim == "group":
        values = sorted(values, key=lambda g: g != "all")
    if layout.sort.get(dim) == "label":
        items = list(dict.fromkeys(frame["item"]))
        values = sorted(values, key=lambda v: _plain_label(dim, v, items, labels).casefold())
    return {v: i for i, v in enumerate(values)}


def _plain_label(dim: str, value: str, items: list[str], labels: Labels) -> str:
    if dim == "category" and len(items) == 1:
        return labels.category(items[0], value)
    if dim == "item":
        return labels.item(value)
    if dim == "group" and "=" in value:
        var, code = value.split("=", 1)
        return labels.category(var, code)
    return value


def _keys(frame: pd.DataFrame, dims: list[str], orders: dict[str, dict[str, int]]) -> list[dict[str, str]]:
    """The combinations of `dims` that hold a figure, in reading order. A combination that exists
    for no figure (a mean has no category) is not a row or column; a missing figure at an existing
    position shows [z]."""
    if not dims:  # no dimension on this side: one row (or column) holding every figure
        return [{}] if len(frame) else []
    present = set(zip(*([str(v) for v in frame[d].tolist()] for d in dims), strict=True))
    ordered = sorted(present, key=lambda key: tuple(orders[d][v] for d, v in zip(dims, key, strict=True)))
    return [dict(zip(dims, key, strict=True)) for key in ordered]


def _cell(c: dict[str, Any] | None, fmt_rules: dict[str, str]) -> ShownCell:
    """Value, display format and shorthand of one position: [c] suppressed, [x] not asked, [z] no
    figure; a figure flagged for a break or revision, or significantly different from the year
    before, carries [b], [r] or [s] after the number."""
    if c is None:
        return ShownCell(None, NOT_APPLICABLE, "count", "", None)
    stat = str(c["stat"])
    fmt = format_by_rules(fmt_rules, str(c["item"]), stat)
    flag = str(c.get("flag") or "")
    key = (int(c["year"]), str(c["group"]), str(c["item"]), str(c["category"]), stat)
    value = c.get("value")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        code = "[c]" if "c" in flag else "[x]" if "x" in flag else NOT_APPLICABLE
        return ShownCell(None, code, fmt, "", key)
    marks = "".join(f"[{f}]" for f in flag if f not in "cx")
    if str(c.get("sig") or "") == "s":
        marks += "[s]"
    text = display(float(value), fmt) + (f" {marks}" if marks else "")
    return ShownCell(float(value), text, fmt, marks, key)


class _DimLabels:
    """The label of one dimension's value in a row or column."""

    def __init__(self, labels: Labels, stat_labels: dict[str, str], formats: dict[str, str], frame: pd.DataFrame):
        self.labels, self.stat_labels, self.formats = labels, stat_labels, formats
        self.items = list(dict.fromkeys(frame["item"]))

    def __call__(self, dim: str, key: dict[str, str]) -> str:
        value = key[dim]
        if dim == "year":
            text = f"Monitor {value}"
        elif dim == "item":
            text = self.labels.item(value)
        elif dim == "stat":
            text = self.stat_labels.get(value, value)
        elif dim == "category":
            item = key.get("item") or self.items[0]  # items in one table share their answer codes
            text = self.labels.category(item, value) if value else NOT_APPLICABLE
        else:
            text = self._group(value)
        template = self.formats.get(dim)
        return template.format(text) if template else text

    def _group(self, group: str) -> str:
        if group == "all":
            return "Alle bedrijven"
        var, value = group.split("=", 1)
        return self.labels.category(var, value)


def _row_header(dim: str, frame: pd.DataFrame, labels: Labels, by: str | None) -> str:
    """The header of a label column: the question the items answer (Tabel 6's "Heeft uw
    onderneming ... geïntroduceerd?"), the item a category belongs to, the breakdown variable."""
    items = list(dict.fromkeys(frame["item"]))
    if dim == "item":
        questions = {labels.questions.get(i) for i in items}
        return questions.pop() if len(questions) == 1 and None not in questions else DIM_HEADERS["item"]
    if dim == "category" and len(items) == 1:
        return labels.item(items[0])
    if dim == "group":
        variables = {g.split("=", 1)[0] for g in frame["group"] if g != "all"}
        return labels.item(by or variables.pop()) if len(variables) == 1 else DIM_HEADERS["group"]
    return DIM_HEADERS[dim]


def _unique(headers: list[str]) -> list[str]:
    """Excel needs unique headers in a table: a repeated label gets ` (2)`, ` (3)`."""
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        seen[h] = seen.get(h, 0) + 1
        out.append(h if seen[h] == 1 else f"{h} ({seen[h]})")
    return out


def column_series(table: Shaped, stat: str, category: str | None) -> list[int]:
    """Indexes of the value columns a chart of `stat` (and `category`) draws."""
    return [
        i
        for i, key in enumerate(table.column_keys)
        if all(_matches(table, i, key, dim, want) for dim, want in (("stat", stat), ("category", category)) if want)
    ]


def _matches(table: Shaped, i: int, key: dict[str, str], dim: str, want: str) -> bool:
    if dim in key:
        return key[dim] == str(want)
    found = {c.key[DIMS.index(dim)] for row in table.cells for c in [row[i]] if c.key}
    return found <= {str(want)}


MODEL_COLUMNS = [("estimate", "Schatting"), ("std_error", "Standaardfout"), ("p_value", "p-waarde")]
MODEL_FIT_ROWS = ("n", "adj_r2", "cox_snell_r2")  # what the report prints under a model


def shape_model(
    spec: Model, models: pd.DataFrame, fits: pd.DataFrame | None, cfg: RunConfig, year: int
) -> Shaped | None:
    """A model as the report prints it (Tabel 10): one row per term, estimate, standard error and
    p-value with three decimals, then the number of observations and the explained variance."""
    block = models[(models["model_id"] == spec.id) & (models["year"].astype(int) == year)]
    if block.empty:
        return None
    term_labels = cfg.models.term_labels if cfg.models else {}
    fit_labels = cfg.models.fit_labels if cfg.models else {}
    rows, cells = [], []
    for t in block.to_dict("records"):
        rows.append([term_labels.get(t["term"], t["term"])])
        line = []
        for col, _ in MODEL_COLUMNS:
            value = float(t[col])
            text = "< 0,001" if col == "p_value" and value < 0.001 else dutch(value, 3)
            line.append(ShownCell(value, text, "decimal", "", None))
        cells.append(line)
    if fits is not None:
        mine = fits[(fits["model_id"] == spec.id) & (fits["year"].astype(int) == year)]
        for f in mine.to_dict("records"):
            if f["statistic"] not in MODEL_FIT_ROWS:
                continue
            value = float(f["value"])
            text = dutch(value, 0 if f["statistic"] == "n" else 3)
            rows.append([fit_labels.get(f["statistic"], f["statistic"])])
            cells.append(
                [ShownCell(value, text, "decimal", "", None)]
                + [ShownCell(None, NOT_APPLICABLE, "decimal", "", None)] * 2
            )
    report = spec.report
    return Shaped(
        table_id=spec.id,
        sheet=spec.id,
        name=f"Model_{spec.id}",
        title=f"{spec.id} {report}: {spec.title}",
        caption=f"{report}: {spec.title}",
        breakdown=None,
        row_headers=["Parameter"],
        column_headers=[h for _, h in MODEL_COLUMNS],
        row_labels=rows,
        row_keys=[{"term": r[0]} for r in rows],
        column_keys=[{"stat": c} for c, _ in MODEL_COLUMNS],
        cells=cells,
        chart=None,
    )
