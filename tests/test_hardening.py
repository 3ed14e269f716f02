"""A configuration, a run's parameters and an input file are untrusted: what would turn them against
the system is refused with one line and exit 2 (3 for an input), before anything is sent, read or
written (issue 29). The configuration's own battery is in tests/test_config_battery.py."""

from __future__ import annotations

import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from innomon import storage
from innomon.cli import main
from innomon.errors import ConfigError, InputError
from tests.helpers import edit_yaml, tree_hashes
from tests.rollover import config_with_2024


class _Listener(BaseHTTPRequestHandler):
    """A local survey platform that records every request it receives (it should receive none)."""

    def log_message(self, *args: object) -> None:
        pass

    def _any(self) -> None:
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        self.send_response(500)
        self.end_headers()

    do_GET = do_POST = _any


@pytest.fixture()
def listener():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.mark.parametrize(
    ("source", "hosts", "said"),
    [
        ({"base_url": "http://127.0.0.1:{port}"}, "127.0.0.1", "source.base_url"),  # http, though allowed
        ({"base_url": "https://127.0.0.1:{port}"}, "", "not on the allowlist"),  # the default: Qualtrics only
        (  # an allowed host, but the token of another service
            {"base_url": "https://127.0.0.1:{port}", "token_env": "AWS_SECRET_ACCESS_KEY"},
            "127.0.0.1",
            "source.token_env",
        ),
    ],
)
def test_a_refused_source_sends_nothing(
    source: dict, hosts: str, said: str, listener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    port = listener.server_address[1]
    cdir = config_with_2024(tmp_path)
    values = {k: v.format(port=port) for k, v in source.items()}
    edit_yaml(cdir / "2024.yaml", lambda d: d["source"].update(kind="qualtrics", survey_id="SV_1", **values))
    monkeypatch.setenv("INNOMON_CONFIG_DIR", str(cdir))
    monkeypatch.setenv("INNOMON_SOURCE_HOSTS", hosts)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a-secret-the-platform-must-never-see")
    monkeypatch.setenv("QUALTRICS_API_TOKEN", "token")
    code = main(["run", "--year", "2024", "--raw-root", str(tmp_path / "raw"), "--store", str(tmp_path / "store")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and said in err, err
    assert listener.requests == []
    assert not (tmp_path / "store").exists()


def test_the_fetch_step_refuses_a_stored_source_that_is_not_allowed(listener, monkeypatch) -> None:
    """A configuration stored in the processed zone is input too: the fetch step checks the host
    again before it asks for anything."""
    from tasks.fetch.stage import fetch

    monkeypatch.setenv("QUALTRICS_API_TOKEN", "token")
    monkeypatch.delenv("INNOMON_SOURCE_HOSTS", raising=False)
    source = {"filename": "x.csv", "format": "qualtrics_csv", "kind": "qualtrics", "survey_id": "SV_1",
              "base_url": f"https://127.0.0.1:{listener.server_address[1]}"}  # fmt: skip
    with pytest.raises(ConfigError, match="not on the allowlist"):
        fetch("qualtrics://SV_1", 2024, "file:///nonexistent/raw", None, source)
    assert listener.requests == []


@pytest.mark.parametrize("region", ["../../etc", "national/../x", "Nationaal"])
def test_a_region_that_is_not_a_name_is_refused(region: str, capsys) -> None:
    assert main(["--region", region, "check", "--year", "2023"]) == 2
    err = capsys.readouterr()
    text = (err.err + err.out).strip()
    assert "is not a name" in text and "Traceback" not in text, text


@pytest.mark.parametrize("run_id", ["../../2022/runs/0123456789abcdef", "0123456789ABCDEF", "latest"])
def test_rollback_takes_a_run_id_never_a_path(run_id: str, tmp_path: Path, capsys) -> None:
    store = tmp_path / "store"
    (store / "published" / "2023" / "runs").mkdir(parents=True)
    before = tree_hashes(store)
    assert main(["rollback", "--year", "2023", "--to", run_id, "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is no run id" in err, err
    assert tree_hashes(store) == before


def test_a_storage_key_never_climbs_out_of_its_root() -> None:
    assert storage.join("file:///s/processed", "2023", "tables.csv") == "file:///s/processed/2023/tables.csv"
    for part in ("../published/x", "a/../../b", "..", "a\\..\\b"):
        with pytest.raises(ConfigError, match="climbs out of its root"):
            storage.join("file:///s/processed", part)


@pytest.mark.parametrize(
    ("store", "published", "overlaps"),
    [
        ("{t}/store", "{t}/store", "the store's raw zone"),
        ("{t}/store", "{t}/store/processed/site", "the store's processed zone"),
        ("{t}/store", "{t}", "the store's raw zone"),
        ("{t}/site/store", "{t}/site", "the store's raw zone"),
        ("{t}/store", "{t}/raw/site", "the raw root"),
    ],
)
def test_a_published_zone_that_overlaps_a_private_one_is_refused(
    store: str, published: str, overlaps: str, tmp_path: Path, capsys
) -> None:
    t = str(tmp_path)
    args = ["run", "--year", "2023", "--raw-root", f"{t}/raw", "--store", store.format(t=t)]
    assert main([*args, "--published", published.format(t=t)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "overlaps" in err and overlaps in err, err
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere


def test_separate_zones_are_accepted() -> None:
    storage.check_separate_zones("/data/raw", "s3://b/store", None)  # the default: STORE/published
    storage.check_separate_zones("/data/raw", "s3://b/store", "s3://b/store/published")
    storage.check_separate_zones("/data/raw", "s3://b/store", "s3://b/storefront")  # a name, not a prefix
    storage.check_separate_zones("/data/raw", "s3://b/store", "s3://site/monitor")


def test_an_export_larger_than_the_cap_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from innomon.exports import read_export

    monkeypatch.setenv("INNOMON_MAX_INPUT_BYTES", "1000")
    path = tmp_path / "export.csv"
    path.write_bytes(b"ResponseId,Q1\n" + b"R_1,x\n" * 300)
    with pytest.raises(InputError) as got:
        storage.read_input(storage.as_uri(path), "The export")
    assert got.value.rule == "too_large" and "1,000" in str(got.value)
    with pytest.raises(InputError, match="more than the 1,000"):
        read_export(path.read_bytes(), "export.csv")


def test_a_zip_bomb_workbook_is_refused_before_it_is_unpacked() -> None:
    from innomon.exports import read_export
    from tasks.fetch.qualtrics import unzip_single_csv

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", b"<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 << 20))  # 64 MiB of zeros: about 64 kB packed
    data = buf.getvalue()
    assert len(data) < 200_000
    with pytest.raises(InputError, match="ZIP bomb") as got:
        read_export(data, "bomb.xlsx")
    assert got.value.rule == "too_large"
    with pytest.raises(InputError, match="ZIP bomb"):
        unzip_single_csv(data, "export ES_1")
