"""Publishing to a real S3-compatible server (SeaweedFS): keys, manifest, atomic releases, links."""

from __future__ import annotations

import hashlib
import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from innomon import storage
from innomon.cli import main, run_year
from tests import s3server
from tests.conftest import copy_demo_zones

BUCKET = s3server.BUCKET


def _objects(client, prefix: str) -> dict[str, bytes]:
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = client.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
    return out


def test_wrong_key_is_refused(s3) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as err:
        s3.client(secret="wrong-secret").put_object(Bucket=BUCKET, Key="x", Body=b"x")
    assert err.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId")


def test_publish_to_s3_matches_manifest_and_links_work(s3, demo: dict, tmp_path: Path) -> None:
    published = f"s3://{BUCKET}/site"
    store = copy_demo_zones(demo, tmp_path / "store")  # the years computed: this test is about publishing
    result = run_year(2023, str(demo["exports"]), str(store), published=published)
    client = s3.client()
    pointer = json.loads(client.get_object(Bucket=BUCKET, Key="site/2023/latest.json")["Body"].read())
    assert pointer["run_id"] == result["run_id"]
    base = f"site/2023/runs/{pointer['run_id']}/"
    objects = _objects(client, base)
    manifest = json.loads(objects[base + "manifest.json"])
    assert len(manifest["files"]) >= 6
    for entry in manifest["files"]:
        data = objects[base + entry["path"]]
        assert len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert "site/index.html" in _objects(client, "site/index.html")
    with urllib.request.urlopen(result["links"]["workbook"], timeout=30) as resp:
        assert resp.read() == objects[base + "innovatiemonitor-2023.xlsx"]


def test_fault_between_uploads_keeps_previous_release(s3, demo: dict, tmp_path: Path, monkeypatch) -> None:
    published = f"s3://{BUCKET}/atomic"
    store = copy_demo_zones(demo, tmp_path / "store")
    raw = tmp_path / "raw"
    shutil.copytree(demo["exports"], raw)
    first = run_year(2023, str(raw), str(store), published=published)
    # A late correction changes the figures: the next run is another release.
    corrections = store / "processed" / "corrections"
    corrections.mkdir(parents=True, exist_ok=True)
    import csv
    import io

    rows = list(
        csv.reader(io.StringIO((raw / "2023" / "innovatiemonitor-2023.csv").read_text("utf-8-sig"), newline=""))
    )
    rid, goods = rows[3][rows[0].index("ResponseId")], rows[3][rows[0].index("Q9_1")]
    new = "2" if goods == "1" else "1"
    (corrections / "corrections-2023.csv").write_text(
        f"response_id,variable,old_value,new_value,reason,author\n{rid},inno_goods,{goods},{new},belcheck,team\n"
    )

    real_write = storage.write_bytes
    writes = {"n": 0}

    def flaky(uri: str, data: bytes) -> None:
        if "/atomic/2023/runs/" in uri and uri.startswith("s3://"):
            writes["n"] += 1
            if writes["n"] >= 3:
                raise ConnectionError("injected: the store became unreachable")
        real_write(uri, data)

    import tasks.publish.stage

    real_build, builds = tasks.publish.stage.bundle_files, {"n": 0}

    def counted(*args: object, **kwargs: object) -> object:
        builds["n"] += 1
        return real_build(*args, **kwargs)

    monkeypatch.setattr(tasks.publish.stage, "bundle_files", counted)
    monkeypatch.setattr(storage, "write_bytes", flaky)
    code = main(["run", "--year", "2023", "--raw-root", str(raw), "--store", str(store), "--published", published])
    assert code == 1
    client = s3.client()
    pointer = json.loads(client.get_object(Bucket=BUCKET, Key="atomic/2023/latest.json")["Body"].read())
    assert pointer["run_id"] == first["run_id"]
    assert builds["n"] == 1  # publish was tried three times (two retries), the bundle built once

    monkeypatch.setattr(storage, "write_bytes", real_write)
    second = run_year(2023, str(raw), str(store), published=published)
    assert second["run_id"] != first["run_id"]
    assert builds["n"] == 1  # the operator's new run publishes the bundle the failed run built
    pointer = json.loads(client.get_object(Bucket=BUCKET, Key="atomic/2023/latest.json")["Body"].read())
    assert pointer["run_id"] == second["run_id"]
    base = f"atomic/2023/runs/{second['run_id']}/"
    objects = _objects(client, base)
    manifest = json.loads(objects[base + "manifest.json"])
    for entry in manifest["files"]:
        assert hashlib.sha256(objects[base + entry["path"]]).hexdigest() == entry["sha256"]
