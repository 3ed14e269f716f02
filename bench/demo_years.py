"""The set-up two benchmarks share: the demo's exports of 2021-2023 in a temporary folder, and
2021 and 2022 run into a store there, so the benchmark times only what it runs of 2023."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("INNOMON_DEMO", "1")  # synthetic firms: the built-in demo key, said so (innomon.keys)


def exports_with_earlier_years(prefix: str) -> Path:
    """A temporary folder holding `exports/` (2021-2023 at the configured sizes) and `store/` with
    2021 and 2022 run and published; the caller runs 2023 (`root / "exports"`, `root / "store"`)."""
    from innomon.cli import run_year
    from innomon.synth.export import write_year

    root = Path(tempfile.mkdtemp(prefix=prefix))
    for year in (2021, 2022, 2023):
        write_year(year, root / "exports")
    for year in (2021, 2022):
        run_year(year, str(root / "exports"), str(root / "store"))
    return root
