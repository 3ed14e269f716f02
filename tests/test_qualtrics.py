"""The survey platform's export API client against a small local server implementing the three
Qualtrics v3 endpoints: a slow export, a 429 with Retry-After, an expired token."""

from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from innomon.errors import ConfigError
from tasks.fetch.qualtrics import QualtricsClient

CSV = b'\xef\xbb\xbfResponseId,Q1\r\nResponse ID,Naam\r\n{"ImportId":"_recordId"},{"ImportId":"QID1_TEXT"}\r\nR_1,x\r\n'


class Platform(BaseHTTPRequestHandler):
    """Scenario state lives on the server object: polls before completion, a 429 on the first poll."""

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/json", headers: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _auth(self) -> bool:
        if self.headers.get("X-API-TOKEN") != "good-token":
            self._send(401, b'{"meta": {"error": {"errorMessage": "token expired"}}}')
            return False
        return True

    def do_POST(self) -> None:
        if not self._auth():
            return
        self.server.calls.append("start")
        self.server.bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0")))))
        self._send(
            200, json.dumps({"result": {"progressId": "ES_1", "percentComplete": 0, "status": "inProgress"}}).encode()
        )

    def do_GET(self) -> None:
        if not self._auth():
            return
        if self.path.endswith("/survey-definitions/SV_abc/questions"):
            self.server.calls.append("questions")
            elements = [{"QuestionID": "QID1", "DataExportTag": "Q1"}, {"QuestionID": "QID7", "DataExportTag": "Q9"}]
            elements += [{"QuestionID": "QID8", "DataExportTag": "Q10"}]  # asked by no column
            self._send(200, json.dumps({"result": {"elements": elements}}).encode())
        elif re.search(r"/export-responses/ES_1$", self.path):
            self.server.calls.append("poll")
            if self.server.throttle:
                self.server.throttle = False
                self._send(429, b"{}", headers={"Retry-After": "3"})
                return
            self.server.polls_left -= 1
            done = self.server.polls_left <= 0
            body = (
                {"status": "complete", "percentComplete": 100, "fileId": "F_1"}
                if done
                else {"status": "inProgress", "percentComplete": 50}
            )
            self._send(200, json.dumps({"result": body}).encode())
        elif self.path.endswith("/export-responses/F_1/file"):
            self.server.calls.append("download")
            if self.server.flood is not None:  # a server that sends more than any export, sized or not
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                if self.server.flood == "declared":
                    self.send_header("Content-Length", str(50_000_000))
                self.end_headers()
                try:
                    for _ in range(50):
                        self.wfile.write(b"\0" * 1_000_000)
                except (BrokenPipeError, ConnectionResetError):
                    self.server.cut_off = True
                return
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                z.writestr("Innovatiemonitor 2023.csv", CSV)
            self._send(200, buf.getvalue(), "application/zip")
        else:
            self._send(404, b"{}")


@pytest.fixture()
def platform():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    server.calls, server.polls_left, server.throttle, server.bodies = [], 3, True, []
    server.flood, server.cut_off = None, False
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_slow_export_with_429_is_downloaded_and_unzipped(platform) -> None:
    slept: list[float] = []
    client = QualtricsClient(
        f"http://127.0.0.1:{platform.server_address[1]}", "good-token", poll_interval=0.5, sleep=slept.append
    )
    assert client.export_csv("SV_abc") == CSV
    assert platform.calls == ["start", "poll", "poll", "poll", "poll", "download"]
    assert slept[0] == 3.0  # honoured Retry-After
    assert slept.count(0.5) == 2  # two polls found the export still running


def test_the_export_asks_for_the_datamap_columns_only(platform) -> None:
    """Minimisation starts at the platform: metadata by their API ids, questions by the QIDs the
    survey definition gives their export tags, the rest as embedded data; no IP address, location
    or recipient column is asked for, and a column's SPSS-safe twin is not asked for twice."""
    platform.throttle = False
    client = QualtricsClient(f"http://127.0.0.1:{platform.server_address[1]}", "good-token", sleep=lambda s: None)
    keep = ["Duration (in seconds)", "Duration__in_seconds_", "Q1", "Q9_1", "Q9_2", "ResponseId", "Status", "panel"]
    assert client.export_csv("SV_abc", keep) == CSV
    assert platform.calls[:2] == ["questions", "start"]
    body = platform.bodies[0]
    assert body["surveyMetadataIds"] == ["_recordId", "duration", "status"]
    assert body["questionIds"] == ["QID1", "QID7"]
    assert body["embeddedDataIds"] == ["panel"]
    client.export_csv("SV_abc")  # without a column list: the whole export, as before
    assert set(platform.bodies[1]) == {"format", "useLabels"}


@pytest.mark.parametrize("flood", ["declared", "streamed"])
def test_a_download_beyond_the_cap_is_refused_while_it_streams(platform, flood, monkeypatch) -> None:
    """50 MB sent against a cap of 2 MB: refused after at most the cap (plus one chunk) was read,
    whether the server declares its size or streams without one."""
    from innomon.errors import InputError

    monkeypatch.setenv("INNOMON_MAX_INPUT_BYTES", str(2_000_000))
    platform.flood, platform.throttle = flood, False
    client = QualtricsClient(f"http://127.0.0.1:{platform.server_address[1]}", "good-token", sleep=lambda s: None)
    with pytest.raises(InputError) as err:
        client.export_csv("SV_abc")
    assert err.value.rule == "too_large"
    assert "more than the 2,000,000" in str(err.value)
    assert "\n" not in str(err.value)


def test_expired_token_is_one_clear_sentence(platform) -> None:
    client = QualtricsClient(f"http://127.0.0.1:{platform.server_address[1]}", "expired", sleep=lambda s: None)
    with pytest.raises(ConfigError) as err:
        client.export_csv("SV_abc")
    assert "refused the API token (401)" in str(err.value)


def test_export_that_never_completes_times_out(platform) -> None:
    platform.polls_left = 10**6
    client = QualtricsClient(
        f"http://127.0.0.1:{platform.server_address[1]}", "good-token", timeout=0.0, sleep=lambda s: None
    )
    with pytest.raises(Exception, match="did not complete"):
        client.export_csv("SV_abc")
