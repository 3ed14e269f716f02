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
from prefect.assets import materialize

from innomon import codeversion, refs, stage_report, storage
from innomon.errors import DisclosureError, InnomonError
from innomon.hashing import canonical_json, sha256_bytes, sha256_json
from innomon.prefect_support import bound_to_store
from innomon.retry import retry_delays, retry_unless
from schemas.config import RunConfig, TableBase
from tasks.publish.pointers import latest_run_id, promote, record_inputs, release_base
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
    from tasks.publish.datapackage import datapackage_json, labels_csv

    files["data/labels.csv"] = labels_csv(cfg)
    files["datapackage.json"] = datapackage_json(cfg, files, meta)  # last: it names the others' bytes
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


def existing_manifest(root: str, year: int, rid: str, key: str) -> bytes | None:
    """The manifest of release `rid` under `root` if it is complete (the manifest is written last,
    after every file was verified) and was built from the same `key`; else None."""
    uri = storage.join(release_base(root, year, rid), "manifest.json")
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


def _write_release(base: str, files: dict[str, bytes], manifest: dict[str, Any], manifest_bytes: bytes) -> None:
    """Every file, read back against the manifest, then the manifest last (a release without its
    manifest is incomplete, whatever else is there). A write that fails halfway removes what it
    wrote: nothing half-written stays behind, in the staging area or on the site."""
    try:
        for path, data in sorted(files.items()):
            storage.write_bytes(storage.join(base, path), data)
        for entry in manifest["files"]:
            got = storage.read_bytes(storage.join(base, entry["path"]))
            if len(got) != entry["size"] or sha256_bytes(got) != entry["sha256"]:
                what = f"Object {entry['path']} of release {manifest['run_id']}"
                raise InnomonError(f"{what} does not match the manifest.")
        storage.write_bytes(storage.join(base, "manifest.json"), manifest_bytes)
    except Exception:
        remove_release(base, list(files))
        raise


def remove_release(base: str, paths: list[str]) -> None:
    """Remove a release's manifest, then its files, where they are (the undo of a write)."""
    for path in ["manifest.json", *paths]:
        try:
            storage.remove(storage.join(base, path))
        except Exception:  # the write's own error is the one to report
            pass


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
) -> bytes:
    """Copy the staged release `rid` to the published zone, verified, manifest last (with `approval`,
    who approved it and when); returns the public manifest. A copy that fails halfway is removed."""
    staged = release_base(staging, year, rid)
    manifest_bytes = storage.read_bytes(storage.join(staged, "manifest.json"))
    base = release_base(published_root, year, rid)
    if _complete(base, manifest_bytes):
        return storage.read_bytes(storage.join(base, "manifest.json"))
    manifest = json.loads(manifest_bytes)
    files = {e["path"]: storage.read_bytes(storage.join(staged, e["path"])) for e in manifest["files"]}
    if approval is not None:
        manifest = {**manifest, "approval": approval}
        manifest_bytes = _manifest_bytes(manifest)
    _write_release(base, files, manifest, manifest_bytes)
    return manifest_bytes


def stage(files: dict[str, bytes], staging: str, year: int, rid: str, meta: dict[str, Any]) -> tuple[bytes, bool]:
    """Write and verify the release in the private staging area: its manifest, and whether it was
    written now (False: it was there, complete)."""
    manifest = {
        **meta,
        "files": [{"path": p, "size": len(b), "sha256": sha256_bytes(b)} for p, b in sorted(files.items())],
    }
    manifest_bytes = _manifest_bytes(manifest)
    staged = release_base(staging, year, rid)
    if _complete(staged, manifest_bytes):
        return manifest_bytes, False
    _write_release(staged, files, manifest, manifest_bytes)
    return manifest_bytes, True


def describe(root: str, year: int, rid: str, manifest_bytes: bytes, **facts: Any) -> dict[str, Any]:
    """A release as the flow passes it on: where it is (the staging area while it waits, the
    published zone once public), its workbook, draft and manifest, and `facts`."""
    base = release_base(root, year, rid)
    meta = json.loads(manifest_bytes)
    return {
        "year": year,
        "run_id": rid,
        "release": base,
        "workbook": storage.join(base, meta["workbook"]),
        "concept": storage.join(base, meta["concept"]) if meta.get("concept") else None,
        "manifest": storage.join(base, "manifest.json"),
        "files": [str(e["path"]) for e in meta["files"]],
        "site_title": meta.get("site_title", "Innovatiemonitor"),
        **facts,
    }


def with_links(result: dict[str, Any], published_root: str) -> dict[str, Any]:
    """The release with links report authors (or the approver) can open, also as link artifacts in
    the Prefect UI: presigned for a bucket, valid `link_expiry_seconds`."""
    from prefect.artifacts import create_link_artifact

    year, rid, expiry = result["year"], result["run_id"], result["link_expiry_seconds"]
    links = {
        "workbook": storage.download_link(result["workbook"], expiry),
        "index": storage.download_link(storage.join(published_root, "index.html"), expiry),
    }
    create_link_artifact(
        key=f"innomon-{year}-workbook",
        link=links["workbook"],
        link_text=f"Werkmap Innovatiemonitor {year}",
        description=f"Release {rid}" + ("" if result["public"] else " (in staging, not public)"),
    )
    if result.get("concept"):
        links["concept"] = storage.download_link(result["concept"], expiry)
        create_link_artifact(
            key=f"innomon-{year}-concept",
            link=links["concept"],
            link_text=f"Conceptrapport Innovatiemonitor {year} (Word)",
            description=f"Release {rid}" + ("" if result["public"] else " (in staging, not public)"),
        )
    if result["public"]:
        create_link_artifact(key="innomon-index", link=links["index"], link_text="Alle publicaties")
    return {**result, "links": links, "index": storage.join(published_root, "index.html")}


def _forget_staged(txn: Any) -> None:
    """Rollback hook of the publication's transaction: the release this run staged is removed when a
    later step of the publication failed, so a retry starts from the kept bundle, not a stale copy."""
    staged = txn.get("staged", None)
    if staged:
        with storage.within(staged["store"]):
            remove_release(staged["base"], staged["files"])


def audit_release(tables: dict[str, Any], cfg: RunConfig) -> dict[str, Any]:
    """The disclosure audit of the tables about to be published, against what the comparison years'
    releases show (D50); refuses the release (exit 5) when a primary cell is not protected."""
    from innomon import disclosure
    from schemas.cells import read_tables_csv

    cells = read_tables_csv(refs.get_bytes(tables["tables_csv"]))
    record = refs.get_json(tables["disclosure"])
    earlier = [read_tables_csv(refs.get_bytes(r)) for _, r in sorted(record["earlier"].items()) if r]
    rules = disclosure.rules_of(cfg, cells, [tuple(d) for d in record["distributions"]])
    result = disclosure.audit(
        cells, pd.concat(earlier, ignore_index=True) if earlier else None, disclosure.primaries_of(record), rules
    )
    problem = disclosure.refusal(result, cfg.year)
    if problem:
        raise DisclosureError(problem)
    return disclosure.summary(result)


# The publication's two steps write to storage that may hiccup: retried, and reported on the console.
PUBLISHING: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": retry_delays(),
    "retry_condition_fn": retry_unless(DisclosureError),  # an audit fails the same way every time
    "on_completion": [stage_report.hook],
}


@task(name="publish", **PUBLISHING)
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
    weights: list[dict[str, Any]] | None = None,
    processed_root: str | None = None,
) -> dict[str, Any]:
    """Prefect wrapper: build the release and stage it, verified, in the private staging area (never
    cached: idempotent instead). It becomes public only through `release_task`, at once without an
    approval gate, on approval with one. `reports`: the years' validation reports, in the order of
    `linked` (passed beside the linked data, not inside it: D36). `weights`: the weights stage's
    results, whose diagnostics join the year's validation report. `processed_root`: the private zone
    where the release is staged and the built bundle kept for a retry (`kept_bundle`)."""
    from prefect.transactions import get_transaction

    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    year = cfg.year
    audit_release(tables, cfg)
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
    record_inputs(str(processed_root), inputs)  # the order that keeps `latest` from moving to older inputs
    manifest_bytes = existing_manifest(staging, year, rid, meta["bundle_key"])
    new = False
    if manifest_bytes is None:  # not staged before (a release awaiting approval, or whose copy failed)
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
        manifest_bytes, new = stage(files, staging, year, rid, meta)
        txn = get_transaction()
        if new and txn is not None:
            store = storage.store_of(str(processed_root))
            txn.set("staged", {"store": store, "base": release_base(staging, year, rid), "files": sorted(files)})
    public = _complete(release_base(published_root, year, rid), manifest_bytes)
    result = describe(
        published_root if public else staging,
        year,
        rid,
        manifest_bytes,
        public=public,
        is_latest=latest_run_id(published_root, year) == rid,
        promoted=False,
        new_release=new,
        link_expiry_seconds=cfg.publish_settings.link_expiry_seconds,
    )
    get_run_logger().info("Staged %s release %s (%s)", year, rid, "new" if new else "unchanged")
    return with_links(result, published_root)


publish_task.on_rollback(_forget_staged)


def release_assets(release: dict[str, Any], published_root: str) -> list[str]:
    """The files a release puts on the site, as Prefect asset keys (their published URIs), so the UI
    shows what each run made public. A URI Prefect cannot take as a key (a space in a local path) is
    left out of the asset list, never out of the release."""
    from prefect.types.names import validate_valid_asset_key

    base = release_base(published_root, int(release["year"]), str(release["run_id"]))
    keys = []
    for path in ["manifest.json", *release["files"]]:
        uri = storage.join(base, path)
        try:
            keys.append(validate_valid_asset_key(uri))
        except ValueError:
            continue
    return keys or ["innomon://published-release"]


@materialize(
    "innomon://published-release",  # replaced per run by the release's own files (`release_assets`)
    name="release",
    **PUBLISHING,
)
@bound_to_store
def release_task(
    release: dict[str, Any],
    published_root: str,
    year: int,
    processed_root: str | None = None,
    approval: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Prefect wrapper: a staged release is copied to the published zone, verified (with who approved
    it and when in its manifest, behind a gate), and made latest: unless the current latest was built
    from newer inputs, in which case nothing becomes public and the answer names the newer release."""
    staging = staging_root(processed_root)
    rid = release["run_id"]
    staged_manifest = storage.read_bytes(storage.join(release_base(staging, year, rid), "manifest.json"))
    outcome = promote(
        published_root,
        str(processed_root),
        year,
        rid,
        staged_manifest,
        release["site_title"],
        lambda: release_public(staging, published_root, year, rid, approval),
    )
    if not outcome["promoted"]:
        get_run_logger().warning(
            "Release %s of %s is not made latest: latest release %s was built from newer inputs "
            "(innomon rollback moves latest back on purpose)",
            rid,
            year,
            outcome["newer_latest"],
        )
        return {**release, "promoted": False, "is_latest": False, "newer_latest": outcome["newer_latest"]}
    public_manifest = storage.read_bytes(storage.join(release_base(published_root, year, rid), "manifest.json"))
    facts = {k: release[k] for k in ("new_release", "link_expiry_seconds")}
    if approval is not None:
        facts["approval"] = approval
    result = describe(published_root, year, rid, public_manifest, public=True, is_latest=True, promoted=True, **facts)
    return with_links(result, published_root)
