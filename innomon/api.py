"""The Prefect API a command talks to: the operator's server when one is configured, else a local
API that this process starts and stops.

Why not Prefect's own ephemeral mode: it starts its server only when the first flow is called
(after every import), gives it 20 s (on a 2-core machine a brand-new `PREFECT_HOME` needs 20 s and
more: 4-5 s of imports, about 10 s of database migrations, 2-5 s of block registration), and on
every start imports all installed block collections to register them. We start the same server
(uvicorn with `prefect.server.api.server:create_app`, no UI, the ephemeral set of services) at the
start of the command, so it boots on the other core while the command imports its libraries and
checks its configuration; we wait minutes, not seconds, for a first start; and block registration
is off (a block type is registered by the client that saves a block, `Block.save`). Measured in
`bench/api_start.py`.

No library starts a Prefect API this way, so the small process management here is our own.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from innomon.errors import InnomonError

DEFAULT_STARTUP_TIMEOUT = 600.0  # seconds; a first start on a busy 2-core machine took 40 s and more
SLOW_NOTICE_AFTER = 15.0  # seconds after which the wait is explained on the console

# The server process's settings: no UI (nobody looks at a per-command API); of the services an
# ephemeral server runs, the task run recorder and event persister (task states reach the
# database) but not the automation triggers and actions (no automation lives in a per-command API;
# the operator's server keeps them); no block registration at start; no telemetry.
SERVER_ENV = {
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


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


class LocalApi:
    """A Prefect API server in a child process, on a free loopback port, for this command only.

    Its database is the one in `PREFECT_HOME` (as with Prefect's ephemeral mode), so the runs of
    past commands stay visible to `prefect server start` on the same home."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self._log = tempfile.TemporaryFile()
        self.started = time.monotonic()
        self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={**os.environ, **SERVER_ENV},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        atexit.register(self.stop)

    def _tail(self) -> str:
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace").strip()
        return text[-1500:]

    def wait_ready(self, timeout: float | None = None, notify: Callable[[str], None] | None = None) -> float:
        """Block until `/api/health` answers; returns the seconds since the start. The limit is wall
        time (`INNOMON_API_STARTUP_TIMEOUT`, default 600 s)."""
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
                if self.process is None or self.process.poll() is not None:
                    code = None if self.process is None else self.process.returncode
                    raise ApiError(
                        f"The local Prefect API exited with code {code} while starting; its output: {self._tail()}"
                    )
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
        """Terminate the server (SIGTERM, then SIGKILL after 10 s)."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


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
        self.local: LocalApi | None = None if self.url else LocalApi()
        self._settings: AbstractContextManager[Any] = nullcontext()
        self.ready_after: float | None = None

    @property
    def description(self) -> str:
        return f"local API {self.local.url}" if self.local else f"API {self.url}"

    def __enter__(self) -> PrefectApi:
        if self.local is not None:
            self.ready_after = self.local.wait_ready(notify=self.notify)
            from prefect.settings import PREFECT_API_URL, temporary_settings

            self._settings = temporary_settings(updates={PREFECT_API_URL: self.local.url})
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
            if self.local is not None:
                self.local.stop()
