"""The Prefect API of a command: a configured API that does not answer is one sentence, and a
local API that does not come up in time is stopped with a message naming the limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from innomon.api import ApiError, LocalApi, PrefectApi, _free_port


def test_configured_api_that_does_not_answer_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_free_port()}/api"
    monkeypatch.setenv("PREFECT_API_URL", url)
    api = PrefectApi()
    assert api.local is None  # a configured API is used, no server is started
    with pytest.raises(ApiError, match=r"does not answer") as err:
        api.__enter__()
    assert url in str(err.value)


def test_local_api_startup_limit_stops_the_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    local = LocalApi.start()
    with pytest.raises(ApiError, match=r"did not answer within 0 s \(INNOMON_API_STARTUP_TIMEOUT\)"):
        local.wait_ready(timeout=0.2)
    assert local._process.poll() is not None  # stopped, not left running
    assert LocalApi.running() is None and not LocalApi.state_file().exists()


def test_local_api_is_reused_then_exits_when_idle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The next command finds the running local API (no second start); idle, it exits by itself."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("INNOMON_LOCAL_API_IDLE", "3")
    first = LocalApi.find_or_start()
    try:
        first.wait_ready(timeout=300)
        second = LocalApi.find_or_start()
        assert (second.url, second.pid, second.owned) == (first.url, first.pid, False)
        assert second.wait_ready(timeout=5) < 5  # answers at once
        first._process.wait(timeout=60)  # nobody asks for 3 s: it exits
        assert LocalApi.running() is None
    finally:
        first.stop()


def _heartbeat_threads() -> int:
    """Threads running Prefect's flow-run heartbeat loop (started with the loop as argument)."""
    import threading

    return sum(
        1
        for t in threading.enumerate()
        if any(getattr(a, "__name__", "") == "heartbeat_loop" for a in getattr(t, "_args", ()))
    )


def test_runs_on_the_local_api_have_no_heartbeat_thread() -> None:
    """The local API runs no automation to read heartbeats, and their thread held every run up to a
    second at its end: a run with the command line's settings for it starts none."""
    from prefect import flow
    from prefect.settings import temporary_settings

    from innomon.api import local_run_settings

    @flow
    def probe() -> int:
        return _heartbeat_threads()

    with temporary_settings(updates={name: 180 for name in local_run_settings()}):
        assert probe() == 1  # Prefect's default: the probe sees the thread
    with temporary_settings(updates=local_run_settings()):
        assert probe() == 0
