"""Shared fixtures: an ephemeral Prefect API for the session, and one demo run of 2021-2023."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("INNOMON_RETRY_DELAYS", "0.2,0.5")  # the same retries, shorter waits

from tests import s3server

SHARED = Path(__file__).resolve().parent / "data"


# The longest test files start first, so the two test processes (pytest-xdist, one file at a time)
# finish together instead of one waiting for the end-to-end test (longest processing time first).
SLOW_FIRST = ("test_e2e_server.py", "test_dask.py", "test_s3_publish.py", "test_validation_battery.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order inside a file is kept


@pytest.fixture(scope="session", autouse=True)
def prefect_api():
    """Every test talks to a temporary Prefect API with its own SQLite database."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic exports of 2021-2023 at the configured sizes (written once per session)."""
    from innomon.synth.export import write_year

    root = tmp_path_factory.mktemp("exports")
    for year in (2021, 2022, 2023):
        write_year(year, root)
    return root


@pytest.fixture(scope="session")
def demo(exports: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo: all three years run into one local store."""
    from innomon.cli import run_year

    store = tmp_path_factory.mktemp("store")
    results = {year: run_year(year, str(exports), str(store)) for year in (2021, 2022, 2023)}
    return {"store": store, "exports": exports, "results": results}


S3_BUCKET = s3server.BUCKET


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory):
    """A real SeaweedFS S3 server with keys, its bucket created; the AWS environment points at it."""
    from innomon import storage

    server = s3server.start(tmp_path_factory.mktemp("seaweed"))
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ENDPOINT_URL", server.endpoint)
    mp.setenv("AWS_ACCESS_KEY_ID", s3server.ACCESS_KEY)
    mp.setenv("AWS_SECRET_ACCESS_KEY", s3server.SECRET_KEY)
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    storage._s3_client.cache_clear()
    server.client().create_bucket(Bucket=S3_BUCKET)
    yield server
    mp.undo()
    storage._s3_client.cache_clear()
    server.stop()


def copy_exports(src: Path, dst: Path) -> Path:
    """A private copy of the exports that a test may damage."""
    shutil.copytree(src, dst)
    return dst
