"""Stage `publish`: write the year's bundle to `published/YEAR/runs/RUN_ID/`, verify it, then move
`published/YEAR/latest.json` (the pointer is always written last, so readers never see a
half-written release). A rerun with identical outputs is the same release and writes nothing new.
The built bundle is kept in the private processed zone by its bundle key, so a publish that failed
while writing (the published store unreachable) is retried, by Prefect or by the operator's Retry,
without building it again.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pandas as pd
from prefect import get_run_logger, task

from innomon import codeversion, refs, stage_report, storage
from innomon.hashing import canonical_json, sha256_bytes, sha256_json
from innomon.prefect_support import bound_to_store
from innomon.retry import retry_delays
from schemas.config import RunConfig, TableBase
from tasks.publish.index_page import write_index
from tasks.publish.zipfiles import write_zip

Bundle = tuple[dict[str, bytes], list[dict[str, str]]]  # files by relative path; the charts' manifest entries


def run_id(input_sha256: dict[str, str], config_hash: str, code_version: str) -> str:
    """The run id: a hash of the inputs, config and code, so the same inputs are the same release."""
    return sha256_json({"inputs": input_sha256, "config": config_hash, "code": code_version})[:16]


def bundle_files(
    tables_csv: bytes,
    models_csv: bytes,
    fit_csv: bytes,
    reports: list[dict[str, Any]],
    cfg: RunConfig,
    meta: dict[str, Any],
    kept_charts: str | None = None,
) -> Bundle:
    """Every file of the bundle except the manifest, by relative path, and the charts' manifest
    entries (with their alt text). `kept_charts`: a private folder of charts drawn before
    (`start_chart_assets`)."""
    from schemas.cells import read_model_fit_csv, read_models_csv, read_tables_csv
    from tasks.publish.labels import labels_for
    from tasks.publish.layout import shape_tables
    from tasks.publish.workbook import build_workbook  # xlsxwriter: loaded only when a bundle is built

    cells = read_tables_csv(tables_csv)
    models = read_models_csv(models_csv)
    fits = read_model_fit_csv(fit_csv)
    drawing = start_chart_assets(cells, cfg, kept_charts)  # drawn in worker processes while the workbook is built
    shaped = shape_tables(cells, cfg, labels_for(cfg))  # one layout, presented by the workbook and the draft
    workbook = build_workbook(cells, cfg, meta, models, fits, shaped)
    validation = {"year": cfg.year, "years": sorted(reports, key=lambda r: -int(r["year"]))}
    chart_files, charts = drawing()
    concept = {}
    if cfg.report is not None:
        from innomon.config import config_dir
        from tasks.publish.concept import build_concept

        if cfg.report_file is None:  # the loader reads the outline from report_file: never apart
            raise ValueError("the configuration has a report outline but no report_file")
        pictures = {c["id"]: (chart_files[c["png"]], c["alt_text"]) for c in charts}
        template = (config_dir() / cfg.report_file).parent / cfg.report.template
        docx, trace = build_concept(cells, models, fits, cfg, meta, pictures, template, shaped)
        concept = {meta["concept"]: docx, "data/concept-sentences.json": trace}
    files = {
        **chart_files,
        **concept,
        workbook_name(cfg): workbook,
        "data/tables.csv": tables_csv,
        "data/models.csv": models_csv,
        "data/model_fit.csv": fit_csv,
        "validation/report.json": json.dumps(validation, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n",
    }
    return files, charts


def workbook_name(cfg: RunConfig) -> str:
    """The workbook's file name in the release (`publish.workbook_name`, `{year}` filled in)."""
    return cfg.publish_settings.workbook_name.format(year=cfg.year)


def chart_key(job: tuple[Any, ...]) -> str:
    """What one chart is drawn from: its figures, spec, labels and year, the code and matplotlib's
    version. Equal keys draw equal bytes (the charts are deterministic), so a kept chart is reused.

    The spec enters as the keys the configuration writes (`exclude_unset`): a default the model adds
    is no part of what the operator changed."""
    from importlib.metadata import version

    frame, spec, labels, cats, year = job
    return sha256_json(
        {
            "frame": frame.to_csv(index=False, lineterminator="\n"),
            "spec": spec.model_dump(mode="json", exclude_unset=True),
            "labels": labels,
            "cats": cats,
            "year": year,
            "code": codeversion.code_version(),
            "matplotlib": version("matplotlib"),
        }
    )


def start_chart_assets(cells: pd.DataFrame, cfg: RunConfig, kept: str | None = None) -> Any:
    """Start drawing `charts/ID.png` and `charts/ID.svg` per chart spec; the returned callable gives
    the files and their manifest entries with alt text.

    With `kept` (a folder in the private processed zone), a chart drawn before from the same
    `chart_key` is read from `kept/KEY.zip` instead of drawn again (drawing is most of a bundle's
    time, and a new release often repeats figures: a re-export, a correction elsewhere), and a
    newly drawn one is kept there."""
    from tasks.publish.chart_workers import Rendering
    from tasks.publish.charts import chart_frame
    from tasks.publish.labels import item_labels

    labels, cats = item_labels(cfg)
    year = cfg.year
    specs: list[tuple[TableBase, pd.DataFrame]] = []
    for spec in cfg.table_specs:
        if spec.chart is not None:
            frame = chart_frame(cells, spec, year)
            if not frame.empty:
                specs.append((spec, frame))
    jobs = [(frame, spec, labels, cats, year) for spec, frame in specs]  # pickled to the workers: specs are models
    keys = [chart_key(job) for job in jobs] if kept else []
    found = [_kept_chart(kept, key) for key in keys] if kept else [None] * len(jobs)
    missing = [i for i, chart in enumerate(found) if chart is None]
    rendering = Rendering([jobs[i] for i in missing])

    def drawn() -> list[tuple[bytes, bytes, str]]:
        charts = list(found)
        for i, chart in zip(missing, rendering.result(), strict=True):
            charts[i] = chart
            if kept:
                png, svg, alt = chart
                storage.write_bytes(
                    storage.join(kept, f"{keys[i][:32]}.zip"),
                    pack({"chart.png": png, "chart.svg": svg, "alt.txt": alt.encode("utf-8")}),
                )
        return charts  # type: ignore[return-value]

    def collect() -> tuple[dict[str, bytes], list[dict[str, str]]]:
        files: dict[str, bytes] = {}
        entries: list[dict[str, str]] = []
        for (spec, _), (png, svg, alt) in zip(specs, drawn(), strict=True):
            files[f"charts/{spec.id}.png"] = png
            files[f"charts/{spec.id}.svg"] = svg
            entries.append(
                {
                    "id": spec.id,
                    "png": f"charts/{spec.id}.png",
                    "svg": f"charts/{spec.id}.svg",
                    "alt_text": alt,
                    "table": spec.id,
                }
            )
        return files, entries

    return collect


def _kept_chart(kept: str, key: str) -> tuple[bytes, bytes, str] | None:
    """(png, svg, alt text) kept under `key`, or None when there is none or it does not read back whole."""
    parts = read_kept(storage.join(kept, f"{key[:32]}.zip"))
    if not parts or set(parts) != {"chart.png", "chart.svg", "alt.txt"}:
        return None
    return parts["chart.png"], parts["chart.svg"], parts["alt.txt"].decode("utf-8")


def pack(entries: dict[str, bytes]) -> bytes:
    """A ZIP of `entries` (stored, not compressed: they are compressed formats or small): the same
    entries give the same bytes."""
    return write_zip(entries.items(), compress=False)


def read_kept(uri: str) -> dict[str, bytes] | None:
    """The entries of the `pack` archive at `uri`, or None when there is none or it does not read
    back whole (ZIP checks each entry's CRC-32): the caller builds again."""
    if not storage.exists(uri):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(storage.read_bytes(uri))) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None


def chart_assets(cells: pd.DataFrame, cfg: RunConfig) -> tuple[dict[str, bytes], list[dict[str, str]]]:
    """`charts/ID.png` and `charts/ID.svg` per chart spec, and their manifest entries with alt text."""
    return start_chart_assets(cells, cfg)()


def promote(published_root: str, year: int, rid: str, manifest_bytes: bytes, title: str) -> str:
    """Point `published/YEAR/latest.json` at a written and verified release; regenerate index.html."""
    pointer = {
        "year": year,
        "run_id": rid,
        "manifest": f"runs/{rid}/manifest.json",
        "manifest_sha256": sha256_bytes(manifest_bytes),
    }
    storage.write_bytes(storage.join(published_root, str(year), "latest.json"), canonical_json(pointer) + b"\n")
    history = read_history(published_root, year)
    if not history or history[-1] != rid:  # the order releases became latest in: where a withdrawal returns to
        storage.write_bytes(_history_uri(published_root, year), canonical_json([*history, rid]) + b"\n")
    return write_index(published_root, title)


def _history_uri(published_root: str, year: int) -> str:
    return storage.join(published_root, str(year), "history.json")


def read_history(published_root: str, year: int) -> list[str]:
    """The run ids that became latest of a year, oldest first."""
    uri = _history_uri(published_root, year)
    return [str(r) for r in json.loads(storage.read_bytes(uri))] if storage.exists(uri) else []


def read_withdrawn(published_root: str, year: int) -> dict[str, dict[str, str]]:
    """The withdrawn releases of a year (`published/YEAR/withdrawn.json`, a public notice): run id ->
    reason and time."""
    uri = storage.join(published_root, str(year), "withdrawn.json")
    return dict(json.loads(storage.read_bytes(uri))) if storage.exists(uri) else {}


def with_weighting(reports: list[dict[str, Any]], weights: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The validation reports with each weighted year's weighting summary: the frame's size, the
    dimensions, the weights' diagnostics, or why there are no weights (never the weights)."""
    by_year = {int(w["year"]): w for w in weights or []}
    out = []
    for report in reports:
        w = by_year.get(int(report["year"]))
        if w is None:
            out.append(report)
            continue
        keys = ("frame", "frame_firms", "dims", "margins", "problem", "diagnostics")
        out.append({**report, "weighting": {k: w[k] for k in keys if k in w}})
    return out


def bundle_key(
    tables: dict[str, Any], models: dict[str, Any], reports: list[dict[str, Any]], meta: dict[str, Any]
) -> str:
    """A hash of everything the bundle is built from: the computed files (by SHA-256), the
    validation reports and the release's metadata (run id, config hash, code version). Equal keys
    mean equal bundles, so an unchanged release is recognised without building it again."""
    return sha256_json(
        {
            "tables": tables["tables_csv"]["sha256"],
            "models": models["models_csv"]["sha256"],
            "fit": models["model_fit_csv"]["sha256"],
            "reports": reports,
            "meta": meta,
        }
    )


def kept_bundle(processed: str | None, year: int, key: str, build: Callable[[], Bundle]) -> Bundle:
    """The bundle (files and chart entries): read from `processed/YEAR/bundles/KEY.zip` when an
    earlier attempt built it from the same key, else built and kept there. An archive that does not
    read back whole (ZIP checks each file's CRC-32) is built again; the files are checked against
    the manifest once written."""
    if processed is None:
        return build()
    uri = storage.join(processed, str(year), "bundles", f"{key[:32]}.zip")
    kept = read_kept(uri)
    if kept is not None and "charts.json" in kept:
        files = {n.removeprefix("files/"): data for n, data in kept.items() if n.startswith("files/")}
        return files, json.loads(kept["charts.json"])
    files, charts = build()  # none kept, or one that does not read back whole
    entries = {f"files/{path}": data for path, data in sorted(files.items())}
    storage.write_bytes(uri, pack({**entries, "charts.json": canonical_json(charts)}))
    return files, charts


def existing_manifest(published_root: str, year: int, rid: str, key: str) -> bytes | None:
    """The manifest of release `rid` if it is complete (the manifest is written last, after every
    file was verified) and was built from the same `key`; else None."""
    uri = storage.join(published_root, str(year), "runs", rid, "manifest.json")
    if not storage.exists(uri):
        return None
    data = storage.read_bytes(uri)
    return data if json.loads(data).get("bundle_key") == key else None


def staging_root(processed_root: str | None) -> str:
    """Where a release is written and verified before it is public: `processed/staging`, private.
    A release reaches the published zone only when it becomes latest (D41)."""
    if not processed_root:
        raise ValueError("publishing needs the processed zone: a release is staged there before it is public")
    return storage.join(processed_root, "staging")


def _release_base(root: str, year: int, rid: str) -> str:
    return storage.join(root, str(year), "runs", rid)


def _write_release(base: str, files: dict[str, bytes], manifest: dict[str, Any], manifest_bytes: bytes) -> None:
    """Every file, read back against the manifest, then the manifest last (a release without its
    manifest is incomplete, whatever else is there)."""
    for path, data in sorted(files.items()):
        storage.write_bytes(storage.join(base, path), data)
    for entry in manifest["files"]:
        got = storage.read_bytes(storage.join(base, entry["path"]))
        if len(got) != entry["size"] or sha256_bytes(got) != entry["sha256"]:
            raise RuntimeError(f"Object {entry['path']} of release {manifest['run_id']} does not match the manifest.")
    storage.write_bytes(storage.join(base, "manifest.json"), manifest_bytes)


def _complete(base: str, manifest_bytes: bytes) -> bool:
    """Whether the release at `base` is complete with this manifest (its approval record aside: the
    public copy of an approved release carries who approved it)."""
    uri = storage.join(base, "manifest.json")
    if not storage.exists(uri):
        return False
    there = storage.read_bytes(uri)
    if there == manifest_bytes:
        return True
    theirs = {k: v for k, v in json.loads(there).items() if k != "approval"}
    return theirs == json.loads(manifest_bytes)


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def release_public(
    staging: str, published_root: str, year: int, rid: str, approval: dict[str, Any] | None = None
) -> bool:
    """Copy the staged release `rid` to the published zone, verified, manifest last (with `approval`,
    who approved it and when); True when it was not public yet. A copy that fails halfway is removed
    again: nothing half-written stays public."""
    staged = _release_base(staging, year, rid)
    manifest_bytes = storage.read_bytes(storage.join(staged, "manifest.json"))
    base = _release_base(published_root, year, rid)
    if _complete(base, manifest_bytes):
        return False
    manifest = json.loads(manifest_bytes)
    files = {e["path"]: storage.read_bytes(storage.join(staged, e["path"])) for e in manifest["files"]}
    if approval is not None:
        manifest = {**manifest, "approval": approval}
        manifest_bytes = _manifest_bytes(manifest)
    try:
        _write_release(base, files, manifest, manifest_bytes)
    except Exception:
        for path in files:
            _remove_quietly(storage.join(base, path))
        raise
    return True


def _remove_quietly(uri: str) -> None:
    """Remove an object if it is there (the rollback of a half-done copy)."""
    try:
        uri = storage.resolve(uri)
        if uri.startswith("file://"):
            storage.local_path(uri).unlink(missing_ok=True)
        elif uri.startswith("s3://"):
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            storage.s3_client().delete_object(Bucket=bucket, Key=key)
    except Exception:  # the copy's own error is the one to report
        pass


def publish(
    files: dict[str, bytes],
    published_root: str,
    year: int,
    rid: str,
    meta: dict[str, Any],
    promote_now: bool,
    staging: str,
) -> dict[str, Any]:
    """Write and verify the release in the private staging area; then, unless an approval comes
    first, copy it to the published zone and point `latest` at it."""
    manifest = {
        **meta,
        "files": [{"path": p, "size": len(b), "sha256": sha256_bytes(b)} for p, b in sorted(files.items())],
    }
    manifest_bytes = _manifest_bytes(manifest)
    staged = _release_base(staging, year, rid)
    new_release = not _complete(staged, manifest_bytes)
    if new_release:
        _write_release(staged, files, manifest, manifest_bytes)
    if promote_now:
        new_release = release_public(staging, published_root, year, rid) or new_release
    return finish(published_root, staging, year, rid, manifest_bytes, promote_now, new_release=new_release)


def finish(
    published_root: str,
    staging: str,
    year: int,
    rid: str,
    manifest_bytes: bytes,
    promote_now: bool,
    new_release: bool,
) -> dict[str, Any]:
    """Point `latest` at a release (unless it awaits approval) and describe it: its files in the
    published zone once it is public, in the private staging area while it waits."""
    public = _complete(_release_base(published_root, year, rid), manifest_bytes)
    base = _release_base(published_root if public else staging, year, rid)
    meta = json.loads(manifest_bytes)
    pointer_uri = storage.join(published_root, str(year), "latest.json")
    was_latest = storage.exists(pointer_uri) and json.loads(storage.read_bytes(pointer_uri)).get("run_id") == rid
    title = meta.get("site_title", "Innovatiemonitor")
    index = (
        promote(published_root, year, rid, manifest_bytes, title)
        if promote_now
        else storage.join(published_root, "index.html")
    )
    return {
        "year": year,
        "index": index,
        "promoted": promote_now,
        "is_latest": promote_now or was_latest,
        "public": public,
        "run_id": rid,
        "release": base,
        "new_release": new_release,
        "workbook": storage.join(base, meta["workbook"]),
        "concept": storage.join(base, meta["concept"]) if meta.get("concept") else None,
        "manifest": storage.join(base, "manifest.json"),
    }


@task(name="publish", retries=2, retry_delay_seconds=retry_delays(), on_completion=[stage_report.hook])
@bound_to_store
def publish_task(
    tables: dict[str, Any],
    models: dict[str, Any],
    linked: list[dict[str, Any]],
    reports: list[dict[str, Any]],
    cfg_ref: dict[str, Any],
    inputs: dict[str, str],
    code_version: str,
    published_root: str,
    promote_now: bool = True,
    weights: list[dict[str, Any]] | None = None,
    processed_root: str | None = None,
) -> dict[str, Any]:
    """Prefect wrapper: never cached (it touches the published zone, which may have changed);
    idempotent instead. With `promote_now=False` the release is written and verified but `latest`
    waits for an approval (`promote_task`). `reports`: the years' validation reports, in the order of
    `linked` (passed beside the linked data, not inside it: D36). `weights`: the weights stage's
    results, whose diagnostics join the year's validation report. `processed_root`: the private zone where the built
    bundle is kept for a retry (`kept_bundle`)."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    year = cfg.year
    rid = run_id(inputs, cfg.hash, code_version)
    current = next(x for x in linked if int(x["year"]) == year)
    meta = {
        "run_id": rid,
        "year": year,
        "code_version": code_version,
        "config_hash": cfg.hash,
        "inputs_sha256": inputs,
        "valid": current["facts"]["valid"],
        "counts": {str(x["year"]): x["facts"] for x in linked},
        "timestamps": {"fieldwork_close": cfg.fieldwork.close},
        "publication_date": str(cfg.publish_settings.date or cfg.fieldwork.close[:10]),
        "site_title": cfg.monitor.title,
        "workbook": workbook_name(cfg),
        "concept": f"innovatiemonitor-{year}-concept.docx" if cfg.report is not None else None,
    }
    reports = with_weighting(reports, weights)
    meta["bundle_key"] = bundle_key(tables, models, reports, meta)
    staging = staging_root(processed_root)
    manifest_bytes = existing_manifest(published_root, year, rid, meta["bundle_key"])
    if manifest_bytes is None:  # a release staged before (awaiting approval, or its copy failed)
        manifest_bytes = existing_manifest(staging, year, rid, meta["bundle_key"])
    if manifest_bytes is not None:  # the same release, complete: nothing to build or write again
        new = release_public(staging, published_root, year, rid) if promote_now else False
        result = finish(published_root, staging, year, rid, manifest_bytes, promote_now, new_release=new)
    else:
        files, meta["charts"] = kept_bundle(
            processed_root,
            year,
            meta["bundle_key"],
            lambda: bundle_files(
                refs.get_bytes(tables["tables_csv"]),
                refs.get_bytes(models["models_csv"]),
                refs.get_bytes(models["model_fit_csv"]),
                reports,
                cfg,
                meta,
                storage.join(processed_root, str(year), "charts") if processed_root else None,
            ),
        )
        result = publish(files, published_root, year, rid, meta, promote_now, staging)
    expiry = cfg.publish_settings.link_expiry_seconds
    result["links"] = {
        "workbook": storage.download_link(result["workbook"], expiry),
        "index": storage.download_link(result["index"], expiry),
    }
    from prefect.artifacts import create_link_artifact

    create_link_artifact(
        key=f"innomon-{year}-workbook",
        link=result["links"]["workbook"],
        link_text=f"Werkmap Innovatiemonitor {year}",
        description=f"Release {rid}",
    )
    if result.get("concept"):
        result["links"]["concept"] = storage.download_link(result["concept"], expiry)
        create_link_artifact(
            key=f"innomon-{year}-concept",
            link=result["links"]["concept"],
            link_text=f"Conceptrapport Innovatiemonitor {year} (Word)",
            description=f"Release {rid}",
        )
    create_link_artifact(key="innomon-index", link=result["links"]["index"], link_text="Alle publicaties")
    get_run_logger().info("Published %s release %s (%s)", year, rid, "new" if result["new_release"] else "unchanged")
    return result


@task(name="promote", retries=2, retry_delay_seconds=retry_delays(), on_completion=[stage_report.hook])
@bound_to_store
def promote_task(
    release: dict[str, Any],
    published_root: str,
    year: int,
    processed_root: str | None = None,
    approval: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Prefect wrapper: an approved release is copied from the staging area to the published zone,
    verified, with who approved it and when in its manifest, and made latest."""
    staging = staging_root(processed_root)
    rid = release["run_id"]
    release_public(staging, published_root, year, rid, approval)
    manifest_bytes = storage.read_bytes(storage.join(_release_base(published_root, year, rid), "manifest.json"))
    return {
        **finish(published_root, staging, year, rid, manifest_bytes, True, release["new_release"]),
        "promoted": True,
    }


def _verified(published_root: str, year: int, rid: str) -> bytes | None:
    """The manifest of a published release whose every file matches it, else None."""
    base = _release_base(published_root, year, rid)
    uri = storage.join(base, "manifest.json")
    if not storage.exists(uri):
        return None
    manifest_bytes = storage.read_bytes(uri)
    for entry in json.loads(manifest_bytes)["files"]:
        target = storage.join(base, entry["path"])
        if not storage.exists(target) or sha256_bytes(storage.read_bytes(target)) != entry["sha256"]:
            return None
    return manifest_bytes


def withdraw(published_root: str, year: int, run_id: str, reason: str) -> dict[str, Any]:
    """Take a published release off the site: its files are removed, the withdrawal (run id, reason,
    time) is noted in `published/YEAR/withdrawn.json`, and if it was latest, `latest` returns to the
    last release before it that is still published and verifies (none: no latest). A withdrawn
    release cannot be rolled back to."""
    import datetime as dt
    import re

    from innomon.errors import ConfigError
    from schemas.config import RUN_ID_PATTERN

    if not re.fullmatch(RUN_ID_PATTERN, run_id):
        raise ConfigError(f"{run_id!r} is no run id (16 hexadecimal digits, as a release's folder is named).")
    if not reason.strip():
        raise ConfigError("A withdrawal needs a reason (--reason): it is published with the notice.")
    base = _release_base(published_root, year, run_id)
    manifest_uri = storage.join(base, "manifest.json")
    if not storage.exists(manifest_uri):
        raise ConfigError(f"Year {year} has no published release {run_id!r} under {published_root}.")
    manifest = json.loads(storage.read_bytes(manifest_uri))
    withdrawn = read_withdrawn(published_root, year)
    when = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    withdrawn[run_id] = {"reason": " ".join(reason.split()), "withdrawn_at": when}
    storage.write_bytes(storage.join(published_root, str(year), "withdrawn.json"), canonical_json(withdrawn) + b"\n")
    pointer_uri = storage.join(published_root, str(year), "latest.json")
    was_latest = storage.exists(pointer_uri) and json.loads(storage.read_bytes(pointer_uri)).get("run_id") == run_id
    storage.remove(manifest_uri)  # the manifest first: what is left of the release is incomplete, never whole
    for entry in manifest["files"]:
        storage.remove(storage.join(base, entry["path"]))
    latest: str | None = None
    title = manifest.get("site_title", "Innovatiemonitor")
    if was_latest:
        for previous in reversed(read_history(published_root, year)):
            manifest_bytes = _verified(published_root, year, previous) if previous not in withdrawn else None
            if manifest_bytes is not None:
                promote(published_root, year, previous, manifest_bytes, title)
                latest = previous
                break
        else:
            storage.remove(pointer_uri)
    else:
        pointer = json.loads(storage.read_bytes(pointer_uri)) if storage.exists(pointer_uri) else {}
        latest = pointer.get("run_id")
    index = write_index(published_root, title)
    return {"year": year, "withdrawn": run_id, "reason": withdrawn[run_id]["reason"], "latest": latest, "index": index}


def rollback(published_root: str, year: int, run_id: str) -> dict[str, Any]:
    """Point `latest` of a year back at an earlier release, after verifying that release against its
    manifest; regenerates index.html. Releases are immutable, so nothing else changes."""
    import re

    from innomon.errors import ConfigError
    from schemas.config import RUN_ID_PATTERN

    if not re.fullmatch(RUN_ID_PATTERN, run_id):  # an id, never a path
        raise ConfigError(f"{run_id!r} is no run id (16 hexadecimal digits, as a release's folder is named).")
    withdrawn = read_withdrawn(published_root, year).get(run_id)
    if withdrawn:
        raise ConfigError(f"Release {run_id} of {year} was withdrawn ({withdrawn['reason']}); it cannot become latest.")
    base = storage.join(published_root, str(year), "runs", run_id)
    manifest_uri = storage.join(base, "manifest.json")
    if not storage.exists(manifest_uri):
        raise ConfigError(f"Year {year} has no release {run_id!r} under {published_root}.")
    manifest_bytes = storage.read_bytes(manifest_uri)
    manifest = json.loads(manifest_bytes)
    for entry in manifest["files"]:
        got = storage.read_bytes(storage.join(base, entry["path"]))
        if sha256_bytes(got) != entry["sha256"]:
            raise RuntimeError(f"Release {run_id} is damaged: {entry['path']} does not match its manifest.")
    index = promote(published_root, year, run_id, manifest_bytes, manifest.get("site_title", "Innovatiemonitor"))
    return {"year": year, "run_id": run_id, "release": base, "index": index}
