"""How long the stages that touch storage wait between retries (fetch, publish, promote)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

DEFAULT_DELAYS = [2.0, 10.0]  # a store or network that hiccups: a short wait, then a longer one


def retry_delays() -> list[float]:
    """Seconds between retries: 2 then 10, or the comma-separated `INNOMON_RETRY_DELAYS` (the
    tests shorten the waits, never the number of retries)."""
    text = os.environ.get("INNOMON_RETRY_DELAYS", "")
    return [float(x) for x in text.split(",") if x.strip()] or list(DEFAULT_DELAYS)


def retry_unless(*final: type[BaseException]) -> Callable[[Any, Any, Any], bool]:
    """A Prefect `retry_condition_fn`: retry what may pass next time (a store or network that
    hiccups), never an error of the `final` kinds, which would fail the same way again."""

    def condition(task: Any, task_run: Any, state: Any) -> bool:
        try:
            state.result()
        except final:
            return False
        except Exception:
            return True
        return False

    return condition
