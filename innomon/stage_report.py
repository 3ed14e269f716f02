"""One console line per finished stage: what it did, or that it came from cache.

The line is written by an `on_completion` hook of each stage task (Prefect calls it for computed
and for cached runs alike, with the task's returned reference), to the logger `innomon.stages`.
The command line prints that logger; Prefect's own INFO chatter stays in the API's run logs and
on the console only with `innomon -v`. The lines carry counts, never a respondent's details.
"""

from __future__ import annotations

import logging
from typing import Any

LOGGER = logging.getLogger("innomon.stages")
LOGGER.addHandler(logging.NullHandler())
LOGGER.propagate = False


def _n(value: Any) -> str:
    return f"{int(value):,}" if value is not None else "-"


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{max(1, round(n / 1000))} kB"


def _validate(r: dict[str, Any]) -> str:
    c = r["counts"]
    rules = [(rule, v) for rule, v in c.items() if rule not in ("records", "valid", "invited") and v]
    excluded = ", ".join(f"{rule} {_n(v)}" for rule, v in rules)
    return f"{_n(c['valid'])} valid of {_n(c['records'])}" + (f"; excluded: {excluded}" if excluded else "")


def _link(r: dict[str, Any]) -> str:
    repeat = r["facts"].get("repeat")
    if repeat is None:
        return f"{_n(r['facts']['valid'])} firms, no previous year in the window to link to"
    return f"{_n(repeat)} repeat firms linked to {int(r['year']) - 1}"


def _tables(r: dict[str, Any]) -> str:
    return f"{_n(r['tables'])} tables, {_n(r['cells'])} cells"


def _models(r: dict[str, Any]) -> str:
    return f"{_n(r['models'])} models"


def _publish(r: dict[str, Any]) -> str:
    state = "new" if r.get("new_release") else "unchanged"
    return f"release {r['run_id']} staged ({state})" + (", already latest" if r.get("is_latest") else "")


def _release(r: dict[str, Any]) -> str:
    if not r.get("promoted"):
        return f"release {r['run_id']} not made public: latest {r.get('newer_latest')} has newer inputs"
    approved = f", approved by {r['approval']['approver']}" if r.get("approval") else ""
    return f"release {r['run_id']} public and latest{approved}"


def _weights(r: dict[str, Any]) -> str:
    if not r.get("frame"):
        return "no invitation frame: response rates and weighted figures (R01, R02) are [x]"
    if r.get("problem"):
        return f"{_n(r['frame_firms'])} firms in the frame; {r['problem']}"
    d = r["diagnostics"]
    return (
        f"{_n(d['n'])} respondents raked to {_n(r['frame_firms'])} invited firms; "
        f"weights {d['min']:.1f}-{d['max']:.1f}, CV {d['cv']:.2f}, effective n {d['n_eff']:.0f}"
        + ("; the cap on the weights did not settle" if d.get("trim_converged") is False else "")
    )


DESCRIBE: dict[str, Any] = {
    "fetch": lambda r: (
        f"{r['name']}, {_size(r['size'])}, sha256 {r['sha256'][:12]}"
        + (" (from the store's archive)" if r.get("from_archive") else "")
        + (f", {r['erased']} erased on request" if r.get("erased") else "")
    ),
    "ingest": lambda r: (
        f"{_n(r['records'])} records read"
        + (f", {_n(r['corrections_applied'])} corrections applied" if r.get("corrections_applied") else "")
    ),
    "derive": lambda r: f"derived variables of {_n(r['records'])} records",
    "validate": _validate,
    "weights": _weights,
    "link": _link,
    "indicators": _tables,
    "tables-assemble": _tables,  # the Dask runner's assembling step of the same stage
    "models": _models,
    "models-assemble": _models,
    "publish": _publish,
    "release": _release,
}
STAGE_NAME = {"tables-assemble": "indicators", "models-assemble": "models"}


def line(stage: str, result: dict[str, Any], cached: bool) -> str:
    """The console line of a finished stage."""
    year = result.get("year", "")
    text = DESCRIBE[stage](result)
    return f"{year!s:>4} {STAGE_NAME.get(stage, stage):<11} {text}{' (cached)' if cached else ''}"


def hook(task: Any, task_run: Any, state: Any) -> None:
    """`on_completion` hook of the stage tasks: log the stage's line (never fails the task)."""
    try:
        result = state.result(raise_on_failure=False)
        if isinstance(result, dict) and task.name in DESCRIBE:
            LOGGER.info(line(task.name, result, state.name == "Cached"))
    except Exception:  # the report is a courtesy; the run's outcome does not depend on it
        LOGGER.debug("no stage line for %s", task.name, exc_info=True)
