"""How every stage task is cached: inputs + config hash + code version (+ linkage key fingerprint).

Prefect's default policy includes the flow run id, so a new run would recompute everything; ours is
keyed only on what determines the result, so a rerun of unchanged inputs reuses finished steps, a
Retry resumes at the failed step, and a code or config change recomputes (anchors.md section 3).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from innomon.codeversion import code_version
from innomon.hashing import sha256_json

DEMO_KEY = "innomon-demo-key-not-for-production"


def panel_key() -> bytes:
    """The HMAC key for pseudonymous ids: `INNOMON_PANEL_KEY`, or the demo key for local demos."""
    return os.environ.get("INNOMON_PANEL_KEY", DEMO_KEY).encode("utf-8")


def key_fingerprint() -> str:
    """A hash of the HMAC key (never the key itself), so a key change recomputes linked data."""
    return hashlib.sha256(b"fingerprint:" + panel_key()).hexdigest()[:16]


def cache_key(context: Any, parameters: dict[str, Any]) -> str:
    """Cache key of a stage task run."""
    return sha256_json(
        {
            "task": context.task.name,
            "code": code_version(),
            "key": key_fingerprint(),
            "parameters": parameters,
        }
    )


def cached_stage(name: str) -> Any:
    """The task decorator of a cached stage (ingest, derive, validate, link, indicators, models):
    results persisted as JSON references, keyed by `cache_key`, and one console line when the stage
    finishes, computed or cached (`innomon.stage_report`)."""
    from prefect import task

    from innomon import stage_report

    return task(
        name=name,
        cache_key_fn=cache_key,
        persist_result=True,
        result_serializer="json",
        on_completion=[stage_report.hook],
    )
