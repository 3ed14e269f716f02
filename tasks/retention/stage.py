"""The retention step: `innomon.retention`'s plan, applied or not, shown as an artifact."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from innomon import retention


@task(name="retention")
def retention_task(store: str, apply: bool = False, as_of: int | None = None) -> dict[str, Any]:
    """Prefect wrapper: list (and with `apply` carry out) what is past its retention period; the
    list, store-relative object names only, is the run's artifact."""
    year = as_of or retention.this_year()
    actions = retention.plan(store, year)
    if apply:
        retention.apply(actions)
    lines = [a.line(store) for a in actions]
    state = "done" if apply else "a dry run"
    create_markdown_artifact(
        key="innomon-retention",
        markdown=f"# Retention as of {year} ({state})\n\n"
        + ("\n".join(f"- `{line}`" for line in lines) or "Nothing is past its retention period."),
        description="What the store keeps past its retention periods",
    )
    get_run_logger().info("Retention as of %s: %d object(s) (%s)", year, len(actions), state)
    return {"as_of": year, "objects": len(actions), "applied": apply}
