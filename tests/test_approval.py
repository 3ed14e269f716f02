"""Approval before release: the flow writes the release in the private staging area, pauses, and
copies it to the published zone and moves `latest` only when an approver accepts (answered here
through the API, as the UI does); a rejected release never becomes public."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from innomon import config
from innomon.cli import run_year
from tests.conftest import copy_demo_zones
from tests.helpers import edit_yaml


def _gated_configs(tmp_path: Path) -> Path:
    cdir = tmp_path / "configs"
    shutil.copytree(config.config_dir(), cdir)
    edit_yaml(
        cdir / "base.yaml", lambda base: base["publish"].update(approval_required=True, approval_timeout_seconds=120)
    )
    return cdir


def _paused_run_id(deadline: float) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
                )
            )
            if runs:
                return str(runs[0].id)
            time.sleep(1)
    raise AssertionError("no paused flow run appeared")


@pytest.mark.parametrize("approved", [True, False])
def test_release_waits_for_approval(demo: dict, tmp_path: Path, monkeypatch, approved: bool) -> None:
    from prefect.flow_runs import resume_flow_run

    monkeypatch.setenv("INNOMON_CONFIG_DIR", str(_gated_configs(tmp_path)))
    store = copy_demo_zones(demo, tmp_path / "store")  # the years computed, nothing published yet
    stage = store / "processed" / "staging" / "2023" / "runs"
    demo_staged = set(stage.iterdir()) if stage.exists() else set()  # the demo's own release, staged
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(run_year(2023, str(demo["exports"]), str(store))))
    worker.start()
    run_id = _paused_run_id(time.monotonic() + 240)
    pointer = store / "published" / "2023" / "latest.json"
    staged = sorted(set(stage.iterdir()) - demo_staged)
    assert len(staged) == 1 and (staged[0] / "manifest.json").is_file()  # written and verified, privately
    assert not (store / "published").exists()  # embargoed: nothing of it is public, not even the index
    answer = {"approved": approved, "approver": "J. de Vries", "note": "checked by the monitor lead"}
    resume_flow_run(run_id, run_input=answer)
    worker.join(timeout=240)
    assert not worker.is_alive()
    assert result["approval"]["approved"] is approved
    assert result["approval"]["approver"] == "J. de Vries"
    if approved:
        assert json.loads(pointer.read_text())["run_id"] == staged[0].name
        public = store / "published" / "2023" / "runs" / staged[0].name
        record = json.loads((public / "manifest.json").read_text())["approval"]
        assert record["approver"] == "J. de Vries" and record["approved"] is True and record["decided_at"]
        staged_manifest = json.loads((staged[0] / "manifest.json").read_text())
        assert {k: v for k, v in json.loads((public / "manifest.json").read_text()).items() if k != "approval"} == (
            staged_manifest
        )
        assert sorted(p.relative_to(public) for p in public.rglob("*")) == sorted(
            p.relative_to(staged[0]) for p in staged[0].rglob("*")
        )
        files = [p for p in staged[0].rglob("*.*") if p.name != "manifest.json"]
        assert all((public / p.relative_to(staged[0])).read_bytes() == p.read_bytes() for p in files)
    else:
        assert not (store / "published").exists()  # a rejected release never becomes public
