"""The configuration's files: where they live, how a YAML file is read, and how base.yaml, YEAR.yaml
and a region profile merge into one year's configuration.

Read by the loader (`innomon.config`) and by the checks (`innomon.config_check`), so both see the
same layers, read once.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Any

import yaml

from innomon.codeversion import PROJECT_ROOT
from innomon.errors import ConfigError

DEFAULT_CONFIG_DIR = PROJECT_ROOT / "configs"


def config_dir() -> Path:
    """The configuration folder: `INNOMON_CONFIG_DIR` or the project's `configs/`."""
    return Path(os.environ.get("INNOMON_CONFIG_DIR", DEFAULT_CONFIG_DIR))


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` merged into `base`: mappings key by key, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping (the safe loader), or a ConfigError naming the file."""
    try:
        # libyaml's loader where PyYAML has it: the same safe resolver, about ten times faster
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError as exc:
        raise ConfigError(f"Configuration file {path} does not exist.") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"Configuration file {path} is not valid YAML: {yaml_problem(exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"Configuration file {path} must hold a mapping.")
    return data


def yaml_problem(exc: Exception) -> str:
    """The parser's complaint in one line: what is wrong, at which line and column (1-based). The
    parser's own text quotes the file over several lines, unlike every other error of the command."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    context = " ".join(str(getattr(exc, "context", None) or "").split())
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}" + (f" ({context})" if context and context != problem else "")


def available_years(cdir: Path | None = None) -> list[int]:
    """Monitor years that have a config file."""
    cdir = cdir or config_dir()
    return sorted(int(p.stem) for p in cdir.glob("[0-9][0-9][0-9][0-9].yaml"))


def read_datamap(path: Path) -> list[dict[str, str]]:
    """The datamap rows of one year (column_id, variable, block, question_text, type, codes, routing)."""
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    required = {"column_id", "variable", "type", "codes", "routing"}
    if not rows or not required <= set(rows[0]):
        raise ConfigError(f"Datamap {path} lacks the columns {sorted(required)}.")
    return rows


def region_profiles(cdir: Path | None = None) -> list[str]:
    """Names of the region profiles (`configs/regions/*.yaml`)."""
    return sorted(p.stem for p in ((cdir or config_dir()) / "regions").glob("*.yaml"))


def layers(cdir: Path, year: int, region: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The files that make a year's configuration, in merge order: base.yaml, YEAR.yaml, the region
    profile; each as (name relative to the configuration folder, its mapping)."""
    out = [("base.yaml", read_yaml(cdir / "base.yaml")), (f"{year}.yaml", read_yaml(cdir / f"{year}.yaml"))]
    if region:
        out.append((f"regions/{region}.yaml", read_yaml(region_file(cdir, region))))
    return out


def region_file(cdir: Path, region: str) -> Path:
    """The file of a region profile; its name must be a name (`--region`, `INNOMON_REGION` and a
    deployment's parameter are input), never a path."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,63}", region):
        raise ConfigError(f"Region profile name {region!r} is not a name (lower-case letters, digits, - and _).")
    return cdir / "regions" / f"{region}.yaml"


def merged(parts: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The layers merged, later over earlier."""
    out: dict[str, Any] = {}
    for _, data in parts:
        out = deep_merge(out, data)
    return out
