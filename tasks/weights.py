"""Stage `weights`: who answered, compared with who was invited, and weights back to the invited firms.

The invitation frame (the firms the survey went to, from the business register) is an optional,
private input per year. From it this stage derives
- the frame's margins per weighting dimension (default province, size class, sector),
- raked weights of the valid respondents to those margins, trimmed at k times the mean weight and
  raked again so the margins still hold (svy: its raking and trim-and-rake cycle, not a hand loop),
- the weights' diagnostics (min, max, coefficient of variation, Kish's effective sample size).
Tables R01 (response by stratum) and R02 (weighted beside unweighted) are computed from this
stage's result by the indicator engine. The report's own tables stay unweighted unless
`weighting.apply_to_tables` is set (docs/decisions.md, D32).
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pandas as pd

from innomon.errors import InputError
from schemas.frame import ID_COLUMN, REQUIRED, SIZE_COLUMNS

UNWEIGHTED = "unweighted"  # why a respondent has no weight: a weighting dimension is unknown


def read_frame(data: bytes, name: str) -> pd.DataFrame:
    """The frame as text columns (FTE as a number), refused with one sentence when it cannot serve:
    a missing column, an empty or duplicate identifier, an unreadable FTE."""
    from schemas.frame import FRAME_SCHEMA
    from schemas.validation import validate_lazy

    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"The frame is no readable CSV ({exc}).", file=name, rule="frame_unreadable") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in REQUIRED:
        if column not in frame.columns:
            raise InputError(
                f"The frame has no column {column}; a frame needs {', '.join(REQUIRED)} and fte or size_class.",
                file=name,
                column=column,
                rule="frame_missing_column",
            )
    if not any(c in frame.columns for c in SIZE_COLUMNS):
        raise InputError(
            "The frame has neither fte nor size_class; one of them places each firm in a size class.",
            file=name,
            column="fte",
            rule="frame_missing_column",
        )
    ids = frame[ID_COLUMN].str.strip()
    twice = ids[ids.duplicated(keep="first") & (ids != "")]
    if len(twice):  # rows by number only: the identifier is a register number, never logged
        row = int(twice.index[0])
        first = int(ids[ids == twice.iloc[0]].index[0])
        raise InputError(
            f"The frame lists one firm identifier twice, on rows {first + 1} and {row + 1}; each invited firm "
            "must appear once.",
            file=name,
            column=ID_COLUMN,
            row=row + 1,
            rule="frame_duplicate_id",
        )
    frame[ID_COLUMN] = ids
    if "fte" in frame.columns:
        fte = pd.to_numeric(frame["fte"].str.replace(",", ".", regex=False).str.strip(), errors="coerce")
        bad = fte.isna()
        if bad.any():
            row = int(bad.idxmax())
            raise InputError(
                f"The frame's fte on row {row + 1} is not a number.",
                file=name,
                column="fte",
                row=row + 1,
                rule="frame_fte",
            )
        frame["fte"] = fte.astype(float)
    return validate_lazy(FRAME_SCHEMA, frame, name, "frame")


def frame_strata(frame: pd.DataFrame, cfg: dict[str, Any], dims: list[str], name: str) -> pd.DataFrame:
    """Each frame firm's level of every weighting dimension, derived exactly as for respondents
    (postcode -> province, SBI -> sector, FTE -> size class), so respondents and frame meet."""
    from innomon import config as config_mod
    from innomon import reference
    from schemas.frame import known_levels, strata_schema
    from schemas.validation import validate_lazy
    from tasks.derive import _classify, normalise_postcode, normalise_sbi, sector_of

    out = pd.DataFrame(index=frame.index)
    if "province" in dims:
        pc4 = normalise_postcode(frame["postcode"])
        lookup = reference.pc4_to_province(str(config_mod.reference_path(cfg, "pc4")))
        out["province"] = pc4.map(lookup).astype(object).where(pc4.notna(), None)
    if "sector" in dims:
        valid_sbi = reference.sbi_sections(str(config_mod.reference_path(cfg, "sbi")))
        # A register keeps its codes as text: a code valid as written is taken as written (a survey
        # answer of the same digits may have lost a leading zero; the register's has not).
        text = frame["sbi_code"].str.replace(r"[\s.]", "", regex=True)
        sbi, _status = normalise_sbi(frame["sbi_code"], valid_sbi)
        sbi = text.where(text.isin(valid_sbi.keys()), sbi)
        out["sector"] = sector_of(sbi, valid_sbi, cfg)
    if "size_class" in dims:
        if "size_class" in frame.columns:
            out["size_class"] = frame["size_class"].str.strip()
        else:
            out["size_class"] = _classify(frame["fte"], cfg["classes"]["size_class"])
    for dim in dims:
        if dim not in out.columns:
            raise InputError(f"The frame cannot place firms by {dim}.", file=name, column=dim, rule="frame_dimension")
    out = out.astype(object).where(out.notna(), None)
    size_column = "size_class" if "size_class" in frame.columns else "fte"
    why = {  # dimension -> (the frame's own column, rule, what is wrong with it)
        "province": ("postcode", "frame_outside_region", "is no postcode of the region"),
        "sector": ("sbi_code", "frame_sbi_unknown", "is no SBI code of the reference list"),
        "size_class": (size_column, "frame_not_sme", "places the firm in no size class (an SME has under 250 FTE)"),
    }
    for dim in dims:
        known = set(known_levels(cfg)[dim])
        bad = ~out[dim].isin(known)
        if bad.any():
            column, rule, text = why[dim]
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise InputError(
                f"The frame's {column} on row {row} {text} ({int(bad.sum())} firm(s) of the frame so); "
                "every invited firm must be placed to weight to the frame.",
                file=name,
                column=column,
                row=row,
                rule=rule,
            )
    return validate_lazy(strata_schema(cfg, dims), out[dims], name, "frame_strata")


def margins(strata: pd.DataFrame, dims: list[str]) -> dict[str, dict[str, int]]:
    """The frame's count of firms per level of each dimension (levels sorted)."""
    return {d: {str(k): int(v) for k, v in strata[d].value_counts().sort_index().items()} for d in dims}


def check_size(frame_firms: int, valid: int, name: str) -> None:
    """A frame smaller than the respondents cannot be the list they were drawn from."""
    if frame_firms < valid:
        raise InputError(
            f"The frame lists {frame_firms} firms, fewer than the year's {valid} valid respondents; "
            "it cannot be the list of invited firms.",
            file=name,
            rule="frame_too_small",
        )


def diagnostics(w: np.ndarray) -> dict[str, float | None]:
    """What a reader of the weights needs (Kish 1965): their range, coefficient of variation and the
    effective sample size n_eff = (sum w)^2 / sum w^2. Arithmetic no library call saves."""
    w = np.asarray(w, dtype=float)
    w = w[w > 0]
    if not len(w):
        return {"n": 0, "sum": 0.0, "min": None, "max": None, "cv": None, "n_eff": 0.0}  # JSON has no NaN
    return {
        "n": len(w),
        "sum": float(w.sum()),
        "min": float(w.min()),
        "max": float(w.max()),
        "cv": float(w.std(ddof=0) / w.mean()),
        "n_eff": float(w.sum() ** 2 / (w**2).sum()),
    }


def rake(
    strata: pd.DataFrame, totals: dict[str, dict[str, int]], trim_k: float | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Raked (and trimmed) weights of respondents whose every dimension is known; 0 for the rest.

    Starts from the equal design weight N/n, rakes to `totals` (svy, tolerance 1e-10 relative) and,
    with `trim_k`, caps each weight at k times the mean and rakes again until both hold (svy's
    trim-and-rake cycle ends with a rake, so the margins are exact). Returns the weights and a
    problem sentence (None when the weights are fine): a frame level nobody answered in cannot be
    raked to, so no weights are made."""
    import polars as pl
    import svy
    from svy.errors import SvyError
    from svy.weighting.types import Threshold, TrimConfig

    dims = list(totals)
    # A respondent is raked when every dimension is known and a level the frame holds (a firm that
    # answered "middelgroot" where the register has no such firm is left out, like an unknown level).
    known = np.ones(len(strata), dtype=bool)
    for d in dims:
        known &= strata[d].astype(object).isin(list(totals[d])).to_numpy()
    weights = np.zeros(len(strata), dtype=float)
    info: dict[str, Any] = {"unweighted": int((~known).sum()), "problem": None, "trim_converged": None}
    empty = [
        f"{d} {level}"
        for d in dims
        for level, count in totals[d].items()
        if count > 0 and not (strata.loc[known, d].astype(str) == level).any()
    ]
    if empty:
        info["problem"] = f"no valid respondent in the frame level(s) {', '.join(empty)}, so no weights"
        return weights, info
    sub = strata.loc[known, dims].astype(str).reset_index(drop=True)
    n_frame = float(sum(totals[dims[0]].values()))
    data = pl.DataFrame(
        {"_row": list(range(len(sub))), **{d: sub[d].tolist() for d in dims}, "_w0": [n_frame / len(sub)] * len(sub)}
    )
    sample = svy.Sample(data, svy.Design(wgt="_w0"))
    trimming = TrimConfig(upper=Threshold("mean", float(trim_k)), max_iter=50, tol=1e-9) if trim_k else None
    controls = {d: {k: float(v) for k, v in totals[d].items() if v > 0} for d in dims}
    try:
        # "ignore": svy's trim-and-rake cycle ends with a rake, so the margins hold even when the cap
        # has not settled; both are checked below and reported, instead of losing the weights.
        raked = sample.weighting.rake(
            controls=controls, tol=1e-12, max_iter=1000, trimming=trimming, on_nonconvergence="ignore"
        )
    except SvyError:
        info["problem"] = "raking to the frame's margins failed, so no weights"
        return weights, info
    out = raked.data.sort("_row")  # the respondents' order, whatever order svy keeps
    raked_w = out["rk_wgt"].to_numpy()
    if margin_deviation(sub, raked_w, controls) > 1e-6:
        info["problem"] = "raking did not meet the frame's margins within 1,000 iterations, so no weights"
        return weights, info
    weights[known] = raked_w
    if trim_k:
        info["trim_converged"] = bool(raked_w.max() <= float(trim_k) * raked_w.mean() * (1 + 1e-3))
    return weights, info


def margin_deviation(strata: pd.DataFrame, weights: np.ndarray, totals: dict[str, dict[str, float]]) -> float:
    """Largest |sum of weights - frame count| over every level of every dimension."""
    dev = 0.0
    w = pd.Series(weights, index=strata.index)
    for d, levels in totals.items():
        got = w.groupby(strata[d].astype(str)).sum()
        for level, count in levels.items():
            dev = max(dev, abs(float(got.get(level, 0.0)) - count))
    return dev


def compute(
    frame_data: bytes | None, frame_name: str, respondents: pd.DataFrame, cfg: dict[str, Any]
) -> dict[str, Any]:
    """The year's weighting result: frame margins, one weight per valid respondent and diagnostics.
    Without a frame: `{"frame": False}` (R01 and R02 are then published as [x])."""
    settings = cfg.get("weighting") or {}
    dims = list(settings.get("margins") or ["province", "size_class", "sector"])
    if frame_data is None:
        return {"frame": False, "dims": dims}
    frame = read_frame(frame_data, frame_name)
    check_size(len(frame), len(respondents), frame_name)
    strata = frame_strata(frame, cfg, dims, frame_name)
    totals = margins(strata, dims)
    resp = respondents[dims].astype(object).where(respondents[dims].notna(), None)
    weights, info = rake(resp, totals, settings.get("trim_k"))
    weighted = weights > 0
    result: dict[str, Any] = {
        "frame": True,
        "dims": dims,
        "frame_firms": len(frame),
        "margins": totals,
        "weights": pd.DataFrame({"response_id": respondents["response_id"].astype(str), "weight": weights}),
        "problem": info["problem"],
        "diagnostics": {
            **diagnostics(weights),
            "unweighted": info["unweighted"],
            "trim_k": settings.get("trim_k"),
            "trim_converged": info["trim_converged"],
            "max_margin_deviation": (
                margin_deviation(resp[weighted], weights[weighted], totals) if weighted.any() else None
            ),
        },
    }
    return result


def summary_markdown(result: dict[str, Any]) -> str:
    """The weights' summary for the Prefect UI: frame size, diagnostics, or why there are none."""
    year = result["year"]
    if not result.get("frame"):
        return f"# Weights {year}\n\nNo invitation frame: R01's response rates and R02's weighted figures are [x].\n"
    lines = [
        f"# Weights {year}",
        "",
        f"Frame: {result['frame_firms']:,} invited firms; margins {', '.join(result['dims'])}.",
    ]
    if result.get("problem"):
        return "\n".join([*lines, "", f"No weights: {result['problem']}.", ""])
    d = result["diagnostics"]
    lines += [
        "",
        "| diagnostic | value |",
        "|---|---|",
        f"| respondents weighted | {d['n']:,} |",
        f"| respondents without weight (a margin unknown) | {d['unweighted']:,} |",
        f"| smallest / largest weight | {d['min']:.2f} / {d['max']:.2f} |",
        f"| coefficient of variation | {d['cv']:.3f} |",
        f"| Kish's effective sample size | {d['n_eff']:.1f} |",
        f"| trim at k x mean weight | {d['trim_k']} |",
        f"| cap holds after the last rake | {'n/a' if d.get('trim_converged') is None else d['trim_converged']} |",
        f"| largest margin deviation (firms) | {d['max_margin_deviation']:.2e} |",
        "",
    ]
    return "\n".join(lines)


def _stage_task():
    from prefect import get_run_logger, task

    from innomon import refs, storage
    from innomon.prefect_support import cached_stage

    @cached_stage("weights")
    def weights_task(
        validated: dict[str, Any], frame: dict[str, Any] | None, cfg_ref: dict[str, Any], processed_root: str
    ) -> dict[str, Any]:
        """Prefect wrapper: frame reference + valid respondents -> margins, weights, diagnostics.
        The weights stay in the private processed zone; the result carries their reference."""
        cfg = refs.get_json(cfg_ref)
        respondents = refs.get_frame(validated["valid"])
        data = refs.get_bytes(frame) if frame else None
        out = compute(data, frame["name"] if frame else "", respondents, cfg)
        year = int(cfg["year"])
        if not out["frame"]:
            get_run_logger().info("Weights %s: no frame, R01 and R02 are published as [x]", year)
            return {"year": year, "frame": False, "dims": out["dims"]}
        root = storage.join(processed_root, str(year), "private")
        d = out["diagnostics"]
        get_run_logger().info(
            "Weights %s: %d firms in the frame, %d respondents weighted, CV %.2f, n_eff %.0f%s",
            year,
            out["frame_firms"],
            d["n"],
            d["cv"],
            d["n_eff"],
            f" ({out['problem']})" if out["problem"] else "",
        )
        return {
            "year": year,
            "frame": True,
            "dims": out["dims"],
            "frame_firms": out["frame_firms"],
            "margins": out["margins"],
            "problem": out["problem"],
            "diagnostics": d,
            "weights": refs.put_frame(root, "weights", out["weights"]),
        }

    @task(name="weights-artifact")
    def weights_artifact_task(result: dict[str, Any]) -> str:
        """Never cached: the year's weights summary in the Prefect UI (stable key per year)."""
        from prefect.artifacts import create_markdown_artifact

        key = f"innomon-{result['year']}-weights"
        create_markdown_artifact(markdown=summary_markdown(result), key=key, description="Weights to the frame")
        return key

    return weights_task, weights_artifact_task


weights_task, weights_artifact_task = _stage_task()


# --- Tables R01 and R02 (evaluated by the indicator engine) --------------------------------------

TOTAL = "totaal"  # R01's category of a dimension's total row (and its goodness-of-fit test)


def _row(
    spec: dict[str, Any],
    year: int,
    item: str,
    cat: str,
    stat: str,
    value: float | None,
    n: int | None,
    flag: str = "",
    count: float | None = None,
    lo: float | None = None,
    hi: float | None = None,
) -> dict:
    from tasks.indicators import _cell

    cell = _cell(spec, year, "all", "", item, cat, stat, value, n, lo, hi, flag, count)
    cell["distribution"] = False
    return cell


def response_rows(
    spec: dict[str, Any],
    respondents: pd.DataFrame,
    weighting: dict[str, Any] | None,
    year: int,
    ctx: dict[str, Any],
) -> list[dict[str, Any]]:
    """R01: per weighting dimension and level the invited firms, the valid respondents and the
    response rate (Wilson interval), and per dimension a chi-square goodness-of-fit test of the
    respondents' composition against the frame's. Without a frame only the respondents are known."""
    from scipy import stats as sps

    from tasks.indicators import _fill_wilson

    has_frame = bool(weighting and weighting.get("frame"))
    dims = list((weighting or {}).get("dims") or spec.get("items") or [])
    rows: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []  # after every level row, so that `totaal` ranks last in each block
    for dim in dims:
        levels = list(ctx["derived_categories"].get(dim) or sorted(respondents[dim].dropna().astype(str).unique()))
        counts = respondents[dim].astype(object).where(respondents[dim].notna(), None).value_counts()
        observed = np.array([int(counts.get(level, 0)) for level in levels])
        frame_n = [int(weighting["margins"][dim].get(level, 0)) for level in levels] if has_frame else None
        for i, level in enumerate(levels):
            rows.append(_row(spec, year, dim, level, "n", float(observed[i]), int(observed[i])))
            if not has_frame:
                for stat in ("invited", "pct"):
                    rows.append(_row(spec, year, dim, level, stat, None, None, "x"))
                continue
            invited = frame_n[i]  # type: ignore[index]
            rows.append(_row(spec, year, dim, level, "invited", float(invited), invited))
            # More respondents than invited firms in a level (placed by their own answers, the frame by
            # the register's) is a classification difference, not a response rate: [z], counts shown.
            rate = 100.0 * observed[i] / invited if invited and observed[i] <= invited else None
            count = int(observed[i]) if rate is not None else None
            rows.append(_row(spec, year, dim, level, "pct", rate, invited or None, count=count))
        total = len(respondents)
        totals.append(_row(spec, year, dim, TOTAL, "n", float(total), total))
        if not has_frame:
            for stat in ("invited", "pct", "chi2", "p_value"):
                totals.append(_row(spec, year, dim, TOTAL, stat, None, None, "x"))
            continue
        invited_total = int(sum(frame_n))  # type: ignore[arg-type]
        totals.append(_row(spec, year, dim, TOTAL, "invited", float(invited_total), invited_total))
        totals.append(_row(spec, year, dim, TOTAL, "pct", 100.0 * total / invited_total, invited_total, count=total))
        # The test compares the respondents whose level is known with the frame's shares, over the
        # levels the frame holds; respondents in a level the frame lacks make the test undefined ([z]).
        held = np.array(frame_n) > 0
        known = int(observed[held].sum())
        if (observed[~held] > 0).any() or held.sum() < 2 or known == 0:
            totals.append(_row(spec, year, dim, TOTAL, "chi2", None, known))
            totals.append(_row(spec, year, dim, TOTAL, "p_value", None, known))
            continue
        expected = known * np.array(frame_n, dtype=float)[held] / invited_total
        chi2, p = sps.chisquare(observed[held], expected)
        totals.append(_row(spec, year, dim, TOTAL, "chi2", float(chi2), known))
        totals.append(_row(spec, year, dim, TOTAL, "p_value", float(p), known))
    rows += totals
    _fill_wilson(rows, float(ctx["confidence"]))
    return rows


def indicator_cells(tables: list[dict[str, Any]], ids: list[str], ctx: dict[str, Any]) -> list[tuple]:
    """(universe expression, item, category, source stat) of each share R02 compares: every share
    cell of the named tables (a distribution's every category; pct_top's top answer)."""
    from tasks.indicators import category_keys

    by_id = {t["id"]: t for t in tables}
    out = []
    for tid in ids:
        spec = by_id[tid]
        universe = ctx["universes"].get(spec.get("universe", "valid")) or ""
        for entry in spec.get("items") or []:
            item = entry if isinstance(entry, str) else entry["item"]
            extra = "" if isinstance(entry, str) else entry["universe"]
            expr = " and ".join(f"({e})" for e in (universe, extra) if e)
            for stat in spec.get("stats") or []:
                if stat == "pct":
                    out += [(expr, item, cat, stat) for cat in category_keys(item, spec, ctx)]
                elif stat == "pct_top":
                    out.append((expr, item, str(spec["top"]), stat))
    return out


def weighted_share(y: np.ndarray, w: np.ndarray, domain: np.ndarray, alpha: float) -> dict[str, float]:
    """Weighted share of y (0/1) in a domain, with svy's Taylor-linearised standard error (the
    weights as given; each respondent its own unit), logit 95% interval and design effect (with
    replacement: Var / (p(1-p)/n))."""
    import polars as pl
    import svy

    data = pl.DataFrame({"y": np.where(domain, y, np.nan), "w": w, "d": domain.astype(np.int8)})
    data = data.with_columns(pl.col("y").fill_nan(None))
    sample = svy.Sample(data, svy.Design(wgt="w"))
    est = sample.estimation.prop("y", where=pl.col("d") == 1, deff="wr", alpha=alpha).to_polars()
    hit = est.filter(pl.col("y") == 1.0)
    if hit.height == 0:  # nobody in the domain has the answer: the share is 0
        return {"est": 0.0, "se": 0.0, "lci": math.nan, "uci": math.nan, "deff": math.nan, "n": int(domain.sum())}
    row = hit.row(0, named=True)
    out = {k: float(row[k]) for k in ("est", "se", "lci", "uci", "deff")} | {"n": int(domain.sum())}
    if out["est"] >= 1.0:  # everyone in the domain has the answer: no variance, no design effect
        out.update(deff=math.nan, lci=math.nan, uci=math.nan)
    return out


def weighted_rows(
    spec: dict[str, Any],
    respondents: pd.DataFrame,
    weighting: dict[str, Any] | None,
    year: int,
    tables: list[dict[str, Any]],
    ctx: dict[str, Any],
) -> list[dict[str, Any]]:
    """R02: for each key indicator the unweighted share (as its own table publishes it), the weighted
    share with a design-based interval, and the design effect. Without weights: [x]."""
    from tasks.indicators import WEIGHT, _as_key, _fill_wilson

    conf = float(ctx["confidence"])
    usable = bool(weighting and weighting.get("frame") and not weighting.get("problem"))
    w = respondents[WEIGHT].to_numpy(dtype=float) if usable and WEIGHT in respondents.columns else None
    rows: list[dict[str, Any]] = []
    for expr, item, cat, _stat in indicator_cells(tables, list(spec["indicators"]), ctx):
        if item not in respondents.columns or respondents[item].isna().all():
            for stat in ("pct", "pct_w", "deff"):
                rows.append(_row(spec, year, item, cat, stat, None, None, "x"))
            continue
        mask = respondents.eval(expr).astype(bool).to_numpy() if expr else np.ones(len(respondents), dtype=bool)
        keys = _as_key(respondents[item]).to_numpy(dtype=object)
        answered = mask & respondents[item].notna().to_numpy()
        y = (keys == cat).astype(float)
        n = int(answered.sum())
        count = int((y[answered] == 1).sum())
        rows.append(_row(spec, year, item, cat, "pct", 100.0 * count / n if n else None, n, count=count))
        if w is None:
            rows.append(_row(spec, year, item, cat, "pct_w", None, None, "x"))
            rows.append(_row(spec, year, item, cat, "deff", None, None, "x"))
            continue
        domain = answered[w > 0]
        if not domain.any():
            rows.append(_row(spec, year, item, cat, "pct_w", None, 0))
            rows.append(_row(spec, year, item, cat, "deff", None, 0))
            continue
        r = weighted_share(y[w > 0], w[w > 0], domain, 1 - conf)
        lo, hi = (None, None) if math.isnan(r["lci"]) else (100 * r["lci"], 100 * r["uci"])
        rows.append(_row(spec, year, item, cat, "pct_w", 100 * r["est"], r["n"], lo=lo, hi=hi))
        rows.append(_row(spec, year, item, cat, "deff", None if math.isnan(r["deff"]) else r["deff"], r["n"]))
    _fill_wilson(rows, conf)
    return rows
