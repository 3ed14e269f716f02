"""The code version: package version plus a hash of the project's own source.

Part of every cache key and of the run id, so that a code change recomputes and a rerun of the
same code on the same inputs is the same release.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from innomon import __version__

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGES = ("innomon", "flows", "tasks", "schemas")


@lru_cache(maxsize=1)
def source_hash() -> str:
    """SHA-256 over every .py file of the project's packages (path and content, sorted)."""
    h = hashlib.sha256()
    for pkg in SOURCE_PACKAGES:
        for path in sorted((PROJECT_ROOT / pkg).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            h.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
            h.update(b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def code_version() -> str:
    """`VERSION+SOURCEHASH12`, e.g. `0.1.0+3f2a9c1b0d4e`."""
    return f"{__version__}+{source_hash()[:12]}"
