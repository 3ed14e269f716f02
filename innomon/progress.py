"""A progress line for the stages that take long on large years (ingest, link, indicators).

Off unless the command line switches it on for a terminal: in a log file, a worker or a test a
line rewritten in place is noise. Written by hand on purpose: rich's `Progress` (already installed
with Prefect) draws from a thread of its own beside Prefect's console handler; one line on stderr,
rewritten with a carriage return and cleared at the end of the stage, is all a person needs here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

WIDTH = 24
_STREAM: TextIO | None = None


def enable(stream: TextIO = sys.stderr) -> bool:
    """Show progress on `stream` if it is a terminal; returns whether it is shown."""
    global _STREAM
    _STREAM = stream if stream.isatty() else None
    return _STREAM is not None


def disable() -> None:
    global _STREAM
    _STREAM = None


def bar(done: int, total: int) -> str:
    """`[#########---------------]` for done of total."""
    filled = WIDTH if total <= 0 else min(WIDTH, round(WIDTH * done / total))
    return "[" + "#" * filled + "-" * (WIDTH - filled) + "]"


@contextmanager
def steps(stage: str, year: int | str, total: int) -> Iterator[Callable[[str], None]]:
    """Context of a stage with `total` steps; call the yielded function as each step starts."""
    stream = _STREAM
    done = {"n": 0}
    start = time.monotonic()

    def advance(what: str) -> None:
        if stream is None:
            return
        text = f"{year!s:>4} {stage:<11} {bar(done['n'], total)} {what} ({time.monotonic() - start:.0f} s)"
        stream.write("\r\x1b[2K" + text)
        stream.flush()
        done["n"] += 1

    try:
        yield advance
    finally:
        if stream is not None:
            stream.write("\r\x1b[2K")
            stream.flush()
