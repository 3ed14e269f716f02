"""The code version covers what computes figures, and only that (issue 28).

Each case copies the project's packages, edits one file of the copy and asks the copy, in its own
process, for its code version, the run id of a fixed release and the cache key of every stage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from innomon.codeversion import NOT_FIGURES, PROJECT_ROOT, SOURCE_PACKAGES, source_hash
from schemas.vocabulary import STAGES

PROBE = """
import json, sys
from types import SimpleNamespace
from innomon.codeversion import code_version
from innomon.prefect_support import cache_key
from tasks.publish.stage import run_id
parameters = {"cfg_ref": {"uri": "file:///s/processed/config/c.json", "sha256": "0" * 64},
              "processed_root": "file:///s/processed"}
keys = {s: cache_key(SimpleNamespace(task=SimpleNamespace(name=s), result_store=None), parameters)
        for s in sys.argv[1:]}
print(json.dumps({"code": code_version(), "run_id": run_id({"2023": "a" * 64}, "c" * 64, code_version()),
                  "keys": keys}))
"""


def _copy(root: Path) -> Path:
    for pkg in SOURCE_PACKAGES:
        shutil.copytree(PROJECT_ROOT / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _identity(root: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *STAGES], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout)
    assert len(set(got["keys"].values())) == len(STAGES)  # a key per stage, from the copy's own code
    return got


@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = _copy(tmp_path_factory.mktemp("before"))
    got = _identity(root)
    assert Path(json.loads(subprocess.run(
        [sys.executable, "-c", "import innomon, json; print(json.dumps(innomon.__file__))"],
        env={**os.environ, "PYTHONPATH": str(root)}, cwd=root, capture_output=True, text=True, check=True,
    ).stdout)).is_relative_to(root)  # fmt: skip
    return got


def _edit(path: Path, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text + new, encoding="utf-8")


@pytest.mark.parametrize(
    "path",
    ["innomon/cli.py", "innomon/synth/generate.py"],
)
def test_editing_the_command_line_or_the_generator_keeps_run_id_and_every_cache_key(
    path: str, before: dict, tmp_path: Path
) -> None:
    root = _copy(tmp_path)
    _edit(root / path, '\n\ndef _an_edit_that_computes_nothing() -> str:\n    """A docstring."""\n    return "x"\n')
    assert _identity(root) == before


@pytest.mark.parametrize("path", ["tasks/derive/stage.py", "schemas/cells.py"])
def test_editing_a_stage_a_contract_or_the_core_changes_run_id_and_every_cache_key(
    path: str, before: dict, tmp_path: Path
) -> None:
    root = _copy(tmp_path)
    _edit(root / path, "\n\nEDITED = 1\n")
    after = _identity(root)
    assert after["code"] != before["code"] and after["run_id"] != before["run_id"]
    assert all(after["keys"][s] != before["keys"][s] for s in STAGES)


@pytest.mark.parametrize("excluded", NOT_FIGURES)
def test_no_module_left_out_of_the_code_version_changes_it_and_every_other_one_does(
    excluded: str, tmp_path: Path
) -> None:
    """Each path of NOT_FIGURES, edited in a copy, keeps the source hash (run id and cache keys follow
    from it, as the cases above show); a module beside it that is hashed changes it."""
    root = _copy(tmp_path)
    before_hash = source_hash(root)
    target = root / excluded
    edited = sorted(target.rglob("*.py"))[0] if target.is_dir() else target
    assert edited.is_file(), excluded
    _edit(edited, "\n\nEDITED = 1\n")
    assert source_hash(root) == before_hash
    _edit(root / "tasks" / "link" / "stage.py", "\n\nEDITED = 1\n")
    assert source_hash(root) != before_hash
