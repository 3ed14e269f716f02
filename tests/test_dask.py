"""Optional Dask execution: one task per table and per model on a two-worker LocalCluster, with the
store and the task results in S3 (SeaweedFS), gives the default runner's files byte for byte.

The S3 store starts as a copy of the demo's raw and processed zones, its task results included
(D34: results kept inside a store travel with it), so the years' own steps come from cache and the
run computes what the Dask runner splits: the tables and the models."""

from __future__ import annotations

from pathlib import Path

import pytest

from innomon import result_storage, storage
from innomon.cli import run_year
from tests.helpers import YEAR_STAGES, assert_cached, latest_release, task_states
from tests.s3server import BUCKET

STORE = f"s3://{BUCKET}/dask-store"
RESULTS = "dask-store/processed/_prefect-results"  # inside the store


def _upload_zones(s3, demo: dict) -> None:
    """The demo store's raw and processed zones (its cached results among them), copied into S3."""
    client = s3.client()
    store = Path(demo["store"])
    for zone in ("raw", "processed"):
        for path in sorted((store / zone).rglob("*")):
            if path.is_file():
                client.upload_file(str(path), BUCKET, f"dask-store/{path.relative_to(store).as_posix()}")


@pytest.fixture()
def dask_run(s3, demo: dict, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INNOMON_TASK_RUNNER", "dask")
    _upload_zones(s3, demo)
    result_storage.configure(f"s3://{BUCKET}/{RESULTS}")
    try:
        result = run_year(2023, str(demo["exports"]), STORE)
        states = task_states(expect=("table", "model"))  # the compute subflow's tasks
        annual = task_states(expect=YEAR_STAGES, flow="innomon-annual")
    finally:
        result_storage.clear_server_default()
    return result, states, annual


def test_dask_runner_gives_identical_tables(dask_run, demo: dict, s3) -> None:
    from innomon import config

    result, states, annual = dask_run
    assert_cached(annual, YEAR_STAGES, "the S3 copy of the demo's zones resumes from its cache")
    cfg = config.load(2023)
    assert len(states["table"]) == len(cfg["tables"]["tables"])
    assert len(states["model"]) == len(cfg["models"]["models"])
    assert all(s == "Completed" for s in states["table"] + states["model"])
    assert "indicators" not in states and "models" not in states  # the per-stage tasks did not run

    default = latest_release(Path(demo["store"]), 2023)
    published = f"{STORE}/published/2023/runs/{result['run_id']}"
    for name in ("data/tables.csv", "data/models.csv", "data/model_fit.csv"):
        assert storage.read_bytes(f"{published}/{name}") == (default / name).read_bytes(), name
    # Where the work ran is not an input: same run id as the default runner's release.
    assert result["run_id"] == default.name

    client = s3.client()
    demo_results = len(list((Path(demo["store"]) / "processed" / "_prefect-results").iterdir()))
    stored = client.list_objects_v2(Bucket=BUCKET, Prefix=f"{RESULTS}/", MaxKeys=10000).get("KeyCount", 0)
    assert stored >= demo_results + len(states["table"]) + len(states["model"])  # the Dask tasks' results too
