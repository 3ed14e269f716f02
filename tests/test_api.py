"""The Prefect API of a command: a configured API that does not answer is one sentence, and a
local API that does not come up in time is stopped with a message naming the limit."""

from __future__ import annotations

import socket

import pytest

from innomon.api import ApiError, LocalApi, PrefectApi


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_configured_api_that_does_not_answer_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/api"
    monkeypatch.setenv("PREFECT_API_URL", url)
    api = PrefectApi()
    assert api.local is None  # a configured API is used, no server is started
    with pytest.raises(ApiError, match=r"does not answer") as err:
        api.__enter__()
    assert url in str(err.value)


def test_local_api_startup_limit_stops_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    local = LocalApi()
    with pytest.raises(ApiError, match=r"did not answer within 0 s \(INNOMON_API_STARTUP_TIMEOUT\)"):
        local.wait_ready(timeout=0.2)
    assert local.process is None  # stopped, not left running
