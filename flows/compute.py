"""The indicators and models stages split per table and per model, for a distributed task runner.

The annual flow calls this subflow with a `prefect_dask.DaskTaskRunner` when the configuration asks
for Dask (`execution.task_runner: dask`); otherwise the two stages run as one task each. Both paths
give the same tables.csv, models.csv and model_fit.csv, byte for byte.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, unmapped

from schemas.config import Execution
from tasks.indicators.stage import table_task, tables_assemble_task
from tasks.models.stage import model_task, models_assemble_task


def dask_runner(execution: Execution) -> Any:
    """A DaskTaskRunner: the scheduler at `dask.address`, or a temporary LocalCluster."""
    from prefect_dask import DaskTaskRunner

    if execution.dask.address:
        return DaskTaskRunner(address=execution.dask.address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": execution.dask.n_workers,
            "threads_per_worker": execution.dask.threads_per_worker,
            "processes": True,
            "dashboard_address": None,
        }
    )


@flow(name="innomon-compute")
def compute_flow(
    linked: list[dict[str, Any]],
    cfg_ref: dict[str, Any],
    processed: str,
    previous: dict[str, Any] | None,
    table_ids: list[str],
    model_ids: list[str],
    refresh: list[str] | None = None,
    weights: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One task per table and per model on the flow's task runner, then one assembling task each."""
    refresh = refresh or []
    tables = table_task.with_options(refresh_cache="indicators" in refresh)
    models = model_task.with_options(refresh_cache="models" in refresh)
    table_futures = tables.map(table_ids, unmapped(linked), unmapped(cfg_ref), unmapped(processed), unmapped(weights))
    model_futures = models.map(model_ids, unmapped(linked[0]), unmapped(cfg_ref), unmapped(processed))
    table_refs = [f.result() for f in table_futures]
    model_refs = [f.result() for f in model_futures]
    return (
        tables_assemble_task(table_refs, linked, cfg_ref, processed, previous),
        models_assemble_task(model_refs, cfg_ref, processed),
    )
