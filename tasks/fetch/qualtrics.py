"""A client for the survey platform's response-export API (Qualtrics v3): start an export, poll its
progress, download the ZIP and take the CSV out of it.

Asks for the columns the year's datamap names only (data minimisation: the platform's IP address,
location and recipient columns are never sent): survey metadata by the API's own ids, questions by
their QIDs, looked up from the survey definition by each question's export tag, and the rest as
embedded data. Honours `Retry-After` on 429, gives up after a timeout, and turns a refused token into one clear
sentence. The token comes from an environment variable or a Prefect Secret block, never from config.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Callable
from typing import Any

import httpx

from innomon import policy
from innomon.errors import ConfigError, InnomonError, InputError
from schemas.config import Source
from schemas.datamap import spss_safe


def api_token(source: Source) -> str:
    """The API token: the Secret block `source.token_secret` or the variable `source.token_env`."""
    if source.token_secret:
        from prefect.blocks.system import Secret

        return str(Secret.load(source.token_secret).get())
    env = source.token_env or "QUALTRICS_API_TOKEN"
    token = os.environ.get(env)
    if not token:
        raise ConfigError(f"No survey-platform API token: set {env} or configure source.token_secret.")
    return token


# The export's metadata columns (as the CSV header names them) and the ids the export API asks them by.
METADATA_IDS = {
    "StartDate": "startDate",
    "EndDate": "endDate",
    "Status": "status",
    "IPAddress": "ipAddress",
    "Progress": "progress",
    "Duration (in seconds)": "duration",
    "Finished": "finished",
    "RecordedDate": "recordedDate",
    "ResponseId": "_recordId",
    "RecipientLastName": "recipientLastName",
    "RecipientFirstName": "recipientFirstName",
    "RecipientEmail": "recipientEmail",
    "ExternalReference": "externalDataReference",
    "LocationLatitude": "locationLatitude",
    "LocationLongitude": "locationLongitude",
    "DistributionChannel": "distributionChannel",
    "UserLanguage": "userLanguage",
}


def export_request(columns: list[str], questions: list[dict[str, Any]]) -> dict[str, Any]:
    """The export request's column selection for `columns` (the datamap's column ids): metadata by
    their API ids, a question by its QID when one of the columns is its export tag or starts with
    the tag and `_` (a grid's rows, a choice's text), any other column as embedded data. A column
    given also under its SPSS-safe form (fetch keeps both) is asked for once, by its own id."""
    forms = {spss_safe(c) for c in columns if spss_safe(c) != c}
    columns = [c for c in columns if c not in forms]
    metadata = sorted({METADATA_IDS[c] for c in columns if c in METADATA_IDS})
    rest = [c for c in columns if c not in METADATA_IDS]
    qids, matched = set(), set()
    for q in questions:
        tag, qid = str(q.get("DataExportTag", "")), str(q.get("QuestionID", ""))
        hits = {c for c in rest if tag and (c == tag or c.startswith(tag + "_"))}
        if hits and qid:
            qids.add(qid)
            matched |= hits
    embedded = sorted(set(rest) - matched)
    return {"surveyMetadataIds": metadata, "questionIds": sorted(qids), "embeddedDataIds": embedded}


class QualtricsClient:
    """Three endpoints of the v3 API, with polite retries."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 5,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.headers = {"X-API-TOKEN": token, "Content-Type": "application/json"}
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.sleep = sleep
        self.max_retries = max_retries
        self.http = httpx.Client(timeout=60.0)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for _ in range(self.max_retries + 1):
            response = self.http.request(method, f"{self.base}{path}", headers=self.headers, **kwargs)
            if response.status_code == 429:
                self.sleep(float(response.headers.get("Retry-After", "5")))
                continue
            if response.status_code in (401, 403):
                raise ConfigError(
                    f"The survey platform refused the API token ({response.status_code}): it has "
                    "expired or lacks access to this survey; renew it."
                )
            if response.status_code >= 400:
                raise InnomonError(f"The survey platform answered {response.status_code} to {method} {path}.")
            return response
        raise InnomonError(f"The survey platform kept answering 429 (too many requests) to {path}.")

    def questions(self, survey_id: str) -> list[dict[str, Any]]:
        """The survey definition's questions (each with its QuestionID and DataExportTag)."""
        result = self._request("GET", f"/API/v3/survey-definitions/{survey_id}/questions").json()["result"]
        return list(result.get("elements", []))

    def export_csv(self, survey_id: str, columns: list[str] | None = None) -> bytes:
        """Start an export (of `columns` only, when given), wait until it is complete, download and
        unzip it; returns the CSV bytes."""
        path = f"/API/v3/surveys/{survey_id}/export-responses"
        body: dict[str, Any] = {"format": "csv", "useLabels": False}
        if columns is not None:
            body |= export_request(columns, self.questions(survey_id))
        start = self._request("POST", path, json=body).json()["result"]
        progress_id = start["progressId"]
        deadline = time.monotonic() + self.timeout
        while True:
            status = self._request("GET", f"{path}/{progress_id}").json()["result"]
            if status["status"] == "complete":
                file_id = status["fileId"]
                break
            if status["status"] == "failed":
                raise InnomonError(f"The survey platform's export {progress_id} failed.")
            if time.monotonic() > deadline:
                raise InnomonError(f"The survey platform's export did not complete within {self.timeout:.0f} s.")
            self.sleep(self.poll_interval)
        return unzip_single_csv(self._download(f"{path}/{file_id}/file", f"export {file_id}"), f"export {file_id}")

    def _download(self, path: str, name: str) -> bytes:
        """The file, streamed and refused as soon as it passes the worker's input cap (a server
        that sends more than it should never fills the worker's memory)."""
        with self.http.stream("GET", f"{self.base}{path}", headers=self.headers) as response:
            if response.status_code >= 400:
                raise InnomonError(f"The survey platform answered {response.status_code} to GET {path}.")
            what = "The platform's download"
            declared = response.headers.get("Content-Length", "")
            refusal = policy.size_refusal(int(declared), what) if declared.isdigit() else None
            chunks: list[bytes] = []
            got = 0
            for chunk in response.iter_bytes():
                if refusal:  # declared or received beyond the cap: stop reading
                    break
                got += len(chunk)
                refusal = policy.size_refusal(got, what)
                chunks.append(chunk)
        if refusal:
            raise InputError(f"{refusal}.", file=name, rule="too_large")
        return b"".join(chunks)


def unzip_single_csv(data: bytes, name: str) -> bytes:
    """The one CSV inside the platform's ZIP; anything else is refused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InputError("The platform's download is not a ZIP archive.", file=name, rule="not_an_export") from exc
    infos = archive.infolist()
    refusal = policy.zip_refusal([(i.filename, i.file_size, i.compress_size) for i in infos], "The platform's ZIP")
    if refusal:
        raise InputError(f"{refusal}.", file=name, rule="too_large")
    csvs = [n for n in archive.namelist() if n.lower().endswith(".csv")]
    if len(csvs) != 1:
        raise InputError(
            f"The platform's ZIP holds {len(csvs)} CSV files, expected one.", file=name, rule="not_an_export"
        )
    return archive.read(csvs[0])
