"""Shared fixtures: an ephemeral Prefect API for the session, and one demo run of 2021-2023."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("INNOMON_RETRY_DELAYS", "0.2,0.5")  # the same retries, shorter waits
# The tests run on synthetic firms only, with the built-in demo key, said explicitly (innomon.keys);
# tests/test_keys.py takes it away to see a real run refuse to start without a key of its own.
os.environ["INNOMON_DEMO"] = "1"

from tests import s3server

SHARED = Path(__file__).resolve().parent / "data"


# The test processes (pytest-xdist, one file at a time, `--no-loadscope-reorder` so that this order
# holds) take files longest first, so that they finish together (longest processing time first).
# The first two files of the two processes: the end-to-end test (two minutes, no demo) and the Dask
# test, whose process builds the shared demo while the other runs the tests that need no demo.
SLOW_FIRST = (
    "test_e2e_server.py",
    "test_dask.py",
    "test_s3_publish.py",
    "test_validation_battery.py",
    "test_rollover.py",
    "test_config_battery.py",
    "test_console.py",
    "test_region.py",
    "test_api.py",
    "test_approval.py",
    "test_linking.py",
    "test_published_bundle.py",
    "test_revisions.py",
    "test_operations.py",
    "test_no_formulas.py",
    "test_result_storage.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order inside a file is kept


@pytest.fixture(scope="session", autouse=True)
def prefect_api():
    """Every test talks to a temporary Prefect API with its own SQLite database.

    The harness's server runs with the command line's server settings (`innomon.api.SERVER_ENV`: no
    block registration at start, no automation triggers), which is what the product's runs talk to,
    and starts in 14 s of CPU instead of 20 here. The runs in the test processes use the settings of
    the command line's runs on its local API too (`innomon.api.local_run_settings`)."""
    from prefect.settings import temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from innomon.api import SERVER_ENV, local_run_settings

    with pytest.MonkeyPatch.context() as mp:
        for name, value in SERVER_ENV.items():
            mp.setenv(name, value)  # read by the harness's server process from its environment
        with prefect_test_harness(server_startup_timeout=120), temporary_settings(updates=local_run_settings()):
            yield


@contextlib.contextmanager
def _locked(path: Path, exclusive: bool = True) -> Iterator[None]:
    """An advisory file lock (flock) held for the block: shared between the test processes."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every test process of this session sees: under pytest-xdist each process has its
    own base temp folder (`popen-gwN`), whose parent belongs to the session."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


def _build_once(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """`root/name`, built by the first test process that asks for it; the others wait and reuse it
    (the demo costs about a minute of CPU: paid once, not once per process)."""
    target = root / name
    with _locked(root / f"{name}.lock"):
        if not (target / ".complete").exists():
            if target.exists():  # a build that failed half-way: start again
                shutil.rmtree(target)
            target.mkdir()
            build(target)
            (target / ".complete").write_text("")
    return target


EXPORTS = "exports"


def exports_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's exports are (or will be) written, without waiting for them."""
    return _shared_root(tmp_path_factory) / EXPORTS


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic exports of 2021-2023 at the configured sizes (written once per session; read-only:
    a test that damages an export works on `copy_exports`)."""

    def build(root: Path) -> None:
        from innomon.synth.export import write_year

        for year in (2021, 2022, 2023):
            write_year(year, root)

    return _build_once(_shared_root(tmp_path_factory), EXPORTS, build)


@pytest.fixture(scope="session")
def demo(exports: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo: all three years run into one local store, built once for the session and shared by
    the test processes. Read-only: a test that runs the flow works on `copy_demo_store` (a copied
    store keeps its cache, D34), so no test waits for another to finish with the store."""

    def build(root: Path) -> None:
        from innomon.cli import run_year

        for year in (2021, 2022, 2023):
            run_year(year, str(exports), str(root / "store"))

    root = _build_once(_shared_root(tmp_path_factory), "demo", build)
    return {"store": root / "store", "exports": exports}


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


def copy_demo_store(demo: dict, store: Path) -> Path:
    """A private copy of the demo store (D34: it keeps its cache), for a test that runs the flow."""
    shutil.copytree(demo["store"], store)
    return store


def copy_demo_zones(demo: dict, store: Path) -> Path:
    """A new store with the demo's raw and processed zones (the archived exports, every computed
    step and its cache) and nothing published. A run into it recomputes only what its own
    configuration changes (D34, D35) and publishes the store's first release; for tests whose
    subject is publishing or the flow's control, not the computation a fresh store repeats."""
    for zone in ("raw", "processed"):
        shutil.copytree(demo["store"] / zone, store / zone)
    return store
