"""The retention flow: one step, scheduled once a year (`deployments/prefect.yaml`, `retention`)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from innomon import storage
from innomon.errors import ConfigError
from innomon.run_guard import deployment_run, root_refusal
from tasks.retention.stage import retention_task


@flow(name="innomon-retention")
def retention_flow(store: str = "", apply: bool = False, as_of: int | None = None) -> dict[str, Any]:
    """List (or with `apply` carry out) what the store keeps past its retention periods."""
    if deployment_run():  # a parameter from a form: only the worker's own store
        refusal = root_refusal({"store": store})
        if refusal:
            raise ConfigError(f"Refused: {refusal}.")
    return retention_task(storage.as_uri(store), apply, as_of)
