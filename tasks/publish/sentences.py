"""Factual sentences of the report draft, from Jinja2 templates the authors edit in
`configs/report/outline.yaml`.

A template asks for figures by name (`fig('T08', item='barrier_time', stat='pct_top')`, `top('T08',
3, stat='pct_top')`, `terms('M1')`) and prints them as the report does. Three rules hold whatever
a template says:
- a figure that is not published (suppressed [c], not asked [x], missing) is never printed: the
  sentence that asks for it is left out of the draft, and the omission is recorded;
- a change between years is worded as a rise or fall only where the figure's `sig` is `s`;
  otherwise the sentence says the figure is comparable;
- every figure a sentence prints is recorded beside it (`Rendered.figures`), so a test (and an
  author) can trace each number back to `data/tables.csv` or `data/models.csv`.

Jinja2's sandbox renders the templates: configuration text never reaches Python objects it should
not.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from schemas.config import RunConfig, TableBase
from tasks.publish.labels import Labels
from tasks.publish.layout import by_table, display, display_format, dutch

ALPHA = 0.05


class Unpublished(Exception):
    """A template asked for a figure that is not published: the sentence is left out."""


@dataclass
class Rendered:
    """One rendered template: its text (None when left out), the figures it printed, and why it was
    left out."""

    template: str
    text: str | None
    figures: list[dict[str, Any]] = field(default_factory=list)
    omitted: str | None = None


class _Recorder:
    def __init__(self) -> None:
        self.figures: list[dict[str, Any]] = []

    def add(self, entry: dict[str, Any]) -> None:
        if entry not in self.figures:
            self.figures.append(entry)


class Fig:
    """A published figure as a template sees it: `text` (as printed), `label`, `year`, `prev` (the
    same figure a year earlier), `trend` (the change, worded by its significance)."""

    def __init__(self, row: dict[str, Any], spec: TableBase, ctx: Context) -> None:
        self.row, self.spec, self.ctx = row, spec, ctx
        self.value = float(row["value"])
        self.year = int(row["year"])
        self.fmt = display_format(spec.layout, str(row["item"]), str(row["stat"]))

    def _record(self, trend: bool = False) -> None:
        self.ctx.recorder.add(
            {
                "source": "tables",
                "table_id": self.spec.id,
                "year": self.year,
                "group": str(self.row["group"]),
                "item": str(self.row["item"]),
                "category": str(self.row["category"]),
                "stat": str(self.row["stat"]),
                "format": self.fmt,
                "printed": display(self.value, self.fmt),
                "trend": trend,
            }
        )

    @property
    def text(self) -> str:
        self._record()
        return display(self.value, self.fmt)

    @property
    def label(self) -> str:
        item, category = str(self.row["item"]), str(self.row["category"])
        table = self.ctx.tables[self.spec.id]
        if table["item"].nunique() == 1 and table["category"].nunique() > 1:  # a distribution (Tabel 1)
            return self.ctx.labels.category(item, category)
        item_labels = self.spec.layout.item_labels if self.spec.layout else {}
        return item_labels.get(item) or self.ctx.labels.item(item)

    @property
    def prev(self) -> Fig:
        return self.ctx.fig(
            self.spec.id,
            item=str(self.row["item"]),
            category=str(self.row["category"]),
            stat=str(self.row["stat"]),
            group=str(self.row["group"]),
            year=self.ctx.previous_year(self.year),
        )

    @property
    def trend(self) -> str:
        """`gestegen van 41% naar 47%` or `gedaald van ...` where the change is significant (`sig`
        is `s`); else `met 43% vergelijkbaar met 2022 (41%)`: both years' figures of the subject the
        sentence names, so it never leans on a figure of another sentence."""
        before = self.prev
        if str(self.row.get("sig") or "") == "s" and before.value != self.value:
            self._record(trend=True)
            before._record()
            word = "gestegen" if self.value > before.value else "gedaald"
            return f"{word} van {display(before.value, before.fmt)} naar {display(self.value, self.fmt)}"
        self._record()
        before._record()
        now = display(self.value, self.fmt)
        return f"met {now} vergelijkbaar met {before.year} ({display(before.value, before.fmt)})"

    def __str__(self) -> str:
        return self.text


class Term:
    """A model coefficient significant at 5%: `label`, `direction` (positief/negatief), `estimate`
    and `p` as printed."""

    def __init__(self, row: dict[str, Any], label: str, ctx: Context) -> None:
        self.row, self.label, self.ctx = row, label, ctx
        self.direction = "positief" if float(row["estimate"]) > 0 else "negatief"

    def _record(self, stat: str, printed: str) -> None:
        self.ctx.recorder.add(
            {
                "source": "models",
                "model_id": str(self.row["model_id"]),
                "year": int(self.row["year"]),
                "term": str(self.row["term"]),
                "stat": stat,
                "printed": printed,
            }
        )

    @property
    def estimate(self) -> str:
        text = dutch(float(self.row["estimate"]), 3)
        self._record("estimate", text)
        return text

    @property
    def p(self) -> str:
        p = float(self.row["p_value"])
        text = "< 0,001" if p < 0.001 else dutch(p, 3)
        self._record("p_value", text)
        return text


class Context:
    """The figures of one release and the helpers templates call."""

    def __init__(
        self, cells: pd.DataFrame, models: pd.DataFrame, cfg: RunConfig, labels: Labels, recorder: _Recorder
    ) -> None:
        self.cells = cells.assign(category=cells["category"].fillna("").astype(str), year=cells["year"].astype(int))
        self.models = models
        self.cfg, self.labels, self.recorder = cfg, labels, recorder
        self.year = cfg.year
        self.specs = {s.id: s for s in cfg.table_specs}
        self.term_labels = cfg.models.term_labels if cfg.models else {}
        self.tables = by_table(self.cells)  # each sentence asks for a few figures of one table
        self.years = sorted({int(y) for y in self.cells["year"]})

    def previous_year(self, year: int) -> int:
        earlier = [y for y in self.years if y < year]
        if not earlier:
            raise Unpublished(f"no year before {year}")
        return earlier[-1]

    def _rows(self, table: str, **keys: Any) -> pd.DataFrame:
        if table not in self.specs:
            raise KeyError(f"table {table!r} is not in tables.yaml")
        block = self.tables.get(table, self.cells.iloc[:0])
        for key, value in keys.items():
            if value is not None:
                block = block[block[key].astype(str) == str(value)]
        return block

    def fig(
        self,
        table: str,
        item: str | None = None,
        category: str | None = None,
        stat: str | None = None,
        group: str = "all",
        year: int | None = None,
    ) -> Fig:
        """The one figure that matches; Unpublished when it is suppressed, not asked or missing."""
        rows = self._rows(table, item=item, category=category, stat=stat, group=group, year=year or self.year)
        if len(rows) != 1:
            if rows.empty:
                raise Unpublished(f"{table} has no figure {item}/{category}/{stat} in {year or self.year}")
            raise ValueError(f"{table}: {len(rows)} figures match {item}/{category}/{stat}; name more of it")
        row = rows.iloc[0].to_dict()
        if row["value"] is None or (isinstance(row["value"], float) and math.isnan(row["value"])):
            raise Unpublished(f"{table} {item}/{category}/{stat} in {row['year']} is not published ({row['flag']})")
        return Fig(row, self.specs[table], self)

    def ranked(
        self,
        table: str,
        n: int = 3,
        stat: str | None = None,
        category: str | None = None,
        largest: bool = True,
        exclude: tuple[str, ...] = (),
    ) -> list[Fig]:
        """The `n` largest (or smallest) published items of a battery in the current year, group `all`
        (`exclude`: items that are no part of the battery, e.g. T07's "at least one")."""
        rows = self._rows(table, stat=stat, category=category, group="all", year=self.year)
        rows = rows[rows["value"].notna() & ~rows["item"].isin(list(exclude))]
        order = rows.sort_values("value", ascending=not largest, kind="mergesort")
        return [Fig(r, self.specs[table], self) for r in order.head(n).to_dict("records")]

    def terms(self, model: str, sign: str | None = None) -> list[Term]:
        """The model's coefficients with p < 0.05 (not the intercept), largest |t| first."""
        rows = self.models[(self.models["model_id"] == model) & (self.models["year"].astype(int) == self.year)]
        rows = rows[(rows["p_value"] < ALPHA) & (rows["term"] != "Intercept")]
        if sign == "positief":
            rows = rows[rows["estimate"] > 0]
        elif sign == "negatief":
            rows = rows[rows["estimate"] < 0]
        rows = rows.assign(t=(rows["estimate"] / rows["std_error"]).abs()).sort_values("t", ascending=False)
        return [Term(r, self.term_labels.get(r["term"], r["term"]), self) for r in rows.to_dict("records")]


def _lower_first(text: Any) -> str:
    """`Gebrek aan tijd` -> `gebrek aan tijd` (not `IoT`, `O&O`: a word in capitals keeps them)."""
    text = str(text)
    return text[0].lower() + text[1:] if len(text) > 1 and text[1].islower() else text


SPEAKER = re.compile(r"\b(ik|wij|we|mijn|onze|ons|u|uw)\b", re.IGNORECASE)


def _in_sentence(label: Any) -> str:
    """A label as it reads inside a Dutch sentence: a short label in lower case (`gebrek aan tijd`);
    one that is itself a statement or question of the questionnaire (`Uit principe wil ik geen ...`,
    `Heeft u ...?`) quoted as such, since it cannot be read as part of the sentence around it."""
    text = str(label).strip()
    if text.endswith("?") or SPEAKER.search(text):
        return f"‘{text.rstrip('.')}’"
    return _lower_first(text)


def _listing(entries: list[Any], with_value: bool = True) -> str:
    """`a (25%), b (20%) en c (20%)`: a Dutch enumeration of figures (label and value) or texts."""
    parts = []
    for e in entries:
        if isinstance(e, Fig):
            parts.append(f"{_in_sentence(e.label)} ({e.text})" if with_value else _in_sentence(e.label))
        elif isinstance(e, Term):
            parts.append(f"{_lower_first(e.label)} ({e.direction})")
        else:
            parts.append(_lower_first(e))
    if not parts:
        raise Unpublished("nothing to list")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " en " + parts[-1]


def render_all(
    templates: list[str], cells: pd.DataFrame, models: pd.DataFrame, cfg: RunConfig, labels: Labels
) -> list[Rendered]:
    """Each template rendered against the release's figures, in order."""
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters["lc"] = _lower_first
    env.filters["listing"] = _listing
    ctx = Context(cells, models, cfg, labels, _Recorder())  # the figures, prepared once for every template
    env.globals.update(
        fig=ctx.fig,
        top=lambda table, n=3, stat=None, category=None, exclude=(): ctx.ranked(
            table, n, stat, category, True, tuple(exclude)
        ),
        bottom=lambda table, n=3, stat=None, category=None, exclude=(): ctx.ranked(
            table, n, stat, category, False, tuple(exclude)
        ),
        terms=ctx.terms,
        year=ctx.year,
        previous_year=lambda: ctx.previous_year(ctx.year),
    )
    out = []
    for source in templates:
        recorder = ctx.recorder = _Recorder()  # what this template prints
        try:
            # YAML's folded lines become single spaces; the narrow no-break space in 11 427 stays.
            text = re.sub(r"[ \t\r\n]+", " ", env.from_string(source).render()).strip()
            out.append(Rendered(source, text, recorder.figures))
        except Unpublished as why:
            out.append(Rendered(source, None, [], omitted=str(why)))
    return out
