"""One run of a year at a time, and a `latest` that only moves forward (issue 29, point 3).

The store's locks and compare-and-swap on a local folder and on a real S3 server (SeaweedFS); two
`innomon run` commands started together on one store; a stale approval; two years publishing at
once; a publication whose public copy fails leaves nothing staged or public; a deployment run naming
another store than the worker's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from innomon import locks, storage
from innomon.errors import BusyError, ConfigError
from tests.conftest import S3_BUCKET, copy_demo_store

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["file", "s3"])
def root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A processed zone on a local folder, and one in a bucket of a real S3 server."""
    if request.param == "file":
        return storage.join(storage.as_uri(tmp_path / "store"), "processed")
    request.getfixturevalue("s3")
    return f"s3://{S3_BUCKET}/locks-{tmp_path.name}/processed"


def test_compare_and_swap_lets_only_the_first_writer_win(root: str) -> None:
    uri = storage.join(root, "pointer.json")
    assert storage.replace_if(uri, None, b"a") is True
    assert storage.replace_if(uri, None, b"b") is False  # it exists now: a create loses
    assert storage.replace_if(uri, b"x", b"b") is False  # not what the writer read
    assert storage.replace_if(uri, b"a", b"b") is True
    assert storage.read_bytes(uri) == b"b"
    assert storage.remove_if(uri, b"a") is False and storage.exists(uri)
    assert storage.remove_if(uri, b"b") is True and not storage.exists(uri)


def test_a_held_year_refuses_a_second_run_in_one_line(root: str) -> None:
    with locks.hold(root, "year-2023", "the run of 2023", run="flow-run-a"):
        with pytest.raises(BusyError) as err:
            with locks.hold(root, "year-2023", "the run of 2023", run="flow-run-b"):
                pytest.fail("a second holder got the lock")
        message = str(err.value)
        assert "\n" not in message and err.value.exit_code == 4
        assert "flow run flow-run-a" in message and f"process {os.getpid()}" in message
        with locks.hold(root, "year-2022", "the run of 2022"):  # another year runs alongside
            pass
    with locks.hold(root, "year-2023", "the run of 2023", run="flow-run-b"):  # released: free again
        assert json.loads(storage.read_bytes(locks.lock_uri(root, "year-2023")))["run"] == "flow-run-b"
    assert not storage.exists(locks.lock_uri(root, "year-2023"))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_dead_holders_lock_is_taken_over_and_the_loser_knows(root: str) -> None:
    uri = locks.lock_uri(root, "year-2023")
    dead = locks.try_acquire(root, "year-2023", "the run of 2023")
    assert isinstance(dead, locks.Lease)
    record = json.loads(dead.body)
    storage.write_bytes(uri, json.dumps({**record, "pid": _dead_pid()}).encode())  # its process died
    taker = locks.try_acquire(root, "year-2023", "the run of 2023", run="b")
    assert isinstance(taker, locks.Lease)
    expired = {**json.loads(taker.body), "host": "elsewhere", "expires_at": "2000-01-01T00:00:00+00:00"}
    storage.write_bytes(uri, json.dumps(expired).encode())  # a worker on another host whose lease ran out
    third = locks.try_acquire(root, "year-2023", "the run of 2023", run="c")
    assert isinstance(third, locks.Lease)
    assert taker.renew() is False and taker.lost  # the holder that was taken over finds out
    assert third.renew() is True
    alive = {**json.loads(third.body), "host": "elsewhere"}
    storage.write_bytes(uri, json.dumps(alive).encode())  # a live holder on another host: refused
    assert isinstance(locks.try_acquire(root, "year-2023", "the run of 2023", run="d"), dict)


def _staged_release(processed: str, year: int, rid: str, inputs: dict[str, str]) -> bytes:
    """A small release in the staging area, as `publish_task` leaves one."""
    from tasks.publish.stage import stage

    meta = {"run_id": rid, "year": year, "inputs_sha256": inputs, "workbook": "w.xlsx", "site_title": "T"}
    manifest, _ = stage({"w.xlsx": f"{rid}-{year}".encode()}, storage.join(processed, "staging"), year, rid, meta)
    return manifest


def _release(processed: str, published: str, year: int, rid: str, manifest: bytes) -> dict:
    from tasks.publish.pointers import promote
    from tasks.publish.stage import release_public

    staging = storage.join(processed, "staging")
    return promote(
        published, processed, year, rid, manifest, "T", lambda: release_public(staging, published, year, rid)
    )


def test_a_stale_approval_cannot_move_latest_back(tmp_path: Path) -> None:
    """Release A waits for approval; the export is replaced and release B becomes latest; A is
    approved days later: `latest` stays at B, and A never becomes public."""
    from tasks.publish.pointers import latest_run_id, record_inputs, rollback

    store = storage.as_uri(tmp_path / "store")
    processed, published = storage.join(store, "processed"), storage.join(store, "published")
    record_inputs(processed, {"2023": "export-a", "2022": "export-2022"})
    a = _staged_release(processed, 2023, "a" * 16, {"2023": "export-a", "2022": "export-2022"})
    record_inputs(processed, {"2023": "export-b", "2022": "export-2022"})
    b = _staged_release(processed, 2023, "b" * 16, {"2023": "export-b", "2022": "export-2022"})
    assert _release(processed, published, 2023, "b" * 16, b)["promoted"] is True
    late = _release(processed, published, 2023, "a" * 16, a)
    assert late == {"index": storage.join(published, "index.html"), "promoted": False, "newer_latest": "b" * 16}
    assert latest_run_id(published, 2023) == "b" * 16
    assert not (tmp_path / "store/published/2023/runs" / ("a" * 16)).exists()  # nothing of A is public
    record_inputs(processed, {"2023": "export-b", "2022": "export-2022", "2023-corrections": "fix-1"})
    c = _staged_release(processed, 2023, "c" * 16, {"2023": "export-b", "2023-corrections": "fix-1"})
    assert _release(processed, published, 2023, "c" * 16, c)["promoted"] is True  # newer inputs move it on
    rollback(published, processed, 2023, "b" * 16)  # only the operator's rollback moves it back
    assert latest_run_id(published, 2023) == "b" * 16


def test_two_years_publishing_at_once_both_reach_the_index(tmp_path: Path) -> None:
    store = storage.as_uri(tmp_path / "store")
    processed, published = storage.join(store, "processed"), storage.join(store, "published")
    for round_ in range(5):
        rids = {year: f"{year}{round_:012d}" for year in (2021, 2022, 2023)}
        manifests = {y: _staged_release(processed, y, rid, {str(y): f"e{y}{round_}"}) for y, rid in rids.items()}
        errors: list[BaseException] = []

        def go(year: int, rid: str = "", manifests: dict = manifests, errors: list = errors) -> None:
            try:
                _release(processed, published, year, rid, manifests[year])
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=go, args=(y, r)) for y, r in rids.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        page = (tmp_path / "store/published/index.html").read_text(encoding="utf-8")
        assert all(f"{y}/runs/{rid}/" in page for y, rid in rids.items()), round_


def test_a_failed_public_copy_leaves_nothing_staged_or_public(demo: dict, tmp_path: Path, monkeypatch) -> None:
    """The public zone cannot be written (a file where its folder should be): the release step fails
    after its retries, the publication's transaction rolls back and removes the release this run
    staged, and nothing is public."""
    from innomon.cli import run_year
    from innomon.errors import InnomonError

    monkeypatch.setenv("INNOMON_RETRY_DELAYS", "0,0")
    store = copy_demo_store(demo, tmp_path / "store")
    shutil.rmtree(store / "processed/staging")  # the demo's staged releases: this run stages anew
    blocked = tmp_path / "public"
    blocked.write_text("not a folder")
    with pytest.raises((InnomonError, OSError)):
        run_year(2023, str(demo["exports"]), str(store), published=str(blocked))
    staged = list((store / "processed/staging/2023/runs").glob("*/manifest.json"))
    assert staged == [], "the staged release of the failed publication was rolled back"
    assert list((store / "processed/staging/2023/runs").rglob("*.xlsx")) == []
    assert blocked.read_text() == "not a folder"


def test_a_deployment_run_on_another_store_is_refused(tmp_path: Path, monkeypatch) -> None:
    from innomon.run_guard import one_run_per_year

    own, other = tmp_path / "own", tmp_path / "other"
    monkeypatch.setenv("INNOMON_STORE", str(own))
    monkeypatch.setenv("INNOMON_RAW_ROOT", str(tmp_path / "raw"))
    monkeypatch.delenv("INNOMON_ALLOWED_ROOTS", raising=False)
    processed = storage.join(storage.as_uri(other), "processed")
    roots = {"raw root": str(tmp_path / "raw"), "store": str(other), "published root": None}
    with pytest.raises(ConfigError) as err:
        with one_run_per_year(2023, processed, roots, deployment=True):
            pytest.fail("ran on a store the worker does not own")
    assert f"names the store {storage.as_uri(other)}" in str(err.value) and "\n" not in str(err.value)
    assert not other.exists()  # refused before anything was written
    monkeypatch.setenv("INNOMON_ALLOWED_ROOTS", f"{tmp_path / 'elsewhere'}, {tmp_path}")
    with one_run_per_year(2023, processed, roots, deployment=False):  # the command line: the operator's own
        pass
    from innomon.run_guard import root_refusal

    assert root_refusal(roots) is None  # inside an allowlisted folder
    monkeypatch.setenv("INNOMON_ALLOWED_ROOTS", str(tmp_path / "elsewhere"))
    assert "INNOMON_ALLOWED_ROOTS does not hold it" in str(root_refusal(roots))
    assert root_refusal({**roots, "store": str(own)}) is None


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "innomon.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
        env=env,
    )


def test_two_runs_of_one_year_started_together(exports: Path, tmp_path: Path) -> None:
    """`innomon run --year 2023` twice on one empty store: the first runs, the second refuses with
    exit 4 and one line while the first holds the year; `latest` then verifies."""
    from prefect.settings import PREFECT_API_URL

    from innomon.store_check import verify_store

    store = tmp_path / "store"
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    args = ["run", "--year", "2023", "--raw-root", str(exports), "--store", str(store)]
    first = _cli(args, env)
    lock = store / "processed/locks/year-2023.json"
    deadline = time.monotonic() + 300
    while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lock.exists(), first.communicate()
    second = _cli(args, env)
    out2, err2 = second.communicate(timeout=600)
    _, err1 = first.communicate(timeout=900)
    assert first.returncode == 0, err1
    assert second.returncode == 4, (out2, err2)
    refusal = [line for line in (out2 + err2).splitlines() if line.strip()]
    assert len(refusal) == 1 and "The run of 2023 cannot start: the store is held by the run of 2023" in refusal[0]
    assert not lock.exists()  # released when the first run ended
    pointer = json.loads((store / "published/2023/latest.json").read_text())
    assert (store / "published/2023" / pointer["manifest"]).is_file()
    assert verify_store(str(store), None) == []


def test_deployment_runs_of_one_year_queue_on_a_prefect_concurrency_limit() -> None:
    """The year's slot: a global concurrency limit of 1, created on first use; a second run of the
    year waits for it (here: gives up after 2 s), another year does not."""
    from prefect.client.orchestration import get_client

    from innomon.run_guard import year_slot, year_slot_name

    with year_slot(2031):
        with get_client(sync_client=True) as client:
            limit = client.read_global_concurrency_limit_by_name(year_slot_name(2031))
        assert limit.limit == 1 and limit.active_slots == 1
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            with year_slot(2031, timeout_seconds=2):
                pytest.fail("a second run of 2031 got the slot")
        assert time.monotonic() - started >= 2
        with year_slot(2032, timeout_seconds=5):  # another year runs alongside
            pass
    with year_slot(2031, timeout_seconds=5):  # free again once the first run ended
        pass
