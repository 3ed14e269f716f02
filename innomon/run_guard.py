"""One run of a monitor year at a time, on roots the worker may use.

A deployment run first waits for its year's slot in a Prefect global concurrency limit
(`innomon-year-YEAR`, limit 1, created when missing), so a scheduled and a manual run queue visibly in
the UI; every run, from a deployment or the command line, then holds the store's lock on the year
(`innomon.locks`), which refuses a second run on the same store with exit 4 and one sentence. A
deployment run's roots are checked against the worker's own (`root_refusal`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from innomon import locks, policy, storage
from innomon.errors import ConfigError

YEAR_SLOT_WAIT_SECONDS = 6 * 3600  # a queued run gives up after six hours (a run takes minutes)


def root_refusal(given: dict[str, str | None]) -> str | None:
    """Why a deployment run may not use the roots it names (None: it may): `given` maps "raw root",
    "store" and "published root" to the run's parameters (empty: the default)."""
    allowed = [storage.as_uri(p) for p in policy.allowed_roots()]
    for role, value in given.items():
        if not value:
            continue
        uri = storage.as_uri(value)
        own = policy.own_root(role)
        if (own and storage.as_uri(own) == uri) or any(storage.inside(uri, prefix) for prefix in allowed):
            continue
        variable = policy.ROOT_VARIABLES[role]
        mine = f"its own is {storage.as_uri(own)}" if own else f"it has none ({variable} is not set)"
        return (
            f"the run names the {role} {uri}, but this worker works on its own ({mine}) "
            "and INNOMON_ALLOWED_ROOTS does not hold it"
        )
    return None


def deployment_run() -> bool:
    """Whether the current flow run was started from a deployment (a schedule, the UI, the API)."""
    from prefect.runtime import deployment

    return deployment.id is not None


def year_slot_name(year: int) -> str:
    return f"innomon-year-{year}"


@contextmanager
def year_slot(year: int, timeout_seconds: float = YEAR_SLOT_WAIT_SECONDS) -> Iterator[None]:
    """Hold the year's slot in Prefect's global concurrency limit, creating the limit (1) if missing."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists

    name = year_slot_name(year)
    with get_client(sync_client=True) as client:
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
        except ObjectAlreadyExists:
            pass
    with concurrency(name, occupy=1, timeout_seconds=timeout_seconds, strict=True):
        yield


@contextmanager
def one_run_per_year(
    year: int, processed_root: str, roots: dict[str, str | None], deployment: bool | None = None
) -> Iterator[None]:
    """The guard around a year's run: the worker's allowlist (deployment runs), the year's slot
    (deployment runs) and the store's lock on the year (every run)."""
    from prefect.runtime import flow_run

    deployment = deployment_run() if deployment is None else deployment
    if deployment:
        refusal = root_refusal(roots)
        if refusal:
            raise ConfigError(f"Refused: {refusal}.")
    if deployment:  # the worker's process of this run: what it writes is its user's only
        os.umask(0o077)
    with ExitStack() as stack:
        if deployment:
            stack.enter_context(year_slot(year))
        run = str(flow_run.id or "")
        stack.enter_context(locks.hold(processed_root, f"year-{year}", f"the run of {year}", run=run))
        yield
