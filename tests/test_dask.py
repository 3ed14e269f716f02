"""Optional Dask execution: one task per table and per model on a two-worker LocalCluster, with the
store and the task results in S3 (SeaweedFS), gives the default runner's files byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from innomon import result_storage, storage
from innomon.cli import run_year
from tests.helpers import latest_release, task_states
from tests.s3server import BUCKET


@pytest.fixture()
def dask_run(s3, demo: dict, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INNOMON_TASK_RUNNER", "dask")
    result_storage.configure(f"s3://{BUCKET}/dask-results")
    try:
        result = run_year(2023, str(demo["exports"]), f"s3://{BUCKET}/dask-store")
        states = task_states(expect=("table", "model"))  # the compute subflow's tasks
    finally:
        result_storage.clear_server_default()
    return result, states


def test_dask_runner_gives_identical_tables(dask_run, demo: dict, s3) -> None:
    from innomon import config

    result, states = dask_run
    cfg = config.load(2023)
    assert len(states["table"]) == len(cfg["tables"]["tables"])
    assert len(states["model"]) == len(cfg["models"]["models"])
    assert all(s == "Completed" for s in states["table"] + states["model"])
    assert "indicators" not in states and "models" not in states  # the per-stage tasks did not run

    default = latest_release(Path(demo["store"]), 2023)
    published = f"s3://{BUCKET}/dask-store/published/2023/runs/{result['run_id']}"
    for name in ("data/tables.csv", "data/models.csv", "data/model_fit.csv"):
        assert storage.read_bytes(f"{published}/{name}") == (default / name).read_bytes(), name
    # Where the work ran is not an input: same run id as the default runner's release.
    assert result["run_id"] == default.name

    client = s3.client()
    stored = client.list_objects_v2(Bucket=BUCKET, Prefix="dask-results/").get("KeyCount", 0)
    assert stored >= len(states["table"]) + len(states["model"])
