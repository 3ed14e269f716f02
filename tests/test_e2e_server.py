"""End to end against a real Prefect server: deploy, worker, a failed publish, Retry through the API
(as the UI's button does), approval through the API, and a stage re-run."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from innomon import config
from schemas.vocabulary import STAGES as ALL_STAGES
from tests.conftest import exports_folder
from tests.helpers import edit_yaml, without_comparisons

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("prefect-server")
    cdir = root / "configs"  # the monitor lead's approval gate is on for this test
    shutil.copytree(config.config_dir(), cdir)
    edit_yaml(cdir / "base.yaml", lambda base: base["publish"].update(approval_required=True))
    without_comparisons(cdir)  # the subject is the orchestration (deploy, worker, Retry, approval)
    port = _port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(root / "home"),
        PREFECT_API_URL=api,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
        INNOMON_HOME=str(PROJECT),
        INNOMON_CONFIG_DIR=str(cdir),
        # The exports only (the run builds its own store). Their folder is named, not awaited: the
        # server starts while another test process may still be writing them; the test that runs
        # the flow asks for them.
        INNOMON_RAW_ROOT=str(exports_folder(tmp_path_factory)),
        INNOMON_STORE=str(root / "store"),
        INNOMON_PUBLISHED=str(root / "published"),  # the worker's own roots: a run may name no other
        PREFECT_LOGGING_LEVEL="INFO",
    )
    logs = {n: open(root / f"{n}.log", "wb") for n in ("server", "worker")}
    srv = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=logs["server"],
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = None
    try:
        _wait(lambda: _healthy(api), 120, "the Prefect server", 0.25)
        hook = _WebhookSink()
        # One process sets the server up as an operator would with three commands (`prefect work-pool
        # create innomon --type process`, saving the notification block, `python deployments/deploy.py`):
        # each command would pay Prefect's import again.
        setup = (
            "from prefect.client.orchestration import get_client; "
            "from prefect.client.schemas.actions import WorkPoolCreate; "
            "from prefect.workers.process import ProcessWorker; "
            "from prefect.blocks.notifications import CustomWebhookNotificationBlock as B; "
            "import runpy; "
            "client = get_client(sync_client=True).__enter__(); "
            "client.create_work_pool(WorkPoolCreate(name='innomon', type='process', "
            "base_job_template=ProcessWorker.get_default_base_job_template())); "
            f"B(name='innomon-ops', url='{hook.url}', json_data={{'text': '{{{{subject}}}}'}}).save('innomon-ops'); "
            "runpy.run_path('deployments/deploy.py', run_name='__main__')"
        )
        subprocess.run(
            [sys.executable, "-c", setup],
            env={**env, "INNOMON_NOTIFY_BLOCK": "custom-webhook/innomon-ops"},
            cwd=PROJECT,
            check=True,
            capture_output=True,
        )
        worker = subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", "innomon"],
            env=env,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        yield {"api": api, "root": root, "store": root / "store", "hook": hook, "raw_root": env["INNOMON_RAW_ROOT"]}
    finally:
        if worker is not None:  # the worker stops on SIGINT, and before the server
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        srv.terminate()
        try:
            srv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            srv.kill()


class _WebhookSink:
    """A local HTTP endpoint that records what the notification block posts."""

    def __init__(self) -> None:
        import http.server
        import threading

        received: list[bytes] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.received = received
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _post(url: str, body: dict) -> httpx.Response:
    """POST as Prefect's own client does: a 503 (the server's SQLite database briefly locked on a
    busy machine) is retried after a pause, up to five times."""
    for attempt in range(5):
        response = httpx.post(url, json=body, timeout=10)
        if response.status_code != 503:
            break
        time.sleep(1 + attempt)
    response.raise_for_status()
    return response


def _run(api: str, deployment: str, parameters: dict) -> str:
    dep = httpx.get(f"{api}/deployments/name/innomon-annual/{deployment}", timeout=10).json()
    run = _post(f"{api}/deployments/{dep['id']}/create_flow_run", {"parameters": parameters}).json()
    return run["id"]


def _state(api: str, run_id: str) -> tuple[str, str]:
    state = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()["state"]
    return state["type"], state["name"]


# The stages whose task runs this test waits for: every stage but fetch and weights (not what it is about).
STAGES = tuple(s for s in ALL_STAGES if s not in ("fetch", "weights"))


def _task_states(api: str, run_id: str, since: str, expect: tuple[str, ...] = STAGES) -> dict[str, str]:
    """States of the task runs of a flow run created after `since` (an ISO time), by task name.

    Task runs reach the server as events, a moment after the flow run's own state (later still on a
    busy machine): wait until every task named in `expect` has a run and every run's state is final
    (as `tests.helpers.task_states` does)."""
    final = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
    deadline = time.monotonic() + 60
    while True:
        runs = _post(f"{api}/task_runs/filter", {"flow_runs": {"id": {"any_": [run_id]}}}).json()
        fresh = [r for r in runs if r["created"] > since]
        names = {r["name"].rsplit("-", 1)[0] for r in fresh}
        done = all((r.get("state") or {}).get("type") in final for r in fresh) and names >= set(expect)
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    out: dict[str, set[str]] = {}
    for r in fresh:
        out.setdefault(r["name"].rsplit("-", 1)[0], set()).add(r["state"]["name"])
    return {k: ",".join(sorted(v)) for k, v in out.items()}


def _now(api: str, run_id: str) -> str:
    return httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()["updated"]


def _asset_keys(api: str) -> set[str]:
    """The assets the server was told were materialized."""
    from prefect.events.filters import EventFilter, EventNameFilter

    wanted = EventFilter(event=EventNameFilter(prefix=["prefect.asset.materialization"]))
    page = _post(f"{api}/events/filter", {"filter": wanted.model_dump(mode="json"), "limit": 50}).json()
    keys = {e["resource"]["prefect.resource.id"] for e in page["events"]}
    while page.get("next_page"):
        page = httpx.get(page["next_page"], timeout=10).json()
        keys |= {e["resource"]["prefect.resource.id"] for e in page["events"]}
    return keys


def test_a_run_naming_another_store_than_the_workers_is_refused(server: dict, tmp_path: Path) -> None:
    """A run's parameters come from a form in the UI: a store the worker does not own is refused
    before anything is read or written."""
    other = tmp_path / "someone-elses-store"
    run_id = _run(server["api"], "annual", {"year": 2023, "store": str(other)})
    _wait(lambda: _state(server["api"], run_id)[0] in ("FAILED", "CRASHED", "COMPLETED"), 300, "the run", 0.5)
    state = httpx.get(f"{server['api']}/flow_runs/{run_id}", timeout=10).json()["state"]
    assert state["type"] == "FAILED", state
    assert "INNOMON_ALLOWED_ROOTS does not hold it" in state["message"], state["message"]
    assert not other.exists()


def test_annual_deployment_is_scheduled_from_the_config(server: dict) -> None:
    dep = httpx.get(f"{server['api']}/deployments/name/innomon-annual/annual", timeout=10).json()
    schedule = dep["schedules"][0]["schedule"]
    cfg = config.load(config.available_years()[-1])
    assert schedule["cron"] == cfg["schedule"]["cron"] and schedule["timezone"] == cfg["schedule"]["timezone"]
    assert "year" not in dep["parameters"]  # a scheduled run takes the year it runs in


def test_failed_publish_is_retried_from_cache_approved_and_published_once(server: dict, exports: Path) -> None:
    assert Path(server["raw_root"]) == exports
    api, store = server["api"], server["store"]
    published = server["root"] / "published"
    staging = Path(store) / "processed" / "staging"
    staging.parent.mkdir(parents=True, exist_ok=True)
    staging.write_text("a file where the staging folder belongs: the store cannot be written")
    run_id = _run(api, "annual", {"year": 2023, "published_root": str(published)})
    _wait(lambda: _state(api, run_id)[0] in ("FAILED", "CRASHED"), 300, "the run to fail", 0.5)
    # The failure automation created by deployments/deploy.py notifies the operators.
    _wait(lambda: server["hook"].received, 120, "the failure notification", 0.5)
    assert b"Failed" in server["hook"].received[0]

    staging.unlink()  # the operator fixes the cause and presses Retry
    since = _now(api, run_id)
    _post(
        f"{api}/flow_runs/{run_id}/set_state", {"state": {"type": "SCHEDULED", "name": "AwaitingRetry"}, "force": True}
    )
    _wait(lambda: _state(api, run_id)[0] == "PAUSED", 300, "the approval pause", 0.5)
    states = _task_states(api, run_id, since, expect=STAGES[:-1])  # paused before publishing is approved
    for stage in ("ingest", "derive", "validate", "link", "indicators", "models"):
        assert states[stage] == "Cached", (stage, states)
    releases = list((staging / "2023" / "runs").iterdir())
    assert len(releases) == 1 and not published.exists()  # staged privately: nothing public before approval

    answer = {"approved": True, "approver": "A. Bakker", "note": "akkoord"}
    _post(f"{api}/flow_runs/{run_id}/resume", {"run_input": answer})
    _wait(lambda: _state(api, run_id)[0] == "COMPLETED", 300, "the run to complete", 0.5)
    import json

    assert json.loads((published / "2023" / "latest.json").read_text())["run_id"] == releases[0].name
    assert len(list((published / "2023" / "runs").iterdir())) == 1
    # The release's public files are Prefect assets of the run (materialization events), nothing private.
    public_files = [p for p in (published / "2023/runs" / releases[0].name).rglob("*") if p.is_file()]
    expected = {p.as_uri() for p in public_files}  # every public file of the release, manifest included
    _wait(lambda: _asset_keys(api) >= expected, 60, "the release's asset events", 0.5)  # events trickle in
    keys = _asset_keys(api)
    assert keys == expected and any(k.endswith("/innovatiemonitor-2023.xlsx") for k in keys), keys

    # The stage deployment "publish" alone: nothing upstream is recomputed.
    stage_run = _run(api, "stage-publish", {"published_root": str(published)})
    _wait(lambda: _state(api, stage_run)[0] == "COMPLETED", 300, "the publish stage", 0.5)
    states = _task_states(api, stage_run, "")
    assert states["indicators"] == "Cached" and states["models"] == "Cached"
    assert states["publish"] == "Completed"
    assert len(list((published / "2023" / "runs").iterdir())) == 1
    assert store.exists()
