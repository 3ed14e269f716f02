"""Task results in S3 (a prefect-aws S3Bucket block as the server's default result storage).

With workers on several machines a Retry or a rerun may land on a worker that never saw the first
attempt. Here "another worker" is the same process with an empty local result folder: it must still
find every finished step in S3, and with the S3 results gone it must recompute them.
"""

from __future__ import annotations

from pathlib import Path

from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

from innomon import result_storage
from innomon.cli import main, run_year
from schemas.vocabulary import STAGES as ALL_STAGES
from tests.helpers import task_states
from tests.s3server import BUCKET as S3_BUCKET

# The cached stages that keep a result in the result storage (fetch and publish are never cached; weights
# keeps its result like the others but is not what this test is about).
STAGES = tuple(s for s in ALL_STAGES if s not in ("fetch", "weights", "publish"))


def _keys(client, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def _run_as_worker(folder: Path, exports: Path, store: str) -> tuple[dict, dict[str, list[str]]]:
    folder.mkdir()
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: folder}):
        result = run_year(2021, str(exports), store)
    return result, task_states()


def test_results_in_s3_let_any_worker_resume(s3, exports: Path, tmp_path: Path, capsys) -> None:
    client = s3.client()
    store = f"s3://{S3_BUCKET}/results-test-store"
    assert main(["result-storage", f"s3://{S3_BUCKET}/prefect-results"]) == 0
    assert f"s3://{S3_BUCKET}/prefect-results" in capsys.readouterr().out
    try:
        first, states = _run_as_worker(tmp_path / "worker-a", exports, store)
        for stage in STAGES:
            assert states[stage] == ["Completed"], (stage, states[stage])
        stored = _keys(client, "prefect-results/")
        assert len(stored) >= len(STAGES)
        assert not any((tmp_path / "worker-a").iterdir()), "results must not be kept on the worker's disk"

        second, states = _run_as_worker(tmp_path / "worker-b", exports, store)
        for stage in STAGES:
            assert states[stage] == ["Cached"], (stage, states[stage])
        assert second["run_id"] == first["run_id"] and second["new_release"] is False

        client.delete_objects(Bucket=S3_BUCKET, Delete={"Objects": [{"Key": k} for k in stored]})
        third, states = _run_as_worker(tmp_path / "worker-c", exports, store)
        for stage in STAGES:
            assert states[stage] == ["Completed"], (stage, states[stage])
        assert third["run_id"] == first["run_id"] and third["new_release"] is False
    finally:
        assert main(["result-storage", "--clear"]) == 0
    assert result_storage.describe().startswith("file://")
