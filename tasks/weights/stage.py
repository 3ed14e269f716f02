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

from typing import Any

import pandas as pd
from prefect import get_run_logger, task

from innomon import refs, storage
from innomon.prefect_support import cached_stage
from schemas.config import RunConfig
from tasks.weights.frame import check_size, frame_strata, margins, read_frame
from tasks.weights.raking import diagnostics, margin_deviation, rake


def compute(frame_data: bytes | None, frame_name: str, respondents: pd.DataFrame, cfg: RunConfig) -> dict[str, Any]:
    """The year's weighting result: frame margins, one weight per valid respondent and diagnostics.
    Without a frame: `{"frame": False}` (R01 and R02 are then published as [x])."""
    settings = cfg.weighting
    dims = list(settings.margins)
    if frame_data is None:
        return {"frame": False, "dims": dims}
    frame = read_frame(frame_data, frame_name)
    check_size(len(frame), len(respondents), frame_name)
    strata = frame_strata(frame, cfg, dims, frame_name)
    totals = margins(strata, dims)
    resp = respondents[dims].astype(object).where(respondents[dims].notna(), None)
    weights, info = rake(resp, totals, settings.trim_k)
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
            "trim_k": settings.trim_k,
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


@cached_stage("weights", reads={"validated": ("valid",)})
def weights_task(
    validated: dict[str, Any], frame: dict[str, Any] | None, cfg_ref: dict[str, Any], processed_root: str
) -> dict[str, Any]:
    """Prefect wrapper: frame reference + valid respondents -> margins, weights, diagnostics.
    The weights stay in the private processed zone; the result carries their reference."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    respondents = refs.get_frame(validated["valid"])
    data = refs.get_bytes(frame) if frame else None
    out = compute(data, frame["name"] if frame else "", respondents, cfg)
    year = cfg.year
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
