"""The Prefect API a command talks to: the operator's server when one is configured, else a local
API that the first command starts and the next commands reuse until it has been idle for a while.

Why not Prefect's own ephemeral mode: it starts its server only when the first flow is called
(after every import), gives it 20 s (on a 2-core machine a brand-new `PREFECT_HOME` needs 20 s and
more: 4-5 s of imports, about 10 s of database migrations, 2-5 s of block registration), starts a
new one for every command, and on every start imports all installed block collections to register
them. We start the same server (Prefect's app under uvicorn, no UI, the ephemeral set of services
less automations) as the first act of a command, so it boots on the other core while the command
imports its libraries and checks its configuration; we wait minutes, not seconds, for a first
start; block registration is off (a block type is registered by the client that saves a block,
`Block.save`); and the server stays up for the next command until it has had nothing to do for
`INNOMON_LOCAL_API_IDLE` seconds (`innomon.api_server`). Measured in `bench/cli.py`.

No library starts and reuses a Prefect API this way, so the small process management here is our own.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from innomon.errors import InnomonError

DEFAULT_IDLE = 600.0  # seconds a local API waits for the next command
DEFAULT_STARTUP_TIMEOUT = 600.0  # seconds; a first start on a busy 2-core machine took 40 s and more
SLOW_NOTICE_AFTER = 15.0  # seconds after which the wait is explained on the console

# The server process's settings: no UI (nobody looks at a per-command API); of the services an
# ephemeral server runs, the task run recorder and event persister (task states reach the
# database) but not the automation triggers and actions (no automation lives in a per-command API;
# the operator's server keeps them); no block registration at start; no telemetry. The task run
# recorder writes its events in batches, at least once a second, instead of one database
# transaction per event (Prefect's default batch is 1): a run's some 90 task-state events cost the
# server 40% less CPU (1.2 s instead of 2.0 s a run here), and a state reaches the database within
# a second.
SERVER_ENV = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def local_run_settings() -> dict[Any, Any]:
    """Prefect settings of the runs a command makes on the local API.

    No flow-run heartbeats: they are events for an automation that marks a silent run as crashed,
    and the local API runs no automations (`SERVER_ENV`). Their thread sleeps in one-second steps
    and the run waits for it to wake when it ends, about half a second a run (0.8 s of a 1.4 s
    refused run here). Runs against a configured server (an operator's, or a worker's) keep them."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    return {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}


class ApiError(InnomonError):
    """The Prefect API could not be reached or started (exit 1: not an input or config error)."""

    exit_code = 1


def configured_api_url() -> str | None:
    """The API URL of the environment, profile or enclosing settings context (a test harness), if any."""
    env = os.environ.get("PREFECT_API_URL")
    if env:
        return env
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prefect_home() -> Path:
    """`PREFECT_HOME` (Prefect's default `~/.prefect`): where the local API's database and address live."""
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


def idle_seconds() -> float:
    """How long a local API waits for the next command before it exits (`INNOMON_LOCAL_API_IDLE`,
    default 600 s; 0: stop it at the end of the command that started it)."""
    return float(os.environ.get("INNOMON_LOCAL_API_IDLE", DEFAULT_IDLE))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def _fingerprint() -> str:
    """The interpreter and Prefect a local API runs with: a command reuses only a server of its own kind."""
    from importlib.metadata import version

    return f"{sys.executable} prefect {version('prefect')}"


class LocalApi:
    """A Prefect API server on a free loopback port, started by a command and reused by the next
    commands of the same `PREFECT_HOME` until it has been idle for `idle_seconds()`.

    Its database is the one in `PREFECT_HOME` (as with Prefect's ephemeral mode), so the runs of
    past commands stay visible to `prefect server start` on the same home. Its address is kept in
    `PREFECT_HOME/innomon-local-api.json`, its output in `innomon-local-api.log` beside it."""

    def __init__(self, url: str, pid: int, started: float, owned: bool) -> None:
        self.url = url
        self.pid = pid
        self.started = started
        self.owned = owned  # started by this command and to be stopped by it (idle 0)

    @staticmethod
    def state_file() -> Path:
        return prefect_home() / "innomon-local-api.json"

    @staticmethod
    def log_file() -> Path:
        return prefect_home() / "innomon-local-api.log"

    @classmethod
    def running(cls) -> LocalApi | None:
        """The local API of this home if its process lives and it is of this interpreter and Prefect."""
        try:
            state = json.loads(cls.state_file().read_text())
        except (OSError, ValueError):
            return None
        if state.get("fingerprint") != _fingerprint() or not _alive(int(state.get("pid", 0))):
            return None
        return cls(state["url"], int(state["pid"]), time.monotonic(), owned=False)

    @classmethod
    def start(cls) -> LocalApi:
        """Start a server (in its own session, so it outlives the command when it is to be reused)."""
        idle = idle_seconds()
        port = _free_port()
        home = prefect_home()
        home.mkdir(parents=True, exist_ok=True)
        with open(cls.log_file(), "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "innomon.api_server", "--port", str(port), "--idle", str(idle or 3600)],
                env={**os.environ, **SERVER_ENV},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        api = cls(f"http://127.0.0.1:{port}/api", proc.pid, time.monotonic(), owned=idle <= 0)
        api._process = proc
        if api.owned:
            atexit.register(api.stop)
        else:
            state = {"url": api.url, "pid": proc.pid, "fingerprint": _fingerprint()}
            cls.state_file().write_text(json.dumps(state))
        return api

    @classmethod
    def find_or_start(cls) -> LocalApi:
        return cls.running() or cls.start()

    def _tail(self) -> str:
        try:
            return self.log_file().read_text("utf-8", "replace").strip()[-1500:]
        except OSError:
            return ""

    def _exited(self) -> bool:
        proc = getattr(self, "_process", None)
        if proc is not None:
            return proc.poll() is not None
        return not _alive(self.pid)

    def wait_ready(self, timeout: float | None = None, notify: Callable[[str], None] | None = None) -> float:
        """Block until `/api/health` answers; returns the seconds waited. The limit is wall time
        (`INNOMON_API_STARTUP_TIMEOUT`, default 600 s)."""
        import httpx

        limit = (
            timeout
            if timeout is not None
            else float(os.environ.get("INNOMON_API_STARTUP_TIMEOUT", DEFAULT_STARTUP_TIMEOUT))
        )
        noticed = False
        with httpx.Client(timeout=5) as client:
            while True:
                elapsed = time.monotonic() - self.started
                if self._exited():
                    self.stop()
                    raise ApiError(f"The local Prefect API exited while starting; its output: {self._tail()}")
                try:
                    if client.get(f"{self.url}/health").status_code == 200:
                        return elapsed
                except httpx.HTTPError:
                    pass
                if elapsed > limit:
                    self.stop()
                    raise ApiError(
                        f"The local Prefect API did not answer within {limit:.0f} s (INNOMON_API_STARTUP_TIMEOUT); "
                        f"its output: {self._tail() or '(none)'}"
                    )
                if notify and not noticed and elapsed > SLOW_NOTICE_AFTER:
                    notify(
                        "Waiting for the local Prefect API (its first start in a new PREFECT_HOME creates the "
                        "database, which can take a minute)..."
                    )
                    noticed = True
                time.sleep(0.05)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 10 s) and forget its address."""
        proc = getattr(self, "_process", None)
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        elif _alive(self.pid):
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
        try:
            state = json.loads(self.state_file().read_text())
            if int(state.get("pid", 0)) == self.pid:
                self.state_file().unlink()
        except (OSError, ValueError):
            pass


def _drain_events() -> None:
    """Send the task-state events still queued in this process before the local API stops, so the
    run's record in the database is complete."""
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        EventsWorker.drain_all(timeout=10)
        APILogWorker.drain_all(timeout=10)
    except Exception:  # best effort: the figures and the bundle do not depend on it
        pass


class PrefectApi(AbstractContextManager["PrefectApi"]):
    """The API of one command: entered, it points Prefect's settings at it (and waits for a local
    server to answer); left, it stops a server it started."""

    def __init__(self, notify: Callable[[str], None] | None = None) -> None:
        self.notify = notify
        self.url = configured_api_url()
        self.local: LocalApi | None = None if self.url else LocalApi.find_or_start()
        self._settings: AbstractContextManager[Any] = nullcontext()
        self.ready_after: float | None = None

    @property
    def description(self) -> str:
        if self.local is None:
            return f"API {self.url}"
        how = "stopped at the end" if self.local.owned else f"kept for {idle_seconds():.0f} s idle"
        return f"local API {self.local.url} ({how})"

    def __enter__(self) -> PrefectApi:
        if self.local is not None:
            self.ready_after = self.local.wait_ready(notify=self.notify)
            from prefect.settings import PREFECT_API_URL, temporary_settings

            self._settings = temporary_settings(updates={PREFECT_API_URL: self.local.url, **local_run_settings()})
        else:
            self._check_reachable()
        self._settings.__enter__()
        return self

    def _check_reachable(self) -> None:
        import httpx

        try:
            ok = httpx.get(f"{str(self.url).rstrip('/')}/health", timeout=10).status_code == 200
        except httpx.HTTPError:
            ok = False
        if not ok:
            raise ApiError(
                f"The Prefect API at {self.url} (PREFECT_API_URL) does not answer; start it "
                "(`prefect server start`) or unset PREFECT_API_URL to use a local API for this command."
            )

    def __exit__(self, *exc: object) -> None:
        try:
            if self.local is not None:
                _drain_events()
        finally:
            self._settings.__exit__(*exc)
            if self.local is not None and self.local.owned:
                self.local.stop()
