"""Checks of the whole configuration of one monitor year, before anything runs.

Two layers: the schema (`schemas.config`: keys, types, required keys, dates), then cross-checks
that no schema can express (every table item, universe, breakdown and model term resolves to a
datamap variable of a configured year or a derived variable; a datamap has no duplicate variables
or columns; comparison years are configured). Each problem is one sentence naming the file, the key
(or the datamap's row and column) and the rule. `innomon check` prints all of them, the warnings
(datamap variables no table uses) and what changed in the questionnaire against the previous year;
`config.load` refuses a configuration with any error (exit 2).
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from innomon import config_files, policy
from innomon.errors import ConfigError
from schemas.vocabulary import DERIVED, PANEL_GROUPS, STATS

# Words of a pandas query or a formula that are not variables.
_NOT_VARIABLES = frozenset({"and", "or", "not", "in", "True", "False", "C", "I", "np", "log", "Q"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
YEAR_KEYS = ("year", "reference_period", "source", "datamap", "fieldwork", "invited", "comparison_years")


@dataclass(frozen=True)
class Problem:
    """One finding: `error` stops a run, `warning` is shown by `innomon check` only."""

    file: str
    key: str
    message: str
    level: str = "error"

    def sentence(self) -> str:
        where = f"{self.file}, {self.key}" if self.key else self.file
        return f"{where}: {self.message}"


@dataclass
class Report:
    """Everything `innomon check` says about one year."""

    year: int
    problems: list[Problem] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]

    def raise_first(self) -> None:
        """A run refuses the configuration: the first error as the message, the count of the rest."""
        errors = self.errors
        if not errors:
            return
        more = f" ({len(errors) - 1} more: run `innomon check --year {self.year}`)" if len(errors) > 1 else ""
        raise ConfigError(errors[0].sentence() + more)


# --- schema errors as sentences ------------------------------------------------------------------


def _model_at(model: Any, loc: tuple[Any, ...]) -> Any:
    """The pydantic model class found by following `loc` from `model` (None when it leaves models)."""
    import typing

    from pydantic import BaseModel

    from schemas.config import TABLE_MODELS

    current: Any = model
    for i, part in enumerate(loc):
        if part in TABLE_MODELS and i and isinstance(loc[i - 1], int):  # a discriminated union's tag
            current = TABLE_MODELS[part]
            continue
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return None
        annotation = fields[part].annotation
        current = None
        for candidate in (annotation, *typing.get_args(annotation)):
            for inner in (candidate, *typing.get_args(candidate)):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    current = inner
    return current


_UNION_MEMBERS = frozenset({"str", "int", "float", "bool", "none"})


def _is_schema_step(part: Any) -> bool:
    """A step pydantic adds to an error's location (a union member such as `str` or
    `function-before[...]`), not a key of the file."""
    return isinstance(part, str) and (part in _UNION_MEMBERS or "[" in part)


def _key_text(loc: tuple[Any, ...], data: Any) -> str:
    """`tables[T13].items[2]` rather than `tables.12.items.2`: list entries with an id say which."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            entry = node[part] if isinstance(node, list) and part < len(node) else None
            ident = entry.get("id") if isinstance(entry, dict) else None
            out += f"[{ident}]" if ident else f"[{part}]"
            node = entry
        elif _is_schema_step(part):
            continue
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _describe(error: dict[str, Any], model: Any) -> str:
    """One clause saying which rule the value broke."""
    kind, loc, value = error["type"], error["loc"], error.get("input")
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        known = sorted(getattr(parent, "model_fields", {}))
        near = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else f"; known keys: {', '.join(known)}"
        return f"unknown key{hint}"
    if kind == "missing":
        if loc and loc[-1] == "invited":
            return "is required (the number of invited firms; write null if it is unknown)"
        return "is required"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        return f"{value!r} is not allowed; {error['msg'][0].lower()}{error['msg'][1:]}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{value!r} is not a whole number (write digits only, no thousands separator or quotes)"
    if kind in ("list_type", "tuple_type"):
        return f"{value!r} is not a list (write [a, b] or one entry per line with '- ')"
    if kind == "string_pattern_mismatch":
        return f"{value!r} does not have the required form ({error['ctx']['pattern']})"
    if kind in ("string_type", "float_type", "bool_type", "dict_type", "model_type", "model_attributes_type"):
        wanted = {
            "string_type": "a text",
            "float_type": "a number",
            "bool_type": "true or false",
            "dict_type": "a mapping of keys",
            "model_type": "a mapping of keys",
            "model_attributes_type": "a mapping of keys",
        }[kind]
        return f"{value!r} is not {wanted}"
    return f"{value!r}: {error['msg']}"


def schema_problems(model: Any, data: Any, file_of: Any) -> list[Problem]:
    """Validate `data` against a pydantic `model`; each error as a Problem in the file `file_of(loc)`."""
    from pydantic import ValidationError

    try:
        model.model_validate(data)
    except ValidationError as exc:
        # An unknown key first: a misspelt key is both unknown and missing, and its suggestion says more.
        errors = sorted(exc.errors(include_url=False), key=lambda err: err["type"] != "extra_forbidden")
        return [
            Problem(file_of(loc), _key_text(loc, data), _describe(err, model))
            for err in errors
            for loc in [_without_tags(err["loc"])]
        ]
    return []


def _without_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A location without the kind a discriminated union inserts (`tables.3.distribution.stats` is
    the operator's `tables.3.stats`)."""
    from schemas.config import TABLE_KINDS

    return tuple(p for i, p in enumerate(loc) if not (p in TABLE_KINDS and i and isinstance(loc[i - 1], int)))


# --- reading the raw files ------------------------------------------------------------------------


def _has(data: Any, loc: tuple[Any, ...]) -> bool:
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return True


def _file_of(cdir: Path, layers: list[tuple[str, dict[str, Any]]], year: int) -> Any:
    """Which file a key came from: the last layer that writes it (or its nearest parent)."""

    def locate(loc: tuple[Any, ...]) -> str:
        keys = tuple(p for p in loc if not _is_schema_step(p))
        for depth in range(len(keys), 0, -1):
            for name, data in reversed(layers):
                if _has(data, keys[:depth]):
                    return str(cdir / name)
        year_file = keys and keys[0] in YEAR_KEYS
        return str(cdir / (f"{year}.yaml" if year_file else "base.yaml"))

    return locate


def read_datamap_text(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _datamap_problems(path: Path, rows: list[dict[str, str]]) -> list[Problem]:
    """Schema of every row, then no variable and no column twice."""
    from schemas.datamap import DatamapRow

    problems: list[Problem] = []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        for p in schema_problems(DatamapRow, {k: v for k, v in row.items() if k is not None}, lambda loc: str(path)):
            problems.append(Problem(str(path), f"row {number}, column {p.key}", p.message))
        if None in row:
            problems.append(Problem(str(path), f"row {number}", "has more cells than the header has columns"))
    for column in ("variable", "column_id"):
        seen: dict[str, int] = {}
        for number, row in enumerate(rows, start=2):
            value = (row.get(column) or "").strip()
            if value in seen:
                problems.append(
                    Problem(
                        str(path),
                        f"row {number}, column {column}",
                        f"{value!r} is already on row {seen[value]}: each {column} may occur once",
                    )
                )
            else:
                seen[value] = number
    return problems


def _names(expression: str) -> set[str]:
    """The variable names a pandas query or a statsmodels formula uses (quoted text removed)."""
    text = re.sub(r"(['\"]).*?\1", " ", expression)
    return {n for n in _NAME.findall(text) if n not in _NOT_VARIABLES and not n.isdigit()}


def _suggest(name: str, known: set[str]) -> str:
    near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return f" (did you mean {near[0]!r}?)" if near else ""


# --- the checks -----------------------------------------------------------------------------------


def check_year(
    year: int, cdir: Path, region: str | None = None, layers: list[tuple[str, dict[str, Any]]] | None = None
) -> Report:
    """Every problem of year `year`'s configuration, and what changed against the previous year.
    `layers`: the files as the loader read them (`config_files.layers`), so they are read once."""
    from schemas.config import ModelsSpec, Outline, TablesSpec, YearConfig

    report = Report(year)
    problems = report.problems
    layers = layers if layers is not None else config_files.layers(cdir, year, region)
    merged = config_files.merged(layers)
    locate = _file_of(cdir, layers, year)
    problems += schema_problems(YearConfig, merged, locate)
    if problems:
        return report  # the cross-checks need a configuration of the right shape

    base_url = merged["source"].get("base_url")
    refusal = policy.source_host_refusal(base_url) if base_url else None
    if refusal:  # checked before anything runs: a refused host is never asked for anything
        problems.append(Problem(locate(("source", "base_url")), "source.base_url", refusal))
    if int(merged["year"]) != year:
        problems.append(Problem(str(cdir / f"{year}.yaml"), "year", f"says {merged['year']}, the file name {year}"))
    close = str(merged["fieldwork"]["close"])
    if not close.startswith(str(year)):
        problems.append(
            Problem(
                locate(("fieldwork", "close")),
                "fieldwork.close",
                f"{close} is not in monitor year {year}: copied from last year's file?",
            )
        )
    configured = config_files.available_years(cdir)
    for y in merged["comparison_years"]:
        if y not in configured:
            problems.append(
                Problem(locate(("comparison_years",)), "comparison_years", f"{y} has no configuration ({y}.yaml)")
            )
        elif y >= year:
            problems.append(Problem(locate(("comparison_years",)), "comparison_years", f"{y} is not before {year}"))
    for key in ("pc4", "sbi"):
        if not (cdir / merged["reference"][key]).exists():
            problems.append(Problem(locate(("reference", key)), f"reference.{key}", "names a file that does not exist"))
    region_cfg, sectors = merged["region"], merged["sectors"]
    if region_cfg.get("model_reference") and region_cfg["model_reference"] not in region_cfg["provinces"]:
        problems.append(
            Problem(locate(("region", "model_reference")), "region.model_reference", "is not one of region.provinces")
        )
    if sectors["model_reference"] not in sectors["order"]:
        problems.append(
            Problem(locate(("sectors", "model_reference")), "sectors.model_reference", "is not one of sectors.order")
        )
    for key in ("by_section", "by_division"):
        for code, group in sectors.get(key, {}).items():
            if group not in sectors["order"]:
                problems.append(
                    Problem(locate(("sectors", key, code)), f"sectors.{key}.{code}", f"{group!r} not in sectors.order")
                )

    # The datamaps of every configured year: their own checks, and the variables tables may name.
    variables_by_year: dict[int, dict[str, dict[str, str]]] = {}
    for y in configured:
        try:
            other = config_files.read_yaml(cdir / f"{y}.yaml") if y != year else None
            raw = merged if other is None else config_files.deep_merge(layers[0][1], other)
        except ConfigError:
            continue
        path = cdir / str(raw.get("datamap", ""))
        if not raw.get("datamap") or not path.is_file():
            if y == year:
                problems.append(Problem(locate(("datamap",)), "datamap", f"names {path}, which does not exist"))
            continue
        rows = read_datamap_text(path)
        if y == year or y in merged["comparison_years"]:
            problems += _datamap_problems(path, rows)
        variables_by_year[y] = {r.get("variable", ""): r for r in rows}
    known = set(DERIVED).union(*[set(v) for v in variables_by_year.values()] or [set()])

    tables_path = cdir / merged["tables_file"]
    models_path = cdir / merged["models_file"]
    tables = _spec(tables_path, TablesSpec, problems, locate)
    models = _spec(models_path, ModelsSpec, problems, locate)
    used: set[str] = set()
    if tables is not None:
        newest = {name: row for y in sorted(variables_by_year) for name, row in variables_by_year[y].items()}
        used |= _table_problems(tables, tables_path, known, problems, newest)
    if models is not None:
        used |= _model_problems(models, models_path, known, problems)
    if merged.get("report_file"):
        outline_path = cdir / merged["report_file"]
        outline = _spec(outline_path, Outline, problems, locate)
        if outline is not None:
            problems += _outline_problems(outline, outline_path, tables, models)
    for name in merged.get("constant_sum", {}).get("items", []):
        if name not in known:
            problems.append(
                Problem(locate(("constant_sum", "items")), "constant_sum.items", f"{name!r} is in no datamap")
            )
    for name in merged["thresholds"].get("dominance_items", []):  # a typo would switch the rule off
        if name not in known:
            problems.append(
                Problem(
                    locate(("thresholds", "dominance_items")),
                    "thresholds.dominance_items",
                    f"{name!r} is in no datamap{_suggest(name, known)}",
                )
            )
    for name in merged.get("breaks", {}):
        if name not in known:
            problems.append(
                Problem(locate(("breaks", name)), f"breaks.{name}", f"{name!r} is in no datamap{_suggest(name, known)}")
            )

    current = variables_by_year.get(year, {})
    unused = [
        name
        for name, row in current.items()
        if row.get("type") not in ("id", "text", "datetime") and row.get("block") != "meta" and name not in used
    ]
    if unused:
        problems.append(
            Problem(
                str(cdir / merged["datamap"]),
                "",
                f"{len(unused)} variable(s) that no table or model names: {', '.join(unused)} (expected for "
                "items the derived variables are made from, e.g. delivery_focus for orientation; a new item "
                "needs its place in tables.yaml)",
                level="warning",
            )
        )
    previous = max((y for y in variables_by_year if y < year), default=None)
    if previous is not None:
        report.changes = questionnaire_changes(variables_by_year[previous], current, previous, year)
    return report


def _spec(path: Path, model: Any, problems: list[Problem], locate: Any) -> dict[str, Any] | None:

    if not path.is_file():
        problems.append(
            Problem(locate((path.stem + "_file",)), f"{path.stem}_file", f"names {path}, which does not exist")
        )
        return None
    data = config_files.read_yaml(path)
    found = schema_problems(model, data, lambda loc: str(path))
    problems += found
    return None if found else data


def _stem(row: dict[str, str]) -> str:
    """The question of a battery item: its text before the item's own label (`... - Blockchain`)."""
    return row.get("question_text", "").rsplit(" - ", 1)[0].strip()


def _stray_item(table: dict[str, Any], rows: dict[str, dict[str, str]]) -> tuple[str, str] | None:
    """(item, the others' question) when one coded answer item of a table belongs to another question
    than all the table's other coded items: typically an item pasted into the wrong table."""
    coded = [
        rows[name]
        for entry in table.get("items") or []
        if (name := entry if isinstance(entry, str) else entry["item"]) in rows
        and rows[name].get("type") in ("single", "binary", "likert")
    ]
    stems = [_stem(r) for r in coded]
    if len(coded) < 3:
        return None
    for row, stem in zip(coded, stems, strict=True):
        others = {s for s in stems if s != stem}
        if stems.count(stem) == 1 and len(others) == 1:
            return row["variable"], others.pop()
    return None


def _table_problems(
    spec: dict[str, Any], path: Path, known: set[str], problems: list[Problem], rows: dict[str, dict[str, str]]
) -> set[str]:
    """Every name a table uses resolves, and a table's answer items belong to one question; returns
    the names used. `rows`: each datamap variable's row (of the newest configured year that has it)."""
    used: set[str] = set()
    universes = spec["universes"]
    for name, query in universes.items():
        for var in _names(query):
            used.add(var)
            if var not in known:
                problems.append(
                    Problem(
                        str(path), f"universes.{name}", f"uses {var!r}, which is in no datamap{_suggest(var, known)}"
                    )
                )
    groups = known | set(spec.get("derived_categories", {}))
    problems += _duplicate_ids(spec["tables"], "tables", "table", path)
    for table in spec["tables"]:
        tid = table["id"]
        kind = table.get("kind", "distribution")
        universe = table.get("universe")
        if universe is not None and universe not in universes:
            problems.append(
                Problem(
                    str(path),
                    f"tables[{tid}].universe",
                    f"{universe!r} is not one of universes ({', '.join(universes)})"
                    + _suggest(universe, set(universes)),
                )
            )
        if kind == "distribution":
            for key in ("universe", "items", "stats"):
                if not table.get(key):
                    problems.append(Problem(str(path), f"tables[{tid}].{key}", "is required for a table of figures"))
        entries = list(table.get("items") or []) + ([table["item"]] if table.get("item") else [])
        for i, entry in enumerate(entries):
            name = entry if isinstance(entry, str) else entry["item"]
            key = f"tables[{tid}].items[{i}]" if i < len(table.get("items") or []) else f"tables[{tid}].item"
            used.add(name)
            if name not in groups:
                problems.append(
                    Problem(
                        str(path),
                        key,
                        f"{name!r} is neither a datamap variable of a configured year nor a derived variable"
                        f"{_suggest(name, groups)}",
                    )
                )
            if isinstance(entry, dict):
                for var in _names(entry["universe"]):
                    used.add(var)
                    if var not in known:
                        problems.append(
                            Problem(
                                str(path),
                                f"{key}.universe",
                                f"uses {var!r}, which is in no datamap{_suggest(var, known)}",
                            )
                        )
        stray = _stray_item(table, rows)
        if stray:
            problems.append(
                Problem(
                    str(path),
                    f"tables[{tid}].items",
                    f"{stray[0]!r} answers another question than the table's other items ({stray[1]!r}): "
                    "an item of another table?",
                )
            )
        for i, name in enumerate(table.get("by") or []):
            if name not in groups | PANEL_GROUPS:
                problems.append(
                    Problem(
                        str(path),
                        f"tables[{tid}].by[{i}]",
                        f"{name!r} is no variable to break down by{_suggest(name, groups)}",
                    )
                )
        if "pct_top" in (table.get("stats") or []) and table.get("top") is None:
            problems.append(Problem(str(path), f"tables[{tid}].top", "is required with the statistic pct_top"))
        chart = table.get("chart")
        if chart and chart["stat"] not in (table.get("stats") or []):
            problems.append(
                Problem(str(path), f"tables[{tid}].chart.stat", f"{chart['stat']!r} is not one of the table's stats")
            )
        problems += _layout_problems(table, path)
        if kind == "key_figures" and not table.get("figures"):
            problems.append(Problem(str(path), f"tables[{tid}].figures", "is required for key figures"))
        if kind == "weighted_comparison":
            ids = {t["id"] for t in spec["tables"]}
            for i, ref in enumerate(table.get("indicators") or []):
                if ref not in ids:
                    problems.append(
                        Problem(
                            str(path), f"tables[{tid}].indicators[{i}]", f"{ref!r} is no table id{_suggest(ref, ids)}"
                        )
                    )
            if not table.get("indicators"):
                problems.append(
                    Problem(str(path), f"tables[{tid}].indicators", "is required to compare weighted figures")
                )
    return used


def _layout_problems(table: dict[str, Any], path: Path) -> list[Problem]:
    """A layout gives each figure its own cell: every dimension that varies within the table (its
    items, its statistics, the groups of a breakdown-only table) runs down the rows or across the
    columns. The data-dependent rest (categories) is checked when the sheet is laid out."""
    out: list[Problem] = []
    tid = table["id"]
    names = [e if isinstance(e, str) else e["item"] for e in table.get("items") or []]
    if table.get("by_layout") and not table.get("by"):
        out.append(Problem(str(path), f"tables[{tid}].by_layout", "needs `by`: there is no breakdown to lay out"))
    for key in ("layout", "by_layout"):
        layout = table.get(key)
        if not layout:
            continue
        dims = set(layout.get("rows") or []) | set(layout.get("columns") or [])
        if table.get("kind", "distribution") == "distribution":
            need = {
                "item": len(names) > 1,
                "stat": len(table.get("stats") or []) > 1,
                "group": key == "by_layout" or bool(table.get("by_only")),
            }
            for dim, varies in need.items():
                if varies and dim not in dims:
                    out.append(
                        Problem(
                            str(path),
                            f"tables[{tid}].{key}",
                            f"the table has several values of {dim}: put {dim} in rows or columns",
                        )
                    )
            for name in layout.get("item_labels") or {}:
                if name not in names:
                    out.append(
                        Problem(str(path), f"tables[{tid}].{key}.item_labels.{name}", "is not an item of the table")
                    )
            for name in layout.get("formats") or {}:
                if name not in names and name not in STATS:
                    out.append(
                        Problem(
                            str(path),
                            f"tables[{tid}].{key}.formats.{name}",
                            "is neither an item nor a statistic of the table",
                        )
                    )
    return out


def _outline_problems(
    outline: dict[str, Any], path: Path, tables: dict[str, Any] | None, models: dict[str, Any] | None
) -> list[Problem]:
    """The report draft's outline names tables, charts and models that exist, breakdowns its tables
    have, a Word template that is there, and sentence templates Jinja2 can read."""
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import SandboxedEnvironment

    out: list[Problem] = []
    template = path.parent / outline["template"]
    if not template.exists():
        out.append(Problem(str(path), "template", f"{template} does not exist"))
    specs = {t["id"]: t for t in (tables or {}).get("tables", [])}
    model_ids = {m["id"] for m in (models or {}).get("models", [])}
    env = SandboxedEnvironment()
    for c, chapter in enumerate(outline["chapters"]):
        for s, section in enumerate(chapter["sections"]):
            for b, block in enumerate(section["content"]):
                key = f"chapters[{c}].sections[{s}].content[{b}]"
                if block.get("table") and block["table"] not in specs:
                    out.append(Problem(str(path), f"{key}.table", f"{block['table']!r} is not a table of tables.yaml"))
                elif block.get("breakdown") and block["breakdown"] not in (specs[block["table"]].get("by") or []):
                    out.append(
                        Problem(
                            str(path), f"{key}.breakdown", f"{block['breakdown']!r} is not a `by` of {block['table']}"
                        )
                    )
                if block.get("chart") and not (specs.get(block["chart"]) or {}).get("chart"):
                    out.append(Problem(str(path), f"{key}.chart", f"{block['chart']!r} is not a table with a chart"))
                if block.get("model") and block["model"] not in model_ids:
                    out.append(Problem(str(path), f"{key}.model", f"{block['model']!r} is not a model of models.yaml"))
                if block.get("text"):
                    try:
                        env.parse(block["text"])
                    except TemplateSyntaxError as e:
                        out.append(Problem(str(path), f"{key}.text", f"is not a valid template: {e.message}"))
    return out


def _duplicate_ids(entries: list[dict[str, Any]], key: str, noun: str, path: Path) -> list[Problem]:
    """Each id once: a second entry with the same id would silently shadow the first."""
    seen: set[str] = set()
    found = []
    for entry in entries:
        if entry["id"] in seen:
            found.append(Problem(str(path), f"{key}[{entry['id']}].id", f"occurs twice: each {noun} id may occur once"))
        seen.add(entry["id"])
    return found


def _model_problems(spec: dict[str, Any], path: Path, known: set[str], problems: list[Problem]) -> set[str]:
    used: set[str] = set()
    problems += _duplicate_ids(spec["models"], "models", "model", path)
    for model in spec["models"]:
        mid = model["id"]
        if "~" not in model["formula"]:
            problems.append(Problem(str(path), f"models[{mid}].formula", "has no '~' between outcome and terms"))
            continue
        for name in sorted(_names(model["formula"])):
            used.add(name)
            if name not in known:
                problems.append(
                    Problem(
                        str(path),
                        f"models[{mid}].formula",
                        f"uses {name!r}, neither a datamap nor a derived variable{_suggest(name, known)}",
                    )
                )
    for i, name in enumerate(spec.get("binary", [])):
        used.add(name)
        if name not in known:
            problems.append(Problem(str(path), f"binary[{i}]", f"{name!r} is in no datamap{_suggest(name, known)}"))
    return used


def questionnaire_changes(
    before: dict[str, dict[str, str]], after: dict[str, dict[str, str]], y0: int, y1: int
) -> list[str]:
    """What an operator reviews each spring: items added, dropped, renumbered or recoded."""
    lines = [f"+ {v} ({after[v]['column_id']}): new in {y1}" for v in after if v not in before]
    lines += [f"- {v} ({before[v]['column_id']}): asked in {y0}, not in {y1}" for v in before if v not in after]
    for v in after:
        if v not in before:
            continue
        a, b = before[v], after[v]
        if a.get("column_id") != b.get("column_id"):
            lines.append(f"~ {v}: column {a.get('column_id')} in {y0}, {b.get('column_id')} in {y1}")
        if a.get("codes") != b.get("codes") or a.get("type") != b.get("type"):
            lines.append(
                f"~ {v}: answers {a.get('type')} {a.get('codes')!r} in {y0}, {b.get('type')} {b.get('codes')!r} in {y1}"
            )
    return lines
