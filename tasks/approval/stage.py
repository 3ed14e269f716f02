"""The approval gate: the monitor lead signs off a written release before `latest` moves.

The flow pauses (Prefect's pause with input, answered in the UI or through the API) with the
release's links in a markdown artifact; only `approved: true` promotes the release.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from pydantic import Field


class Approval(RunInput):
    """What the approver answers: the decision, and who takes it (Prefect's open-source server knows
    no users, so the approver writes their name; it is recorded in the release's manifest)."""

    approved: bool
    approver: str = Field(min_length=2, max_length=100)
    note: str = ""


def approval_gate(year: int, release: dict[str, Any], timeout_seconds: int) -> dict[str, Any]:
    """Pause the flow run until an approver accepts or rejects the release."""
    create_markdown_artifact(
        key=f"innomon-{year}-approval",
        markdown=(
            f"# Release {release['run_id']} of {year} awaits approval\n\n"
            f"- workbook: {release['links']['workbook']}\n- bundle: {release['release']}\n\n"
            "Resume this flow run with `approved: true` to publish it as latest, or `false` to reject."
        ),
        description=f"Approval of monitor year {year}",
    )
    get_run_logger().info("Release %s of %s written; waiting for approval", release["run_id"], year)
    answer = pause_flow_run(wait_for_input=Approval, timeout=timeout_seconds, poll_interval=2)
    decided = "approved" if answer.approved else "rejected"
    when = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    get_run_logger().info("Release %s %s by %s: %s", release["run_id"], decided, answer.approver, answer.note)
    create_markdown_artifact(
        key=f"innomon-{year}-approval",
        markdown=(
            f"# Release {release['run_id']} of {year}: {decided}\n\n"
            f"- by: {answer.approver}\n- at: {when}\n- note: {answer.note or '(none)'}\n"
        ),
        description=f"Approval of monitor year {year}",
    )
    return {"approved": bool(answer.approved), "approver": answer.approver, "decided_at": when, "note": answer.note}
