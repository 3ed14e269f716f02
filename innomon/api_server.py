"""The local Prefect API process the command line starts: Prefect's server app under uvicorn, which
exits by itself after `--idle` seconds without a request or an open connection.

Run as `python -m innomon.api_server --port P --idle S`. A command that finds it running (its
address is kept in `PREFECT_HOME`, see `innomon.api`) uses it instead of starting another, so only
the first command of a session waits for the server to boot. uvicorn has no idle timeout for a
whole server, so the small watchdog here is our own.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from types import FrameType

import uvicorn


def watch_idle(server: object, idle: float, poll: float = 1.0) -> None:
    """Ask uvicorn to exit once no request came and no connection was open for `idle` seconds."""
    state = server.server_state  # type: ignore[attr-defined]
    seen = -1
    quiet_since = time.monotonic()
    while not server.should_exit:  # type: ignore[attr-defined]
        time.sleep(poll)
        if not server.started or state.total_requests != seen or state.connections:  # type: ignore[attr-defined]
            # the idle clock runs only once the server serves (a first start takes a while)
            seen = state.total_requests
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= idle:
            server.should_exit = True  # type: ignore[attr-defined]


class Server(uvicorn.Server):
    """uvicorn's server, except that a stop asked for before it serves takes effect at once.

    uvicorn takes the signals before it loads the app, and finishes starting before it honours
    them: Prefect's imports and, in a new `PREFECT_HOME`, its database migrations, 10 s and more.
    A command that gave up waiting (the startup limit) or `innomon local-api --stop` waited that
    long, while the server went on spending CPU on a start nobody wanted. Nothing is served yet,
    so nothing is cut short; a migration interrupted half-way is rolled back by SQLite's journal
    and run again by the next start."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.started:
            os._exit(128 + sig)
        super().handle_exit(sig, frame)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m innomon.api_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle", type=float, default=600.0, help="seconds without a request before exiting")
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        "prefect.server.api.server:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        log_level="error",
        lifespan="on",
    )
    server = Server(config)
    threading.Thread(target=watch_idle, args=(server, args.idle), name="idle-watchdog", daemon=True).start()
    server.run()


if __name__ == "__main__":
    main()
