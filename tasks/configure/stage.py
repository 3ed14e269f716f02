"""Stage `configure`: resolve the year's configuration (and its comparison years') and store it.

The resolved config is written to the processed zone by hash, so every task reads exactly the
configuration the run started with, and the run's lineage records it.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from innomon import config as config_mod
from innomon import keys, ledger, refs, result_storage, storage
from innomon.codeversion import code_version
from innomon.errors import ConfigError
from schemas.config import Execution, RunPlan
from schemas.datamap import spss_safe


def resolve(year: int, region: str | None = None) -> dict[int, dict[str, Any]]:
    """Configs of the year and every comparison year, current year first (one region profile)."""
    cfg = config_mod.load(year, region=region)
    years = [year] + [y for y in config_mod.typed(cfg).comparison_years if y != year]
    out = {year: cfg}
    for y in years[1:]:
        if y not in config_mod.available_years():
            raise ConfigError(f"Comparison year {y} of {year} has no configuration.")
        out[y] = config_mod.load(y, region=region)
    return out


def with_comparison_datamaps(cfgs: dict[int, dict[str, Any]], year: int) -> dict[str, Any]:
    """The current year's config for the stages that combine years (indicators, models, publish).

    Items asked only in a comparison year (e.g. the 2021-2022 subsidy schemes) take their codes and
    labels from that year's datamap; the current year's instrument wins where both have an item.
    The per-year stages get each year's own config instead, the same whether that year is the
    current or a comparison year, so one year's cached work serves every later year's run."""
    return {
        **cfgs[year],
        "comparison_datamap_rows": {str(y): c["datamap_rows"] for y, c in cfgs.items() if y != year},
    }


def execution_settings(execution: dict[str, Any]) -> Execution:
    """Where the work runs (`execution` of the configuration, checked by its schema), with the
    environment's overrides (`INNOMON_TASK_RUNNER`, `INNOMON_DASK_ADDRESS`) applied."""
    import os

    settings = Execution.model_validate(execution)
    runner = os.environ.get("INNOMON_TASK_RUNNER") or settings.task_runner
    if runner not in ("default", "dask"):
        raise ConfigError(f"INNOMON_TASK_RUNNER must be 'default' or 'dask', not {runner!r}.")
    address = os.environ.get("INNOMON_DASK_ADDRESS") or settings.dask.address
    return settings.model_copy(
        update={"task_runner": runner, "dask": settings.dask.model_copy(update={"address": address})}
    )


def export_columns(cfg: Any) -> list[str]:
    """The columns of a year's export that fetch keeps: every column the datamap names, under its
    id and its SPSS-safe form (a .sav export names them so); everything else is dropped at the door."""
    return sorted({row.column_id for row in cfg.datamap_rows} | {spss_safe(row.column_id) for row in cfg.datamap_rows})


def run_key_id(typed: dict[int, Any]) -> str:
    """The fingerprint of the run's panel key: every year of a run pseudonymises with one key (the
    panel ids of a firm must meet across the years), read from the variable the configuration names."""
    names = {t.linking.key_env for t in typed.values()}
    if len(names) > 1:
        raise ConfigError(f"The years of one run name different key variables ({', '.join(sorted(names))}).")
    return keys.fingerprint(keys.panel_key(names.pop()))


@task(name="configure")
def configure_task(year: int, processed_root: str, region: str | None = None) -> RunPlan:
    """Prefect wrapper: never cached; logs the resolved config hashes at the start of the run."""
    cfgs = resolve(year, region)
    execution = execution_settings(cfgs[year]["execution"])  # required by the schema
    for c in cfgs.values():  # where the work runs is not an input of any figure (nor of a cache key)
        c.pop("execution", None)
    config_root = storage.join(processed_root, "config")
    stored = {str(y): refs.put_json(config_root, f"config-{y}", config_mod.per_year_view(c)) for y, c in cfgs.items()}
    current = refs.put_json(config_root, f"config-{year}-with-comparisons", with_comparison_datamaps(cfgs, year))
    typed = {y: config_mod.typed(c) for y, c in cfgs.items()}  # read below; the dicts are what is stored
    now = typed[year]
    get_run_logger().info(
        "Run of %s with code %s; config hashes %s; task results in %s",
        year,
        code_version(),
        {y: t.hash[:12] for y, t in typed.items()},
        result_storage.describe(),
    )
    return RunPlan(
        years=[int(y) for y in cfgs],
        configs=stored,
        current=current,
        pins={str(y): t.source.sha256 for y, t in typed.items()},
        code_version=code_version(),
        # The source as the configuration writes it (a task parameter: the same dict as ever).
        sources={str(y): dict(c["source"]) for y, c in cfgs.items()},
        corrections={str(y): t.validation.corrections_file for y, t in typed.items()},
        reviewed={str(y): t.linking.reviewed_file for y, t in typed.items()},
        apply_weights=now.weighting.apply_to_tables,
        frames={str(y): t.frame_file() for y, t in typed.items()},
        execution=execution,
        table_ids=[t.id for t in now.table_specs],
        model_ids=[m.id for m in now.models.models] if now.models else [],
        approval_required=now.publish.approval_required if now.publish else False,
        approval_timeout=now.publish.approval_timeout_seconds if now.publish else 7 * 24 * 3600,
        export_columns={str(y): export_columns(t) for y, t in typed.items()},
        identity_columns={str(y): t.columns_of(ledger.IDENTIFIER_VARIABLES) for y, t in typed.items()},
        key_env=now.linking.key_env,
        key_id=run_key_id(typed),
    )
