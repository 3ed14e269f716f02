"""Stage `fetch`: bring a year's export from its source, minimise it, and archive it by SHA-256.

Sources: a local path or `s3://` object under the raw root, or the survey platform's API. Only the
columns the year's datamap names are kept (`innomon.exports.minimise`: the platform's IP address,
location and recipient columns never reach the store); the minimised export is archived under its
SHA-256, and the original export's SHA-256 is recorded beside it, so every published figure is
traceable to the exact file received, and a config may pin that SHA-256 (data freeze).
"""

from __future__ import annotations

import json
from typing import Any

from prefect import get_run_logger, task

from innomon import ledger, policy, refs, stage_report, storage
from innomon.errors import ConfigError, InputError
from innomon.exports import minimise, read_export
from innomon.hashing import canonical_json, sha256_bytes
from innomon.prefect_support import run_key
from innomon.retry import retry_delays, retry_unless
from schemas.config import Source
from schemas.datamap import spss_safe


def source_uri(raw_root: str, year: int, source: Source) -> str:
    """Where a year's export is: `RAW_ROOT/YEAR/<filename>`, the config's explicit `source.uri`, or
    `qualtrics://SURVEY_ID` for the survey platform's export API (`source.kind: qualtrics`).

    Takes the year and its `source`, not the whole configuration: the flow has only the run plan's
    sources at hand, the configurations themselves are read by the tasks."""
    if source.kind == "qualtrics":
        return f"qualtrics://{source.survey_id}"
    if source.uri:
        return storage.as_uri(source.uri)
    return storage.join(storage.as_uri(raw_root), str(year), source.filename)


ARCHIVE_POINTER = "archived.json"  # raw/YEAR/archived.json: the export the year's last fetch archived


def _archived(folder: str, pinned_sha256: str | None = None) -> tuple[str, str, str] | None:
    """(archive URI, original file name, original SHA-256) of the file a folder's `archived.json`
    points to: the pinned one (by the received export's SHA-256) if the year is frozen, else the last
    one archived there."""
    pointer = storage.join(folder, ARCHIVE_POINTER)
    if not storage.exists(pointer):
        return None
    meta = json.loads(storage.read_bytes(pointer))
    original = str(meta.get("original_sha256", meta["sha256"]))
    if pinned_sha256 and original != pinned_sha256:
        return None
    uri = storage.join(folder, f"{meta['sha256']}.{meta['ext']}")
    return (uri, str(meta["name"]), original) if storage.exists(uri) else None


def _archive(folder: str, data: bytes, digest: str, name: str, default_ext: str, point: bool = True) -> str:
    """Store the bytes (whose SHA-256 is `digest`) at `folder/<sha256>.<ext>` once and, with `point`,
    point `archived.json` at them; returns the archive URI."""
    ext = _ext(name, default_ext)
    archive = storage.join(folder, f"{digest}.{ext}")
    if not refs.intact(archive, digest):  # missing or damaged: written again from the export
        storage.write_bytes(archive, data)
    if point:
        _point(folder, digest, ext, name)
    return archive


def _ext(name: str, default_ext: str) -> str:
    return name.rsplit(".", 1)[-1] if "." in name else default_ext


def _point(folder: str, digest: str, ext: str, name: str, original: str | None = None) -> None:
    pointer = storage.join(folder, ARCHIVE_POINTER)
    fields = {"sha256": digest, "ext": ext, "name": name}
    if original and original != digest:  # an export minimised at the door: what was received
        fields["original_sha256"] = original
    meta = canonical_json(fields) + b"\n"
    if not storage.exists(pointer) or storage.read_bytes(pointer) != meta:
        storage.write_bytes(pointer, meta)


def mark_archived(raw_zone: str, raw: dict[str, Any]) -> str:
    """Point the year's `archived.json` at its fetched export, once that export has passed validation:
    a rejected export never becomes what a later run reads as this year (a comparison year)."""
    folder = storage.join(raw_zone, str(raw["year"]))
    _point(folder, raw["sha256"], _ext(raw["name"], "bin"), raw["name"], raw.get("original_sha256"))
    return storage.join(folder, ARCHIVE_POINTER)


def archived_export(raw_zone: str, year: int, pinned_sha256: str | None = None) -> tuple[str, str, str] | None:
    """(archive URI, original file name, original SHA-256) of a year's export in the store's raw archive: the pinned
    one if the year is frozen, else the one its last fetch archived (`raw/YEAR/archived.json`)."""
    return _archived(storage.join(raw_zone, str(year)), pinned_sha256)


def fetch(
    uri: str,
    year: int,
    raw_zone: str,
    pinned_sha256: str | None = None,
    source: dict[str, Any] | None = None,
    from_archive: bool = False,
    keep: list[str] | None = None,
    erasure: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Read the export, check a pinned SHA-256 (of the export as received), keep only the columns
    in `keep` (None: all), drop the responses of firms the erasure ledger names (`erasure`: the
    identity columns, the key's variable and fingerprint, the processed zone), archive the result at
    `raw/YEAR/<sha256>.<ext>`.

    With `from_archive` (a comparison year), an export the raw root no longer holds is read from
    the store's archive: last year's exports need not stay in this year's drop folder."""
    name = uri.rsplit("/", 1)[-1]
    original: str | None = None
    if uri.startswith("qualtrics://"):
        from tasks.fetch.qualtrics import QualtricsClient, api_token

        # `source` stays the configuration's dict as a task parameter (the cache keys after fetch
        # are built from such parameters); it is read typed here.
        src = Source.model_validate(source) if source is not None else None
        if src is None or not src.base_url:
            raise ConfigError("A survey-platform source (source.kind: qualtrics) needs source.base_url.")
        refusal = policy.source_host_refusal(src.base_url)  # again here: a stored config is input too
        if refusal:
            raise ConfigError(f"source.base_url: {refusal}; nothing was sent.")
        client = QualtricsClient(
            src.base_url,
            api_token(src),
            timeout=float(src.timeout if src.timeout is not None else 600),
            poll_interval=float(src.poll_interval if src.poll_interval is not None else 2),
        )
        data = client.export_csv(uri.removeprefix("qualtrics://"), keep)
        name = src.filename
    else:
        if not storage.exists(uri):
            archived = archived_export(raw_zone, year, pinned_sha256) if from_archive else None
            if archived is None:
                raise InputError("The export does not exist or cannot be reached.", file=uri, rule="missing_file")
            uri, name, original = archived
        data = storage.read_input(uri, "The export")
    original = original or sha256_bytes(data)
    if pinned_sha256 and original != pinned_sha256:
        raise InputError(
            f"The export's SHA-256 is {original[:12]}..., but year {year} is frozen at {pinned_sha256[:12]}...",
            file=uri,
            rule="data_freeze",
        )
    drop: frozenset[int] = frozenset()
    erased, key = _erasure_ledger(erasure) if erasure else (set(), None)
    export = None
    if key is not None and erasure:  # firms erased on request: their responses never enter the store
        export = read_export(data, name)
        columns = {k: spss_safe(c) if export.format == "sav" else c for k, c in erasure["columns"].items()}
        drop = ledger.rows_to_erase(export.frame, columns, key, erased)
    if keep is not None or drop:  # at the door: nothing unused or erased is written anywhere
        data = minimise(data, name, set(keep) if keep is not None else None, drop, export)
    digest = sha256_bytes(data)
    folder = storage.join(raw_zone, str(year))
    archive = _archive(folder, data, digest, name, "bin", point=False)
    ref = {
        "uri": archive,
        "sha256": digest,
        "original_sha256": original,
        "size": len(data),
        "name": name,
        "source": uri,
        "year": year,
        "erased": len(drop),
    }
    return {**ref, "from_archive": True} if uri == archive else ref


def _erasure_ledger(erasure: dict[str, Any]) -> tuple[set[str], bytes | None]:
    """The ledger's hashes and its key (none before the first erasure)."""
    processed = erasure["processed_root"]
    erased = ledger.hashes(ledger.read(ledger.ledger_uri(processed)))
    if not erased:
        return erased, None
    return erased, ledger.ledger_key(processed, run_key(erasure["key_env"], erasure["key_id"]))


@task(name="mark-archived")
def mark_archived_task(raw_zone: str, raw: dict[str, Any], validated: dict[str, Any]) -> str:
    """Never cached: after the year's export passed validation (`validated`, the validate step's
    result, is what orders it after that step), its archive becomes the year's `archived.json`."""
    return mark_archived(raw_zone, raw)


def export_ref(raw: dict[str, Any]) -> dict[str, Any]:
    """What identifies an archived export: its archive URI, SHA-256, size, file name and year. Where
    it was fetched from (the raw root or the store's archive) is no input of its figures, so the
    steps after fetch are cached on this alone."""
    return {k: raw[k] for k in ("uri", "sha256", "size", "name", "year")}


@task(
    name="fetch",
    retries=2,
    retry_delay_seconds=retry_delays(),
    retry_condition_fn=retry_unless(InputError),
    on_completion=[stage_report.hook],
)
def fetch_task(
    uri: str,
    year: int,
    raw_zone: str,
    pinned_sha256: str | None = None,
    source: dict[str, Any] | None = None,
    from_archive: bool = False,
    keep: list[str] | None = None,
    erasure: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Prefect wrapper: never cached (the source may have changed); retried with backoff (it may be
    remote)."""
    ref = fetch(uri, year, raw_zone, pinned_sha256, source, from_archive, keep, erasure)
    get_run_logger().info("Fetched %s for %s: sha256 %s, %d bytes", ref["name"], year, ref["sha256"], ref["size"])
    return ref


FRAME_FOLDER = "frame"  # raw/YEAR/frame/<sha256>.csv and its pointer archived.json


def fetch_frame(
    raw_root: str,
    year: int,
    raw_zone: str,
    filename: str,
    from_archive: bool = False,
    erasure: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The year's invitation frame (`RAW_ROOT/YEAR/<filename>`), archived by SHA-256 in the raw zone
    like the export, or None when the year has none (R01 and R02 are then published as [x]).
    A comparison year's frame may come from the store's archive, as its export does."""
    uri = storage.join(storage.as_uri(raw_root), str(year), filename)
    folder = storage.join(raw_zone, str(year), FRAME_FOLDER)
    if not storage.exists(uri):
        archived = _archived(folder) if from_archive else None
        if archived is None:
            return None
        uri = archived[0]
    data = storage.read_input(uri, "The invitation frame")
    erased, key = _erasure_ledger(erasure) if erasure else (set(), None)
    if key is not None:  # an erased firm stays in the population, unnamed
        data, _ = ledger.frame_without(data, key, erased)
    digest = sha256_bytes(data)
    archive = _archive(folder, data, digest, filename, "csv")
    return {"uri": archive, "sha256": digest, "size": len(data), "name": filename, "year": year}


@task(
    name="fetch-frame",
    retries=2,
    retry_delay_seconds=retry_delays(),
    retry_condition_fn=retry_unless(InputError),
)
def fetch_frame_task(
    raw_root: str,
    year: int,
    raw_zone: str,
    filename: str,
    from_archive: bool = False,
    erasure: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Prefect wrapper: never cached (the drop folder may have changed); its SHA-256 keys the
    weights and the run id."""
    return fetch_frame(raw_root, year, raw_zone, filename, from_archive, erasure)


def private_file_ref(processed_root: str, year: int, pattern: str | None) -> dict[str, Any] | None:
    """Reference (with SHA-256) to a file the survey team edits in the private zone (the year's
    corrections, reviewed link decisions), if the pattern is configured and the file exists."""
    if not pattern:
        return None
    uri = storage.join(processed_root, pattern.format(year=year))
    if not storage.exists(uri):
        return None
    data = storage.read_input(uri, "The file")
    return {"uri": uri, "sha256": sha256_bytes(data), "size": len(data), "name": uri.rsplit("/", 1)[-1]}


@task(name="fetch-private-files")
def fetch_private_files_task(
    processed_root: str, year: int, patterns: dict[str, str | None]
) -> dict[str, dict[str, Any] | None]:
    """Prefect wrapper for the files the survey team edits in the private zone (corrections, reviewed
    link decisions), one task for all of a year's: never cached; their SHA-256 keys the steps that
    use them and the run id."""
    return {name: private_file_ref(processed_root, year, pattern) for name, pattern in patterns.items()}
