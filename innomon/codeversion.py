"""The code version: package version plus a hash of the source that computes and publishes figures.

Part of every cache key and of the run id, so that a change to what computes a figure recomputes,
and a rerun of the same code on the same inputs is the same release.

What is hashed: the stages (`tasks/`), the flows that wire them (`flows/`), the contracts
(`schemas/`) and the core they run on (`innomon/`), except the modules that only drive or describe a
run: the command line, the synthetic demo generator, the local API helper, progress and console
reporting, where task results are kept, the configuration's checks, the QA artifacts and the approval
pause. Editing one of those (or `bench/`, `tests/`, `docs/`) keeps
every release id and cache key; editing a stage, a contract or the core changes them. The
configuration is not code: its own hash is a separate part of each key.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from innomon import __version__

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGES = ("innomon", "flows", "tasks", "schemas")
# Modules that never change a figure or a published byte: they start, drive and report a run.
NOT_FIGURES = (
    "innomon/cli.py",
    "innomon/synth",
    "innomon/api.py",
    "innomon/api_server.py",
    "innomon/progress.py",
    "innomon/stage_report.py",
    "innomon/result_storage.py",
    "innomon/store_check.py",  # verify-store: checks and mends objects, computes none
    "innomon/locks.py",  # who may run or publish now; never what is computed
    "innomon/run_guard.py",
    "innomon/erasure.py",  # the erase command; the ledger's replay (innomon/ledger.py, fetch) is hashed
    "innomon/rotation.py",  # the rotate-key command
    "innomon/disclosure_store.py",  # the audit-disclosure command: reads releases, computes no figure
    "innomon/verify_report.py",  # reads a finished report and a release; computes no figure
    "innomon/retention.py",  # the retention command
    "innomon/config_check.py",  # what a configuration may say; what it says is hashed as the configuration
    "tasks/qa",  # key figures and the QA diff, shown in the Prefect UI only
    "tasks/approval",  # the pause for a person's approval; what is published does not depend on it
    "tasks/retention",  # removes what is past its period; computes nothing
)


def _hashed(path: str) -> bool:
    """Whether a project-relative path is part of the code version."""
    return not any(path == x or path.startswith(x + "/") for x in NOT_FIGURES)


def figure_sources(root: Path = PROJECT_ROOT) -> list[Path]:
    """The .py files of the code version, sorted by their project-relative path."""
    out = []
    for pkg in SOURCE_PACKAGES:
        for path in (root / pkg).rglob("*.py"):
            rel = path.relative_to(root).as_posix()
            if "__pycache__" not in path.parts and _hashed(rel):
                out.append(path)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def source_hash(root: Path = PROJECT_ROOT) -> str:
    """SHA-256 over the code version's files (path and content)."""
    h = hashlib.sha256()
    for path in figure_sources(root):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """`VERSION+SOURCEHASH12`, e.g. `0.1.0+3f2a9c1b0d4e`."""
    return f"{__version__}+{source_hash()[:12]}"
