"""Apply the deployments and the failure automation: what operators run instead of a bare deploy.

    INNOMON_HOME=$PWD INNOMON_RAW_ROOT=... INNOMON_STORE=... INNOMON_NOTIFY_BLOCK=custom-webhook/ops \\
        python deployments/deploy.py

`INNOMON_NOTIFY_BLOCK` names a notification block saved on the server (`<block-type-slug>/<name>`,
e.g. a Slack, Teams or custom webhook); the automation notifies it whenever a run of these
deployments ends Failed or Crashed. Re-running replaces the automation (same name).

`INNOMON_RESULTS_URI` (`s3://bucket/folder`) saves an S3 result-storage block and makes it the
server's default, so workers on several machines share task results (Retry and caching work
whichever worker picks the run up). Unset, results stay on the worker's disk.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
AUTOMATION = "innomon-run-failed"


def schedule_env() -> dict[str, str]:
    """The annual schedule (cron, timezone) of the newest configured year and that year itself (the
    stage deployments' default), for prefect.yaml: no year is written in the deployment file."""
    sys.path.insert(0, str(PROJECT))
    from innomon import config

    newest = config.load(config.available_years()[-1])
    schedule = newest.get("schedule") or {}
    return {
        "INNOMON_NEWEST_YEAR": str(newest["year"]),
        "INNOMON_SCHEDULE_CRON": str(schedule.get("cron", "0 6 15 7 *")),
        "INNOMON_SCHEDULE_TZ": str(schedule.get("timezone", "Europe/Amsterdam")),
    }


NEWEST_YEAR = '"{{ $INNOMON_NEWEST_YEAR }}"'


def apply_deployments() -> None:
    """`prefect deploy --all` on prefect.yaml with the stage deployments' year filled in as a number
    (Prefect renders `{{ $VAR }}` as text, which the flow's `year: int` parameter schema refuses).

    Prefect's command line runs in this process (its console entry point with these arguments):
    a second interpreter would import Prefect again, 7 s of CPU on this machine."""
    from prefect.cli import app

    env = schedule_env()
    text = (PROJECT / "deployments" / "prefect.yaml").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        rendered = Path(tmp) / "prefect.yaml"
        rendered.write_text(text.replace(NEWEST_YEAR, env["INNOMON_NEWEST_YEAR"]), encoding="utf-8")
        os.environ.update(env)  # read by prefect.yaml's `{{ $VAR }}` templates
        argv, cwd = sys.argv, os.getcwd()
        sys.argv = ["prefect", "--no-prompt", "deploy", "--all", "--prefect-file", str(rendered)]
        os.chdir(PROJECT)
        try:
            app()
        except SystemExit as done:
            if done.code not in (0, None):
                raise SystemExit(f"prefect deploy failed (exit {done.code})") from None
        finally:
            sys.argv = argv
            os.chdir(cwd)


def apply_failure_automation(block_ref: str) -> str:
    """Create (or replace) the automation that notifies `block_ref` on Failed or Crashed runs."""
    from prefect.automations import Automation, EventTrigger, SendNotification
    from prefect.blocks.core import Block
    from prefect.client.orchestration import get_client

    block = Block.load(block_ref)
    with get_client(sync_client=True) as client:
        deployments = [d for d in client.read_deployments() if d.name == "annual" or d.name.startswith("stage-")]
        for existing in client.read_automations_by_name(AUTOMATION):
            client.delete_automation(existing.id)
    automation = Automation(
        name=AUTOMATION,
        description="Notify the operators when a run of the innomon deployments fails or crashes.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={
                "prefect.resource.id": [f"prefect.deployment.{d.id}" for d in deployments],
                "prefect.resource.role": "deployment",
            },
            posture="Reactive",
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block._block_document_id,
                subject="innomon: {{ flow_run.name }} ended {{ flow_run.state.name }}",
                body="Flow run {{ flow_run.name }} of deployment {{ deployment.name }} ended "
                "{{ flow_run.state.name }}: {{ flow_run.state.message }}",
            )
        ],
    ).create()
    return str(automation.id)


def main() -> None:
    results_uri = os.environ.get("INNOMON_RESULTS_URI")
    if results_uri:
        sys.path.insert(0, str(PROJECT))
        from innomon import result_storage

        print(f"task results go to {results_uri} (block {result_storage.configure(results_uri)})")
    apply_deployments()
    block_ref = os.environ.get("INNOMON_NOTIFY_BLOCK")
    if block_ref:
        print(f"automation {apply_failure_automation(block_ref)} notifies {block_ref} on failed runs")
    else:
        print("INNOMON_NOTIFY_BLOCK not set: no failure notification configured")


if __name__ == "__main__":
    main()
