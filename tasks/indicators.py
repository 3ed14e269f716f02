"""The indicator engine: evaluates every table spec of `configs/tables.yaml` for every year.

One engine, no per-table functions: a table is a universe, an explicit item list, statistics and
breakdowns. Output is the tidy cell table of SPEC section 5 (`data/tables.csv`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from innomon.errors import ConfigError
from innomon.numtext import number_text

COLUMNS = ["table_id", "year", "group", "item", "category", "stat", "value", "n", "ci_low", "ci_high", "flag", "sig"]
SHARE_STATS = {"pct", "pct_top"}
WEIGHT = "_weight"  # the raking weight of a respondent, attached for `weighting.apply_to_tables`


def wilson(count: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson interval of a share, in percent."""
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(count, n, alpha=1 - confidence, method="wilson")
    return 100 * float(low), 100 * float(high)


def t_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """t interval of a mean (NaN bounds for fewer than 2 values)."""
    n = len(values)
    mean = float(values.mean())
    if n < 2:
        return math.nan, math.nan
    se = float(values.std(ddof=1)) / math.sqrt(n)
    half = _t_quantile(0.5 + confidence / 2, n - 1) * se
    return mean - half, mean + half


@lru_cache(maxsize=4096)
def _t_quantile(q: float, df: int) -> float:
    """Student t quantile; cached, as the same few bases recur in every table."""
    from scipy import stats as sps  # imported where used: a cached run of the CLI never needs scipy

    return float(sps.t.ppf(q, df))


def two_proportion_p(c1: float, n1: float, c2: float, n2: float) -> float:
    """Two-sided p-value of the pooled two-proportion z-test."""
    pooled = (c1 + c2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (c1 / n1 - c2 / n2) / se
    from scipy import stats as sps

    return float(2 * sps.norm.sf(abs(z)))


def category_keys(item: str, spec: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    """Categories of an item: explicit in the spec, derived keys from config, or datamap codes."""
    cats = spec.get("categories", "all")
    if isinstance(cats, list):
        return [str(c) for c in cats]
    if item in ctx["derived_categories"]:
        return list(ctx["derived_categories"][item])
    return list(ctx["codes"].get(item, {}).keys())


def _conv_key(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _as_key(series: pd.Series) -> pd.Series:
    """Values as category keys: codes `1.0` -> `1`, text unchanged (numeric columns in bulk)."""
    if pd.api.types.is_float_dtype(series) or pd.api.types.is_integer_dtype(series):
        return pd.Series(number_text(series, None), index=series.index, dtype=object)
    return series.map(_conv_key)


def _groups(
    frame: pd.DataFrame, by: list[str], ctx: dict[str, Any], by_only: bool = False
) -> list[tuple[str, str, pd.Series]]:
    """(dimension, group label, mask) for `all` (unless `by_only`) and every key of every breakdown."""
    out = [] if by_only else [("", "all", pd.Series(True, index=frame.index))]
    for dim in by:
        if dim not in frame.columns:
            continue
        keys = _as_key(frame[dim])
        for key in ctx["derived_categories"].get(dim) or sorted(keys.dropna().unique()):
            out.append((dim, f"{dim}={key}", keys == str(key)))
    return out


def _universe_mask(frame: pd.DataFrame, year: int, expr: str, ctx: dict[str, Any]) -> pd.Series:
    """Rows of a year's frame in a universe expression, evaluated once per year and expression
    (`DataFrame.eval` costs more than the counting it selects for)."""
    cache = ctx.setdefault("_masks", {})
    key = (year, expr)
    if key not in cache:
        cache[key] = frame.eval(expr).astype(bool)
    return cache[key]


def evaluate_table(spec: dict[str, Any], frames: dict[int, pd.DataFrame], ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """All cells of one table spec over every year in `frames` (current year first)."""
    conf = ctx["confidence"]
    rows: list[dict[str, Any]] = []
    for entry in spec["items"]:
        item = entry if isinstance(entry, str) else entry["item"]
        item_universe = None if isinstance(entry, str) else entry.get("universe")
        for stat in spec["stats"]:
            for year, frame in frames.items():
                asked = item in frame.columns and frame[item].notna().any()
                if spec.get("by_only"):  # a table that exists only as a breakdown needs its dimension
                    asked = asked and any(d in frame.columns and frame[d].notna().any() for d in spec["by"])
                # Only the columns this cell block reads: filtering the whole frame is the cost.
                weighted = bool(ctx.get("apply_weights")) and WEIGHT in frame.columns
                extra = [WEIGHT] if weighted else []
                cols = list(dict.fromkeys([item, *[d for d in spec.get("by", []) if d in frame.columns], *extra]))
                universe = frame[cols] if item in frame.columns else frame
                exprs = tuple(e for e in (ctx["universes"].get(spec.get("universe", "valid")), item_universe) if e)
                if asked:
                    mask = None
                    for expr in exprs:
                        m = _universe_mask(frame, year, expr, ctx)
                        mask = m if mask is None else mask & m
                    if mask is not None:
                        universe = universe[mask]
                if stat == "pct":
                    cats = category_keys(item, spec, ctx)
                elif stat == "pct_top":
                    cats = [str(spec["top"])]
                else:
                    cats = [""]
                if not asked:
                    for cat in cats:
                        rows.append(_cell(spec, year, "all", "", item, cat, stat, None, None, None, None, "x"))
                    continue
                flag = "b" if year in ctx["breaks"].get(item, []) else ""
                column = universe[item]
                present = column.notna().to_numpy()
                wts = universe[WEIGHT].to_numpy(dtype=float) if weighted else None
                if wts is not None:  # a respondent the weighting could not place is in no weighted figure
                    present = present & (wts > 0)
                if stat == "mean":
                    numbers = column.to_numpy(dtype=float, na_value=np.nan)
                else:  # category codes once per block; a group's counts are then one bincount
                    codes, uniques = pd.factorize(_as_key(column).to_numpy(dtype=object), use_na_sentinel=True)
                    position = {str(u): k for k, u in enumerate(uniques)}
                by, by_only = spec.get("by", []), bool(spec.get("by_only"))
                gkey = (year, exprs, tuple(by), by_only)  # same universe rows -> same group masks
                groups = ctx.setdefault("_groups", {})
                if gkey not in groups:
                    groups[gkey] = [(d, lab, m.to_numpy()) for d, lab, m in _groups(universe, by, ctx, by_only)]
                for dim, label, mask in groups[gkey]:
                    sel = mask & present
                    n = int(sel.sum())
                    if wts is not None:
                        rows.extend(
                            _weighted_cells(
                                spec,
                                year,
                                label,
                                dim,
                                item,
                                cats,
                                stat,
                                sel,
                                wts,
                                numbers if stat == "mean" else None,
                                None if stat == "mean" else (codes, position),
                                flag,
                                conf,
                            )
                        )
                        continue
                    if stat == "mean":
                        vals = numbers[sel]
                    else:
                        counts = np.bincount(codes[sel & (codes >= 0)], minlength=len(uniques))
                    for cat in cats:
                        if stat == "mean":
                            value = float(vals.mean()) if n else None
                            lo, hi = t_interval(vals, conf) if n else (None, None)
                            count = None
                        else:
                            count = int(counts[position[cat]]) if cat in position else 0
                            value = 100.0 * count / n if n else None
                            lo, hi = None, None  # Wilson bounds are filled in below, in one call
                        cell = _cell(spec, year, label, dim, item, cat, stat, value, n, lo, hi, flag, count)
                        cell["distribution"] = stat == "pct" and not isinstance(spec.get("categories"), list)
                        rows.append(cell)
    _fill_wilson(rows, conf)
    return rows


def _weighted_cells(
    spec: dict[str, Any],
    year: int,
    label: str,
    dim: str,
    item: str,
    cats: list[str],
    stat: str,
    sel: np.ndarray,
    wts: np.ndarray,
    numbers: np.ndarray | None,
    coded: tuple[np.ndarray, dict[str, int]] | None,
    flag: str,
    conf: float,
) -> list[dict[str, Any]]:
    """The cells of one group with the raking weights (`weighting.apply_to_tables`): weighted shares
    and means; `n` stays the respondents counted; intervals and the year-over-year test use Kish's
    effective base (sum w)^2 / sum w^2, an approximation (R02 gives the design-based intervals)."""
    w = wts[sel]
    n = int(sel.sum())
    total = float(w.sum())
    n_eff = total**2 / float((w**2).sum()) if n else 0.0
    out = []
    for cat in cats:
        if stat == "mean":
            x = numbers[sel]  # type: ignore[index]
            value = float((w * x).sum() / total) if n else None
            lo = hi = None
            if n >= 2 and value is not None:
                sd = math.sqrt(float((w * (x - value) ** 2).sum() / total) * n / (n - 1))
                half = _t_quantile(0.5 + conf / 2, max(round(n_eff) - 1, 1)) * sd / math.sqrt(n_eff)
                lo, hi = value - half, value + half
            cell = _cell(spec, year, label, dim, item, cat, stat, value, n, lo, hi, flag, None)
        else:
            codes, position = coded  # type: ignore[misc]
            hit = sel & (codes == position[cat]) if cat in position else np.zeros_like(sel)
            share = float(wts[hit].sum()) / total if n else None
            value = None if share is None else 100.0 * share
            count = None if share is None else share * n_eff
            cell = _cell(spec, year, label, dim, item, cat, stat, value, n, None, None, flag, count)
            cell["base"] = n_eff
        cell["distribution"] = stat == "pct" and not isinstance(spec.get("categories"), list)
        out.append(cell)
    return out


def _fill_wilson(rows: list[dict[str, Any]], confidence: float) -> None:
    """Wilson bounds of every share cell with a base, in one vectorised statsmodels call (the same
    arithmetic as one call per cell, element by element, at a fraction of the cost)."""
    idx = [i for i, r in enumerate(rows) if r["stat"] in SHARE_STATS and r["n"] and r["value"] is not None]
    if not idx:
        return
    counts = np.array([rows[i]["count"] for i in idx], dtype=float)  # weighted: effective counts
    bases = np.array([rows[i].get("base") or rows[i]["n"] for i in idx], dtype=float)
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(counts, bases, alpha=1 - confidence, method="wilson")
    for i, lo, hi in zip(idx, np.asarray(low), np.asarray(high), strict=True):
        rows[i]["ci_low"], rows[i]["ci_high"] = 100 * float(lo), 100 * float(hi)


def _cell(
    spec: dict[str, Any],
    year: int,
    group: str,
    dim: str,
    item: str,
    cat: str,
    stat: str,
    value: float | None,
    n: int | None,
    lo: float | None,
    hi: float | None,
    flag: str,
    count: int | None = None,
) -> dict[str, Any]:
    return {
        "table_id": spec["id"],
        "year": year,
        "group": group,
        "dim": dim,
        "item": item,
        "category": cat,
        "stat": stat,
        "value": value,
        "n": n,
        "ci_low": lo,
        "ci_high": hi,
        "flag": flag,
        "sig": "",
        "count": count,
    }


def key_figures(spec: dict[str, Any], facts: dict[int, dict[str, Any]], ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """K01-style figures from the run's counts (invited, responses, valid, response rate, repeats)."""
    rows = []
    conf = ctx["confidence"]
    for figure in spec["figures"]:
        name = figure["item"]
        for year, f in facts.items():
            num = f.get(figure["numerator"]) if figure.get("numerator") else None
            den = f.get(figure.get("denominator", "")) if figure.get("denominator") else None
            if figure["stat"] == "n":
                value = f.get(figure["source"])
                rows.append(
                    _cell(
                        spec,
                        year,
                        "all",
                        "",
                        name,
                        "",
                        "n",
                        None if value is None else float(value),
                        None if value is None else int(value),
                        None,
                        None,
                        "" if value is not None else "x",
                    )
                )
            else:
                if num is None or not den:
                    rows.append(_cell(spec, year, "all", "", name, "", "pct", None, None, None, None, "x"))
                    continue
                if num > den:  # e.g. more valid responses than firms invited: the config is wrong
                    raise ConfigError(
                        f"{year}: {figure['numerator']} ({num}) exceeds {figure['denominator']} ({den}); "
                        f"check `{figure['denominator']}` in configs/{year}.yaml."
                    )
                lo, hi = wilson(int(num), int(den), conf)
                rows.append(_cell(spec, year, "all", "", name, "", "pct", 100.0 * num / den, int(den), lo, hi, ""))
    return rows


def panel_transitions(
    spec: dict[str, Any], cur: pd.DataFrame, prev: pd.DataFrame, year: int, ctx: dict[str, Any]
) -> list[dict[str, Any]]:
    """Firms in both years: the distribution of this year's segment by last year's segment."""
    item = spec["item"]
    both = cur[["panel_id", item]].merge(prev[["panel_id", item]], on="panel_id", suffixes=("", "_previous"))
    cats = ctx["derived_categories"].get(item) or sorted(both[item].dropna().unique())
    rows = []
    for origin in cats:
        sub = both[both[f"{item}_previous"] == origin]
        n = int(sub[item].notna().sum())
        for cat in cats:
            count = int((sub[item] == cat).sum())
            value = 100.0 * count / n if n else None
            lo, hi = wilson(count, n, ctx["confidence"]) if n else (None, None)
            cell = _cell(
                spec,
                year,
                f"{item}_previous={origin}",
                f"{item}_previous",
                item,
                cat,
                "pct",
                value,
                n,
                lo,
                hi,
                "",
                count,
            )
            cell["distribution"] = True
            rows.append(cell)
    return rows


def panel_change(
    spec: dict[str, Any], cur: pd.DataFrame, prev: pd.DataFrame, year: int, prev_year: int, ctx: dict[str, Any]
) -> list[dict[str, Any]]:
    """Key indicators for the panel (firms in both years) beside the full samples, both years."""
    panel = set(cur["panel_id"]) & set(prev["panel_id"])
    rows = []
    for item in spec["items"]:
        for sample, frames in (
            ("panel", {year: cur[cur["panel_id"].isin(panel)], prev_year: prev[prev["panel_id"].isin(panel)]}),
            ("all", {year: cur, prev_year: prev}),
        ):
            for y, frame in frames.items():
                vals = frame[item].dropna() if item in frame.columns else pd.Series(dtype=float)
                n = len(vals)
                count = int((vals == 1).sum())
                value = 100.0 * count / n if n else None
                lo, hi = wilson(count, n, ctx["confidence"]) if n else (None, None)
                flag = "" if n or item in frame.columns else "x"
                rows.append(
                    _cell(spec, y, f"sample={sample}", "sample", item, "1", "pct", value, n, lo, hi, flag, count)
                )
    return rows


def suppress(cells: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Primary suppression of small bases ([c], n kept) and secondary suppression per breakdown."""
    cells = cells.copy()
    # Counts are not suppressed: of respondents (K01, R01) they are the bases readers need; of
    # invited firms (R01) they are register counts, not answers.
    small = cells["n"].notna() & (cells["n"] < min_n) & ~cells["stat"].isin(["n", "invited"])
    cells["suppressed"] = small
    breakdown = cells[cells["dim"] != ""]
    keys = ["table_id", "year", "item", "stat", "category", "dim"]
    by_block = breakdown.groupby(keys, sort=False)["suppressed"]
    # Only blocks with exactly one suppressed cell need a second one (else it could be derived).
    lone = breakdown[(by_block.transform("sum") == 1) & (by_block.transform("size") > 1)]
    for _, block in lone.groupby(keys, sort=False):
        rest = block[~block["suppressed"]].sort_values(["n", "group"], kind="mergesort")
        cells.loc[rest.index[0], "suppressed"] = True
    cells.loc[cells["suppressed"], ["value", "ci_low", "ci_high"]] = None
    cells.loc[cells["suppressed"], "flag"] = cells.loc[cells["suppressed"], "flag"].map(
        lambda f: f + "c" if "c" not in f else f
    )
    return cells.drop(columns="suppressed")


def significance(cells: pd.DataFrame, current: int, previous: int | None, min_n: int, alpha: float) -> pd.DataFrame:
    """`s`/`ns` on current-year share cells where both years' bases reach the reliability threshold."""
    cells = cells.copy()
    if previous is None:
        return cells
    keys = ["table_id", "group", "item", "category", "stat"]
    cur = cells[(cells["year"] == current) & cells["stat"].isin(SHARE_STATS) & cells["count"].notna()]
    prev = cells[(cells["year"] == previous) & cells["stat"].isin(SHARE_STATS) & cells["count"].notna()]
    cur = cur.assign(base=cur["base"].fillna(cur["n"]) if "base" in cur.columns else cur["n"])
    prev = prev.assign(base=prev["base"].fillna(prev["n"]) if "base" in prev.columns else prev["n"])
    merged = cur.reset_index().merge(prev[[*keys, "count", "n", "base"]], on=keys, suffixes=("", "_prev"))
    for _, row in merged.iterrows():
        if row["n"] >= min_n and row["n_prev"] >= min_n and "c" not in row["flag"]:
            # the base is n, or with the weights Kish's effective n (then the counts are effective too)
            p = two_proportion_p(
                float(row["count"]), float(row["base"]), float(row["count_prev"]), float(row["base_prev"])
            )
            cells.loc[row["index"], "sig"] = "s" if p < alpha else "ns"
    return cells


def all_datamap_rows(cfg: dict[str, Any]) -> list[dict[str, str]]:
    """The current year's datamap rows, then those of the comparison years (newest first)."""
    rows = list(cfg["datamap_rows"])
    extra = cfg.get("comparison_datamap_rows") or {}
    for year in sorted(extra, reverse=True):
        rows.extend(extra[year])
    return rows


def context(cfg: dict[str, Any], tables_spec: dict[str, Any]) -> dict[str, Any]:
    """What the engine needs besides the data: categories, codes, universes, thresholds, breaks."""
    from tasks.mapping import parse_codes

    derived = dict(tables_spec.get("derived_categories", {}))
    derived["province"] = list(cfg["region"]["provinces"])
    derived["sector"] = list(cfg["sectors"]["order"])
    codes: dict[str, dict[str, str]] = {}
    for row in all_datamap_rows(cfg):
        labels = parse_codes(row["codes"]).labels
        if labels and row["variable"] not in codes:
            codes[row["variable"]] = labels
    th = cfg["thresholds"]
    return {
        "derived_categories": derived,
        "codes": codes,
        "universes": tables_spec.get("universes", {}),
        "confidence": float(th["confidence"]),
        "breaks": {k: [int(y) for y in v] for k, v in (cfg.get("breaks") or {}).items()},
    }


def table_years(spec: dict[str, Any], frames: dict[int, pd.DataFrame], cfg: dict[str, Any]) -> list[int]:
    """The years a table covers: the current year and the comparison years it asks for."""
    current = int(cfg["year"])
    years = [y for y in frames if y == current or y in cfg["comparison_years"]]
    if spec.get("years"):
        years = [y for y in years if y in spec["years"] or y == current]
    return years


def table_rows(
    spec: dict[str, Any],
    frames: dict[int, pd.DataFrame],
    facts: dict[int, dict[str, Any]],
    cfg: dict[str, Any],
    ctx: dict[str, Any],
) -> list[dict[str, Any]]:
    """The unsuppressed cells of one table spec (the unit of work of a per-table task)."""
    current = int(cfg["year"])
    years = table_years(spec, frames, cfg)
    if spec.get("kind") == "key_figures":
        return key_figures(spec, {y: facts[y] for y in years}, ctx)
    if spec.get("kind") in ("response_by_stratum", "weighted_comparison"):
        from tasks.weighting import tables as weighted_tables

        weighting = (ctx.get("weighting") or {}).get(current)
        if spec["kind"] == "response_by_stratum":
            return weighted_tables.response_rows(spec, frames[current], weighting, current, ctx)
        return weighted_tables.weighted_rows(spec, frames[current], weighting, current, cfg["tables"]["tables"], ctx)
    if spec.get("kind") in ("panel_transitions", "panel_change"):
        prev_year = current - 1
        if prev_year not in frames or "panel_id" not in frames[prev_year].columns:
            return []  # no previous year in this run: no panel
        if spec["kind"] == "panel_transitions":
            return panel_transitions(spec, frames[current], frames[prev_year], current, ctx)
        return panel_change(spec, frames[current], frames[prev_year], current, prev_year, ctx)
    return evaluate_table(spec, {y: frames[y] for y in years}, ctx)


def finish_tables(rows: list[dict[str, Any]], frames_years: list[int], cfg: dict[str, Any]) -> pd.DataFrame:
    """Suppression, significance and the output schema over the cells of every table."""
    current = int(cfg["year"])
    cells = pd.DataFrame(rows)
    cells["distribution"] = cells["distribution"].fillna(False).astype(bool)
    th = cfg["thresholds"]
    cells = suppress(cells, int(th["suppression_min_n"]))
    previous = current - 1 if current - 1 in frames_years and current - 1 in cfg["comparison_years"] else None
    cells = significance(cells, current, previous, int(th["reliability_min_n"]), float(th["alpha"]))
    check = cells.copy()
    check["value"] = check["value"].astype(float)
    check["n"] = check["n"].astype(float)
    from schemas.outputs import TABLES_SCHEMA
    from schemas.validation import validate_lazy

    validate_lazy(TABLES_SCHEMA, check, "data/tables.csv", "tables")
    return cells[COLUMNS].reset_index(drop=True)


def weighting_context(
    ctx: dict[str, Any],
    frames: dict[int, pd.DataFrame],
    weighting: dict[int, dict[str, Any]] | None,
    cfg: dict[str, Any],
) -> dict[str, Any]:
    """The weights stage's results in the engine's context; with `weighting.apply_to_tables`, every
    year of the run must have usable weights (a weighted year beside an unweighted one would compare
    two methods)."""
    from innomon.config import frame_file
    from innomon.errors import ConfigError

    ctx["weighting"] = dict(weighting or {})
    ctx["apply_weights"] = bool((cfg.get("weighting") or {}).get("apply_to_tables"))
    if ctx["apply_weights"]:
        for year in frames:
            got = ctx["weighting"].get(year) or {}
            if not got.get("frame") or got.get("problem") or WEIGHT not in frames[year].columns:
                why = got.get("problem") or f"no frame ({frame_file(cfg, year)})"
                raise ConfigError(
                    f"weighting.apply_to_tables is on, but {year} has no weights: {why}; "
                    "add the year's frame or switch apply_to_tables off."
                )
    return ctx


def compute_tables(
    frames: dict[int, pd.DataFrame],
    facts: dict[int, dict[str, Any]],
    cfg: dict[str, Any],
    tables_spec: dict[str, Any],
    weighting: dict[int, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Every table of the spec for the current year and its comparison years, as tidy cells."""
    from innomon import progress

    ctx = weighting_context(context(cfg, tables_spec), frames, weighting, cfg)
    rows: list[dict[str, Any]] = []
    with progress.steps("indicators", cfg["year"], len(tables_spec["tables"]) + 1) as step:
        for spec in tables_spec["tables"]:
            step(f"table {spec['id']}")
            rows.extend(table_rows(spec, frames, facts, cfg, ctx))
        step("suppression and significance")
        return finish_tables(rows, list(frames), cfg)


def to_csv_bytes(cells: pd.DataFrame) -> bytes:
    """The tidy CSV: `.` decimals, unrounded values to 6 decimals, empty for missing."""
    out = cells.copy()
    for col in ("value", "ci_low", "ci_high"):
        out[col] = out[col].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6f}")
    out["n"] = out["n"].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(int(v)))
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def load_linked(linked: list[dict[str, Any]]) -> tuple[dict[int, pd.DataFrame], dict[int, dict[str, Any]]]:
    """Respondent frames (current year first, then older) and facts of the linked years."""
    from innomon import refs

    frames = {int(x["year"]): refs.get_frame(x["respondents"]) for x in linked}
    facts = {int(x["year"]): dict(x["facts"]) for x in linked}
    return {y: frames[y] for y in sorted(frames, reverse=True)}, facts


def attach_weights(frames: dict[int, pd.DataFrame], weights: list[dict[str, Any]] | None) -> dict[int, dict[str, Any]]:
    """Each year's raking weights as column `_weight` of its respondents (by response_id); returns the
    weights stage's results by year for the engine's context."""
    from innomon import refs

    out: dict[int, dict[str, Any]] = {}
    for result in weights or []:
        year = int(result["year"])
        out[year] = result
        if year in frames and result.get("weights") and not result.get("problem"):
            table = refs.get_frame(result["weights"]).set_index("response_id")["weight"]
            frames[year] = frames[year].assign(
                **{WEIGHT: frames[year]["response_id"].astype(str).map(table).fillna(0.0)}
            )
    return out


def store_tables(
    cells: pd.DataFrame, cfg: dict[str, Any], processed_root: str, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Mark revisions against the published comparison years and store tables.csv."""
    from innomon import refs, storage
    from tasks.revisions import mark_revisions, read_tables_csv

    published = {int(y): read_tables_csv(refs.get_bytes(r)) for y, r in (previous or {}).items() if r}
    panel_tables = {t["id"] for t in cfg["tables"]["tables"] if str(t.get("kind", "")).startswith("panel")}
    cells = mark_revisions(cells, published, panel_tables)
    root = storage.join(processed_root, str(cfg["year"]))
    return {
        "year": int(cfg["year"]),
        "tables": int(cells["table_id"].nunique()),
        "cells": len(cells),
        "tables_csv": refs.put_bytes(root, "tables", to_csv_bytes(cells), "csv"),
    }


def _stage_task():
    from innomon import refs
    from innomon.prefect_support import cached_stage

    @cached_stage("indicators")
    def indicators_task(
        linked: list[dict[str, Any]],
        cfg_ref: dict[str, Any],
        processed_root: str,
        previous: dict[str, Any] | None = None,
        weights: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Prefect wrapper: respondent tables of the year and its comparison years -> tables.csv.
        `previous` references each comparison year's last published tables.csv (for the `r` flag);
        `weights` the weights stage's results (R01, R02, and every table when configured)."""
        from tasks.publishing import chart_workers

        chart_workers.prestart()  # new tables: a new release to draw; workers import matplotlib meanwhile
        cfg = refs.get_json(cfg_ref)
        frames, facts = load_linked(linked)
        weighting = attach_weights(frames, weights)
        cells = compute_tables(frames, facts, cfg, cfg["tables"], weighting)
        return store_tables(cells, cfg, processed_root, previous)

    return indicators_task


def _per_table_tasks():
    """The same stage split per table, for a distributed task runner (Dask): one task per table,
    then one that suppresses, tests and stores them all. Same cells, byte for byte."""
    import pickle

    from innomon import refs, storage
    from innomon.prefect_support import cached_stage

    @cached_stage("table", report=False)
    def table_task(
        table_id: str,
        linked: list[dict[str, Any]],
        cfg_ref: dict[str, Any],
        processed_root: str,
        weights: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The unsuppressed cells of one table, stored (pickled rows keep their exact types)."""
        cfg = refs.get_json(cfg_ref)
        spec = next(t for t in cfg["tables"]["tables"] if t["id"] == table_id)
        frames, facts = load_linked(linked)
        weighting = attach_weights(frames, weights)
        ctx = weighting_context(context(cfg, cfg["tables"]), frames, weighting, cfg)
        rows = table_rows(spec, frames, facts, cfg, ctx)
        root = storage.join(processed_root, str(cfg["year"]), "table-cells")
        return refs.put_bytes(root, table_id, pickle.dumps(rows, protocol=5), "pkl")

    @cached_stage("tables-assemble")
    def tables_assemble_task(
        table_refs: list[dict[str, Any]],
        linked: list[dict[str, Any]],
        cfg_ref: dict[str, Any],
        processed_root: str,
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """All tables in spec order -> suppression, significance, revisions -> tables.csv."""
        cfg = refs.get_json(cfg_ref)
        rows: list[dict[str, Any]] = []
        for ref in table_refs:
            rows.extend(pickle.loads(refs.get_bytes(ref)))
        years = sorted((int(x["year"]) for x in linked), reverse=True)
        return store_tables(finish_tables(rows, years, cfg), cfg, processed_root, previous)

    return table_task, tables_assemble_task


indicators_task = _stage_task()
table_task, tables_assemble_task = _per_table_tasks()


def read_csv_bytes(data: bytes) -> pd.DataFrame:
    """Read a tables.csv written by `to_csv_bytes`: text keys, float values, empty flags as ""."""
    import io

    cells = pd.read_csv(
        io.BytesIO(data),
        dtype={"category": str, "group": str, "flag": str, "sig": str},
        keep_default_na=False,
        na_values={"value": [""], "n": [""], "ci_low": [""], "ci_high": [""]},
    )
    cells["flag"] = cells["flag"].fillna("")
    cells["sig"] = cells["sig"].fillna("")
    return cells
