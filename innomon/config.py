"""Per-year configuration: `configs/base.yaml` merged with `configs/YEAR.yaml`, plus the files they name.

A region profile (`configs/regions/NAME.yaml`, chosen with `--region` or `INNOMON_REGION`) is merged
last: which provinces form the monitor's region, the models' province reference, the publication's
title. Without one, the base configuration's region (the three northern provinces) applies.

The resolved configuration is plain JSON-able data. Its hash (over the YAML and every datamap,
reference table and table/model spec it names) goes into cache keys and the run id, so a changed
config recomputes exactly what depends on it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from innomon.config_files import (
    available_years,
    config_dir,
    layers,
    merged,
    read_datamap,
    read_yaml,
    region_file,
    region_profiles,
)
from innomon.errors import ConfigError
from innomon.hashing import sha256_bytes, sha256_json

if TYPE_CHECKING:
    from schemas.config import RunConfig


def _apply_region(cfg: dict[str, Any]) -> None:
    """The models' reference categories and province term labels follow the configured region."""
    region = cfg["region"]
    provinces = [str(p) for p in region["provinces"]]
    ref = str(region.get("model_reference") or provinces[0])
    if ref not in provinces:
        raise ConfigError(f"region.model_reference {ref!r} is not one of the region's provinces {provinces}.")
    models = cfg.get("models")
    if not models:
        return
    references = models.setdefault("references", {})
    references["province"] = ref
    references["sector"] = str(cfg["sectors"].get("model_reference", references.get("sector", "overig")))
    labels = models.setdefault("term_labels", {})
    for prov in provinces:
        if prov != ref:
            labels.setdefault(f"province[T.{prov}]", f"Provincie {prov} (t.o.v. {ref})")


def _retire_tables(cfg: dict[str, Any]) -> None:
    """A table with `years` (the monitor years its items were asked) appears only in a release that
    covers one of them: a table of nothing but [x] is never published (T15 ends after 2022)."""
    spec = cfg.get("tables")
    if not spec:
        return
    covered = {int(cfg["year"]), *(int(y) for y in cfg.get("comparison_years") or [])}
    spec["tables"] = [t for t in spec["tables"] if not t.get("years") or covered & {int(y) for y in t["years"]}]


@lru_cache(maxsize=32)
def _load_cached(year: int, cdir_text: str, region: str | None = None) -> dict[str, Any]:
    cdir = Path(cdir_text)
    path = cdir / f"{year}.yaml"
    if not path.exists():
        years = ", ".join(str(y) for y in available_years(cdir)) or "none"
        raise ConfigError(f"No configuration for monitor year {year} (configured years: {years}).")
    files: dict[str, str] = {}
    if region:
        profile = region_file(cdir, region)  # a name, never a path
        if not profile.exists():
            known = ", ".join(region_profiles(cdir)) or "none"
            raise ConfigError(f"No region profile {region!r} (profiles: {known}).")
        files[f"regions/{region}.yaml"] = sha256_bytes(profile.read_bytes())
    parts = layers(cdir, year, region)  # read once: the checks below see the same files
    cfg = merged(parts)
    from innomon.config_check import check_year

    check_year(year, cdir, region, parts).raise_first()  # every file, key, type, date and name, before anything runs
    if region:  # after the checks: the operator does not write it, the loader records it
        cfg["region"]["profile"] = region
    from schemas.config import iso_date_text

    cfg["fieldwork"]["close"] = iso_date_text(cfg["fieldwork"]["close"])  # YAML's unquoted date: the same text
    if cfg.get("publish", {}).get("date"):
        cfg["publish"]["date"] = iso_date_text(cfg["publish"]["date"])
    datamap_path = cdir / cfg["datamap"]
    if not datamap_path.exists():
        raise ConfigError(f"Datamap {datamap_path} named in {path} does not exist.")
    cfg["datamap_rows"] = read_datamap(datamap_path)
    files[cfg["datamap"]] = sha256_bytes(datamap_path.read_bytes())
    for name in cfg.get("reference", {}).values():
        ref = cdir / name
        if not ref.exists():
            raise ConfigError(f"Reference table {ref} named in the configuration does not exist.")
        files[name] = sha256_bytes(ref.read_bytes())
    for key in ("tables_file", "models_file", "report_file"):
        if cfg.get(key):
            spec_path = cdir / cfg[key]
            cfg[key.replace("_file", "")] = read_yaml(spec_path)
            files[cfg[key]] = sha256_bytes(spec_path.read_bytes())
    if cfg.get("report"):  # the Word template shapes the draft: part of the release's identity
        template = (cdir / cfg["report_file"]).parent / cfg["report"]["template"]
        files[template.relative_to(cdir).as_posix()] = sha256_bytes(template.read_bytes())
    _apply_region(cfg)
    _retire_tables(cfg)
    cfg["files"] = files
    cfg["comparison_years"] = [int(y) for y in cfg.get("comparison_years") or []]
    # Where the work runs (`execution`) never changes a figure: it stays out of the hash.
    cfg["hash"] = sha256_json({k: v for k, v in cfg.items() if k not in ("hash", "execution")})
    return cfg


def current_region() -> str | None:
    """The region profile chosen for this process (`INNOMON_REGION`), or None for the base region."""
    return os.environ.get("INNOMON_REGION") or None


def load(year: int, cdir: Path | None = None, region: str | None = None) -> dict[str, Any]:
    """The resolved configuration of one monitor year (a fresh copy each call).

    `region` names a profile in `configs/regions/`; None takes `INNOMON_REGION`, then the base."""
    import copy

    return copy.deepcopy(_load_cached(int(year), str(cdir or config_dir()), region or current_region()))


# What only the steps that combine the years read (indicators, models, publish, QA), and what no
# step reads (the schedule, the synthetic generator's settings): left out of the configuration of
# the per-year steps (ingest to link, weights), so that a new table, a model, the report outline or
# the publish settings recompute the combined steps only, never a year's data (decision D35).
COMBINED_ONLY = (
    "retention",
    "tables",
    "models",
    "report",
    "publish",
    "qa",
    "schedule",
    "synth",
    "tables_file",
    "models_file",
    "report_file",
)


def per_year_view(cfg: dict[str, Any]) -> dict[str, Any]:
    """A year's configuration as its per-year steps get it: without `COMBINED_ONLY`, and with only
    the files those steps read (datamap, reference tables, region profile); its own hash."""
    kept_files = {cfg["datamap"], *(cfg.get("reference") or {}).values()}
    view = {k: v for k, v in cfg.items() if k not in (*COMBINED_ONLY, "hash", "files")}
    view["files"] = {p: h for p, h in cfg["files"].items() if p in kept_files or p.startswith("regions/")}
    view["hash"] = sha256_json({k: v for k, v in view.items() if k != "execution"})
    return view


def frame_file(cfg: dict[str, Any], year: int | None = None) -> str:
    """The invitation frame's file name in a year's drop folder (`weighting.frame_file`)."""
    pattern = str((cfg.get("weighting") or {}).get("frame_file", "frame-{year}.csv"))
    return pattern.format(year=year if year is not None else cfg["year"])


def reference_path(cfg: dict[str, Any] | RunConfig, name: str, cdir: Path | None = None) -> Path:
    """Path of a reference table named in the config (`pc4`, `sbi`): a stage's typed configuration
    or the loader's dict (the demo generator's)."""
    names = cfg["reference"] if isinstance(cfg, dict) else cfg.reference.model_dump()
    return (cdir or config_dir()) / names[name]


def typed(cfg: dict[str, Any]) -> RunConfig:
    """A resolved configuration (`load`, `per_year_view`, or what the configure step stored) as the
    typed model every stage reads; where the work runs (`execution`) is left out."""
    from schemas.config import RunConfig

    return RunConfig.model_validate({k: v for k, v in cfg.items() if k != "execution"})


def load_typed(year: int, cdir: Path | None = None, region: str | None = None) -> RunConfig:
    """`load`, typed (the current year's view, as the combined steps read it)."""
    return typed(load(year, cdir, region))
