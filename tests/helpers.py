"""Helpers shared by the integration tests."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from innomon.config import config_dir
from schemas.vocabulary import STAGES, YEAR_STAGES  # noqa: F401 (the tests import YEAR_STAGES from here)


def edit_yaml(path: Path, edit: Callable[[dict[str, Any]], object]) -> None:
    """Apply `edit` to the parsed YAML file and write it back."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def without_comparisons(cdir: Path, year: int = 2023) -> Path:
    """The configuration folder `cdir` (a copy) with `year` compared to no earlier year: for a test
    whose subject is not the comparisons, which the other years would only make slower to compute."""
    edit_yaml(cdir / f"{year}.yaml", lambda data: data.update(comparison_years=[]))
    return cdir


def tree_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under `root` by relative path: "nothing was written" is equality."""
    import hashlib

    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def latest_release(store: Path, year: int) -> Path:
    """Folder of the release `published/YEAR/latest.json` points at."""
    pointer = json.loads((store / "published" / str(year) / "latest.json").read_text())
    return store / "published" / str(year) / "runs" / pointer["run_id"]


def read_tables(release: Path) -> pd.DataFrame:
    """The tidy tables.csv of a release."""
    return pd.read_csv(
        io.BytesIO((release / "data" / "tables.csv").read_bytes()),
        dtype={"category": str, "group": str},
        keep_default_na=False,
        na_values={"value": [""], "n": [""]},
    )


def report_figures() -> pd.DataFrame:
    """The report's published figures (configs/calibration/report_figures.csv)."""
    df = pd.read_csv(
        config_dir() / "calibration" / "report_figures.csv",
        dtype={"category": str, "group": str},
        keep_default_na=False,
    )
    df["value"] = pd.to_numeric(df["value"])
    return df


ANNUAL_STAGES = STAGES


def assert_cached(states: dict[str, list[str]], stages: tuple[str, ...], context: object = "") -> None:
    """Every run of every stage in `stages` came from cache (and there was at least one)."""
    for stage in stages:
        assert states.get(stage) and all(s == "Cached" for s in states[stage]), (context, stage, states.get(stage))


def task_states(
    flow_run_id: str | None = None, expect: tuple[str, ...] = ANNUAL_STAGES, flow: str | None = None
) -> dict[str, list[str]]:
    """State names of the task runs of the latest (or given) flow run, by task name; with `flow`,
    the latest run of that flow (the annual flow rather than a subflow it called).

    Task runs reach the API as events, a moment after the flow returns (later still when the
    machine is busy): wait until every task named in `expect` has a run and every run is final."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    # Task run states reach the API as events, a moment after the flow returns: wait until final.
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        if flow_run_id is None:
            named = FlowFilter(name=FlowFilterName(any_=[flow])) if flow else None
            latest = client.read_flow_runs(flow_filter=named, sort=FlowRunSort.START_TIME_DESC, limit=1)
            flow_run_id = str(latest[0].id)
        while True:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            names = {r.name.rsplit("-", 1)[0] for r in runs}
            done = all(r.state and r.state.is_final() for r in runs) and names >= set(expect)
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    out: dict[str, list[str]] = {}
    for run in runs:
        out.setdefault(run.name.rsplit("-", 1)[0], []).append(run.state.name if run.state else "")
    return out
