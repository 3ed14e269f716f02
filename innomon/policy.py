"""The worker's own policy, from its environment: what a configuration or a run's parameters may
point the pipeline at. A configuration is untrusted input (it may come from a repository anyone can
write to, a run's parameters from a form in a UI); the environment is the operator's.

- `INNOMON_SOURCE_HOSTS`: the hosts a survey platform's `source.base_url` may name, comma-separated
  shell patterns; default the Qualtrics data centres (`*.qualtrics.com`).
"""

from __future__ import annotations

import fnmatch
import os
from urllib.parse import urlparse

DEFAULT_SOURCE_HOSTS = "*.qualtrics.com"


def source_hosts() -> list[str]:
    """The host patterns a source's `base_url` may name."""
    text = os.environ.get("INNOMON_SOURCE_HOSTS") or DEFAULT_SOURCE_HOSTS
    return [p.strip().lower() for p in text.split(",") if p.strip()]


def source_host_refusal(base_url: str) -> str | None:
    """Why `base_url` may not be asked for an export (None: it may): https only, no user or password
    in it, and a host on `INNOMON_SOURCE_HOSTS`."""
    parsed = urlparse(base_url)
    if parsed.scheme != "https":
        return f"{base_url!r} is not https"
    if parsed.username or parsed.password:
        return f"{base_url!r} carries a user or password"
    host = (parsed.hostname or "").lower()
    allowed = source_hosts()
    if not any(fnmatch.fnmatchcase(host, pattern) for pattern in allowed):
        return f"host {host!r} is not on the allowlist INNOMON_SOURCE_HOSTS ({', '.join(allowed)})"
    return None


# The largest input the pipeline reads (an export, a frame, a ZIP's contents), in bytes: a census of
# every firm in the country answers in well under it; a file beyond it is refused before it is parsed.
DEFAULT_MAX_INPUT_BYTES = 1 << 30  # 1 GiB
# The largest ratio of a ZIP entry's size to its compressed size (an xlsx sheet compresses about 10
# to 20 times; a "zip bomb" thousands of times).
MAX_ZIP_RATIO = 1000


def max_input_bytes() -> int:
    """`INNOMON_MAX_INPUT_BYTES`, or 1 GiB."""
    text = os.environ.get("INNOMON_MAX_INPUT_BYTES", "")
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_INPUT_BYTES


def size_refusal(size: int, what: str) -> str | None:
    """Why an input of `size` bytes is refused (None: it is read)."""
    cap = max_input_bytes()
    if size > cap:
        return f"{what} is {size:,} bytes, more than the {cap:,} the pipeline reads (INNOMON_MAX_INPUT_BYTES)"
    return None


def zip_refusal(entries: list[tuple[str, int, int]], what: str) -> str | None:
    """Why a ZIP is refused before it is unpacked (None: it is read): `entries` are (name, size,
    compressed size) as its directory declares them. Python's `zipfile` never inflates an entry past
    its declared size, so the declared sizes bound what is read."""
    total = sum(size for _, size, _ in entries)
    refusal = size_refusal(total, f"{what} unpacked")
    if refusal:
        return refusal
    for name, size, packed in entries:
        if size > (1 << 20) and size > MAX_ZIP_RATIO * max(packed, 1):
            return f"{what}: {name} unpacks {size // max(packed, 1):,} times its packed size (a ZIP bomb?)"
    return None


# The roots a deployment run may name. A run's parameters come from a form in the Prefect UI, which
# the open-source server serves without login: a worker works on its own raw root, store and
# published root, and on another only if `INNOMON_ALLOWED_ROOTS` (comma-separated folders or s3://
# prefixes) holds it (checked in `innomon.run_guard`).
ROOT_VARIABLES = {"raw root": "INNOMON_RAW_ROOT", "store": "INNOMON_STORE", "published root": "INNOMON_PUBLISHED"}


def own_root(role: str) -> str:
    """The worker's own root for a role ("raw root", "store", "published root"), or ""."""
    return os.environ.get(ROOT_VARIABLES[role], "")


def allowed_roots() -> list[str]:
    """`INNOMON_ALLOWED_ROOTS`, as written."""
    return [p.strip() for p in os.environ.get("INNOMON_ALLOWED_ROOTS", "").split(",") if p.strip()]
