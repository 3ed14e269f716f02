"""The annual flow of one monitor year: a list of steps, each a task that passes references.

fetch -> ingest (read, map by datamap) -> derive -> validate (universe) -> weights (to the
invitation frame) -> link -> indicators -> models -> publish. The comparison years are recomputed
from their archived exports (cached when nothing changed).
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.transactions import transaction

from flows.compute import compute_flow, dask_runner
from innomon import storage
from innomon.errors import ConfigError
from innomon.run_guard import one_run_per_year
from schemas.config import Source
from schemas.vocabulary import STAGES
from tasks.approval.stage import approval_gate
from tasks.configure.stage import configure_task
from tasks.derive.stage import derive_task
from tasks.fetch.stage import (
    export_ref,
    fetch_frame_task,
    fetch_private_files_task,
    fetch_task,
    mark_archived_task,
    source_uri,
)
from tasks.indicators.revisions import previous_publications_task
from tasks.indicators.stage import indicators_task
from tasks.ingest.stage import ingest_task
from tasks.link.stage import link_task
from tasks.models.stage import models_task
from tasks.publish.stage import publish_task, release_assets, release_task
from tasks.qa.stage import qa_artifacts_task
from tasks.validate.stage import validate_task, validation_artifact_task
from tasks.weights.stage import weights_artifact_task, weights_task


def monitor_year_of_schedule() -> int:
    """The calendar year of the flow run's scheduled start (Europe/Amsterdam), e.g. 2024 for July 2024."""
    from zoneinfo import ZoneInfo

    from prefect.runtime import flow_run

    start = flow_run.scheduled_start_time
    return int(start.astimezone(ZoneInfo("Europe/Amsterdam")).year)


def _stage(task: Any, name: str, refresh: list[str]) -> Any:
    """A task, forced to recompute when the operator asked to re-run its stage."""
    return task.with_options(refresh_cache=True) if name in refresh else task


@flow(name="innomon-annual")
def annual_flow(
    year: int | None = None,
    raw_root: str = "",
    store: str = "",
    refresh: list[str] | None = None,
    published_root: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """Run one monitor year end to end and publish its bundle (the published zone may live elsewhere).

    Without `year` (the yearly schedule), the monitor year is the year the run was scheduled in.
    `region` names a region profile (`configs/regions/`); None is the base region."""
    year = year or monitor_year_of_schedule()
    refresh = list(refresh or [])
    unknown = sorted(set(refresh) - set(STAGES))  # a deployment's parameter comes from a form: checked
    if unknown:
        raise ConfigError(f"Unknown stage {unknown[0]!r} in refresh; stages are {', '.join(STAGES)}.")
    storage.check_separate_zones(raw_root, store, published_root)  # the public site holds nothing private
    raw_zone = storage.zone_root(store, "raw")
    processed = storage.zone_root(store, "processed")
    published = storage.zone_root(store, "published", {"published": published_root or ""})
    roots = {"raw root": raw_root, "store": store, "published root": published_root}
    with one_run_per_year(year, processed, roots):  # a second run of the year waits (deployment) or refuses
        release = _build_and_stage(year, raw_root, refresh, published, processed, raw_zone, region)
    if not release["gate"] or release["is_latest"]:  # no gate, or this very release was approved before
        return release
    decision = approval_gate(year, release, release["approval_timeout"])  # pauses the flow run
    if not decision["approved"]:
        return {**release, "promoted": False, "approval": decision}
    releasing = release_task.with_options(assets=release_assets(release, published))
    return {**releasing(release, published, year, processed, decision), "approval": decision}


def _build_and_stage(
    year: int,
    raw_root: str,
    refresh: list[str],
    published: str,
    processed: str,
    raw_zone: str,
    region: str | None,
) -> dict[str, Any]:
    """The year's steps up to its staged release, made public at once when no approval is needed."""
    run = configure_task(year, processed, region)
    validated: dict[int, dict[str, Any]] = {}
    private: dict[int, dict[str, Any]] = {}
    weights: list[dict[str, Any]] = []
    inputs: dict[str, str] = {}
    for y in run.years:
        cfg_ref = run.configs[str(y)]
        source = run.sources[str(y)]  # a task parameter: the configuration's dict, as written
        erasure = {  # the erasure ledger is replayed at the door (keyed hashes, the run's key)
            "columns": run.identity_columns[str(y)],
            "key_env": run.key_env,
            "key_id": run.key_id,
            "processed_root": processed,
        }
        raw = fetch_task(  # a comparison year's export may be read from the store's archive
            source_uri(raw_root, y, Source.model_validate(source)),
            y,
            raw_zone,
            run.pins[str(y)],
            source,
            y != year,
            run.export_columns[str(y)],
            erasure,
        )
        inputs[str(y)] = raw["original_sha256"]  # the export as received (minimised before it is archived)
        if raw["erased"]:  # firms erased on request: other figures, so another release
            inputs[f"{y}-erased"] = raw["sha256"]
        private[y] = fetch_private_files_task(
            processed, y, {"corrections": run.corrections[str(y)], "reviewed": run.reviewed[str(y)]}
        )
        fixes = private[y]["corrections"]
        if fixes:  # corrections are an input like the export: they are part of the run id
            inputs[f"{y}-corrections"] = fixes["sha256"]
        ingested = _stage(ingest_task, "ingest", refresh)(export_ref(raw), cfg_ref, processed, fixes, run.key_id)
        derived = _stage(derive_task, "derive", refresh)(ingested, cfg_ref, processed)
        validated[y] = _stage(validate_task, "validate", refresh)(derived, cfg_ref, processed)
        mark_archived_task(raw_zone, raw, validated[y])  # only an export that passed is this year's archive
        if y == year:  # a comparison year's validation summary was shown by its own run
            validation_artifact_task(validated[y])
        if y == year or run.apply_weights:  # the invitation frame: R01, R02 (and weighted tables)
            frame = fetch_frame_task(raw_root, y, raw_zone, run.frames[str(y)], y != year, erasure)
            if frame:
                inputs[f"{y}-frame"] = frame["sha256"]
            weights.append(_stage(weights_task, "weights", refresh)(validated[y], frame, cfg_ref, processed))
            if y == year:
                weights_artifact_task(weights[-1])
    linked_by_year: dict[int, dict[str, Any]] = {}
    for y in sorted(run.years):  # oldest first: a firm's panel_id is inherited along the years
        decisions = private[y]["reviewed"]
        if decisions:  # reviewers' link decisions change figures: part of the run id
            inputs[f"{y}-reviewed-links"] = decisions["sha256"]
        linked_by_year[y] = _stage(link_task, "link", refresh)(
            validated[y], linked_by_year.get(y - 1), run.configs[str(y)], processed, decisions, run.key_id
        )
    linked = [linked_by_year[y] for y in run.years]  # current year first
    cfg_ref = run.current  # the current year's config with its comparison years' datamaps
    previous = previous_publications_task(published, [y for y in run.years if y != year])
    if run.execution.task_runner == "dask":  # one task per table and per model, on Dask
        runner = dask_runner(run.execution)
        tables, models = compute_flow.with_options(task_runner=runner)(
            linked, cfg_ref, processed, previous, run.table_ids, run.model_ids, refresh, weights
        )
    else:
        tables = _stage(indicators_task, "indicators", refresh)(linked, cfg_ref, processed, previous, weights)
        models = _stage(models_task, "models", refresh)(linked[0], cfg_ref, processed)
    qa_artifacts_task(tables, cfg_ref, processed)
    gate = run.approval_required
    reports = [validated[y]["report"] for y in run.years]  # in the order of `linked`
    with transaction():  # a failed release step rolls the staged release back (`publish_task`'s hook)
        release = publish_task(
            tables, models, linked, reports, cfg_ref, inputs, run.code_version, published, weights, processed
        )
        if not gate:
            releasing = release_task.with_options(assets=release_assets(release, published))
            release = releasing(release, published, year, processed)
    return {**release, "gate": gate, "approval_timeout": run.approval_timeout}
