"""At rest (issue 30, point 7): every file of a store is its user's only, and S3 objects are written
with server-side encryption and their content type."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from innomon import storage
from innomon.errors import ConfigError
from tests.conftest import S3_BUCKET


def test_no_file_or_folder_of_the_demo_store_is_readable_by_others(demo: dict) -> None:
    store = demo["store"]
    paths = [store, *store.rglob("*")]
    files = [p for p in paths if p.is_file()]
    assert len(files) > 200  # the whole store: exports' archive, processed, results, releases, locks
    assert {"raw", "processed", "published"} <= {p.name for p in store.iterdir()}
    assert any("_prefect-results" in p.parts for p in files)  # Prefect's own results too
    opened = [str(p.relative_to(store)) for p in paths if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert opened == []


def test_s3_objects_are_encrypted_at_rest_with_their_content_type(s3, monkeypatch) -> None:
    root = f"s3://{S3_BUCKET}/at-rest"
    storage.write_bytes(f"{root}/tables.csv", b"a,b\n1,2\n")
    assert storage.replace_if(f"{root}/latest.json", None, b"{}") is True
    client = s3.client()
    for key, kind in (("at-rest/tables.csv", "text/csv"), ("at-rest/latest.json", "application/json")):
        head = client.head_object(Bucket=S3_BUCKET, Key=key)
        assert head["ServerSideEncryption"] == "AES256" and head["ContentType"] == kind, key
    monkeypatch.setenv("INNOMON_S3_SSE", "none")  # a server without encryption: the operator says so
    storage.write_bytes(f"{root}/plain.txt", b"x")
    assert "ServerSideEncryption" not in client.head_object(Bucket=S3_BUCKET, Key="at-rest/plain.txt")
    monkeypatch.setenv("INNOMON_S3_SSE", "rot13")
    with pytest.raises(ConfigError, match="INNOMON_S3_SSE"):
        storage.write_bytes(f"{root}/never.txt", b"x")


def test_a_local_write_is_private_whatever_the_umask(tmp_path: Path) -> None:
    import os

    before = os.umask(0)  # the most open a careless shell can be
    try:
        storage.write_bytes(storage.as_uri(tmp_path / "a" / "b" / "c.parquet"), b"x")
    finally:
        os.umask(before)
    for path in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c.parquet"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
