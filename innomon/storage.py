"""One small storage layer over `file://` folders and `s3://` buckets.

Every stage reads and writes through these functions, so the same flow runs on a local folder (the
embedded default) and on S3-compatible object storage (boto3 with the standard AWS environment
variables; `AWS_ENDPOINT_URL` points it at SeaweedFS or MinIO).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from innomon.errors import ConfigError, InnomonError, InputError

ZONES = ("raw", "processed", "published")

# Store-relative URIs (`store:processed/2023/valid-<sha>.parquet`): what a cached step returns, so
# that a store copied or moved elsewhere (a restored backup, another disk or bucket) still finds its
# objects through its own cache (decision D34). A task resolves them against the store it was
# given (`within`), which is explicit per call and so holds on a Dask worker as in the flow's thread.
STORE_SCHEME = "store:"
_bound_store: ContextVar[str | None] = ContextVar("innomon_store", default=None)


def store_of(processed_root: str) -> str:
    """The store root whose processed zone is `processed_root` (always `STORE/processed`)."""
    root = processed_root.rstrip("/")
    if not root.endswith("/processed"):
        raise ConfigError(f"{processed_root!r} is not a store's processed zone (STORE/processed).")
    return root.removesuffix("/processed")


@contextmanager
def within(store_root: str) -> Iterator[None]:
    """Resolve store-relative URIs against `store_root` for the duration of the block."""
    token = _bound_store.set(store_root.rstrip("/"))
    try:
        yield
    finally:
        _bound_store.reset(token)


def resolve(uri: str) -> str:
    """An absolute URI: store-relative ones joined onto the bound store, others unchanged."""
    if not uri.startswith(STORE_SCHEME):
        return uri
    root = _bound_store.get()
    if root is None:
        raise InnomonError(f"{uri} is relative to a store, but no store is bound (storage.within).")
    return join(root, uri.removeprefix(STORE_SCHEME))


def relative(obj: Any, store_root: str) -> Any:
    """`obj` (JSON-like) with every URI inside `store_root` written store-relative."""
    prefix = store_root.rstrip("/") + "/"
    if isinstance(obj, str):
        return STORE_SCHEME + obj.removeprefix(prefix) if obj.startswith(prefix) else obj
    if isinstance(obj, dict):
        return {k: relative(v, store_root) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(relative(v, store_root) for v in obj)
    return obj


def as_uri(location: str | Path) -> str:
    """Turn a local path or URI into a URI (`file:///abs/path` or `s3://bucket/prefix`)."""
    text = str(location)
    if text.startswith(("s3://", "file://")):
        return text.rstrip("/") if text not in ("file:///",) else text
    if "://" in text:
        raise ConfigError(f"Storage location {text!r} has an unsupported scheme; use a path, file:// or s3://.")
    return Path(text).expanduser().resolve().as_uri()


def join(root: str, *parts: str) -> str:
    """Join key parts onto a root URI with `/`. A part that climbs (`..`) is refused: a key names an
    object under its root, never beside it, whatever a configuration value or a parameter says."""
    clean = [p.strip("/") for p in parts if p and p.strip("/")]
    for part in clean:
        if ".." in part.replace("\\", "/").split("/"):
            raise ConfigError(f"The storage key part {part!r} climbs out of its root with '..'.")
    return "/".join([root.rstrip("/"), *clean])


def local_path(uri: str) -> Path:
    """The local path of a `file://` URI."""
    return Path(unquote(urlparse(uri).path))


def _s3_parts(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


@lru_cache(maxsize=4)
def _s3_client(endpoint: str | None) -> Any:
    import boto3  # imported lazily: local runs need no AWS machinery

    return boto3.client("s3", endpoint_url=endpoint or None)


def s3_client() -> Any:
    """The boto3 S3 client for the current environment (`AWS_ENDPOINT_URL` honoured)."""
    return _s3_client(os.environ.get("AWS_ENDPOINT_URL"))


def size(uri: str) -> int:
    """The size of one object in bytes, without reading it."""
    uri = resolve(uri)
    if uri.startswith("file://"):
        try:
            return local_path(uri).stat().st_size
        except FileNotFoundError as exc:
            raise InnomonError(f"Object {uri} does not exist.") from exc
    bucket, key = _s3_parts(uri)
    try:
        return int(s3_client().head_object(Bucket=bucket, Key=key)["ContentLength"])
    except Exception as exc:  # botocore's errors, in one sentence
        raise InnomonError(f"Object {uri} cannot be read: {type(exc).__name__}.") from exc


def read_input(uri: str, what: str) -> bytes:
    """Read an input from outside the pipeline (an export, a frame, a reviewer's file), refusing one
    larger than the worker reads (`innomon.policy.max_input_bytes`) before reading it."""
    from innomon import policy

    refusal = policy.size_refusal(size(uri), what)
    if refusal:
        raise InputError(f"{refusal}.", file=uri.rsplit("/", 1)[-1], rule="too_large")
    return read_bytes(uri)


def read_bytes(uri: str) -> bytes:
    """Read one object."""
    uri = resolve(uri)
    if uri.startswith("file://"):
        path = local_path(uri)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise InnomonError(f"Object {uri} does not exist.") from exc
    if uri.startswith("s3://"):
        bucket, key = _s3_parts(uri)
        try:
            return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:  # botocore raises a family of errors; report them in one sentence
            raise InnomonError(f"Could not read {uri}: {exc}") from exc
    raise ConfigError(f"Unsupported URI {uri!r}.")


# At rest: a store holds firms' answers and identities, so what the pipeline writes is readable by
# its own user only (files 0600, folders 0700), and S3 objects are written with server-side
# encryption (`INNOMON_S3_SSE`: AES256 by default, `aws:kms` with `INNOMON_S3_KMS_KEY_ID`, or `none`
# for a server that cannot) and their content type.
FILE_MODE = 0o600
FOLDER_MODE = 0o700


def make_folders(path: Path) -> None:
    """Create `path` and its missing parents, each 0700 (`mkdir(parents=True)` would give the
    parents the default mode)."""
    missing = []
    for folder in [path, *path.parents]:
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            pass


def s3_write_options(key: str) -> dict[str, str]:
    """Server-side encryption and content type of an S3 write."""
    import mimetypes

    options = {"ContentType": mimetypes.guess_type(key)[0] or "application/octet-stream"}
    sse = os.environ.get("INNOMON_S3_SSE", "AES256")
    if sse == "none":
        return options
    if sse not in ("AES256", "aws:kms"):
        raise ConfigError(f"INNOMON_S3_SSE must be AES256, aws:kms or none, not {sse!r}.")
    options["ServerSideEncryption"] = sse
    if sse == "aws:kms" and os.environ.get("INNOMON_S3_KMS_KEY_ID"):
        options["SSEKMSKeyId"] = os.environ["INNOMON_S3_KMS_KEY_ID"]
    return options


def write_bytes(uri: str, data: bytes) -> None:
    """Write one object; local writes go through a private temporary file and an atomic rename."""
    uri = resolve(uri)
    if uri.startswith("file://"):
        path = local_path(uri)
        make_folders(path.parent)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, FILE_MODE)  # a leftover temporary file of a crashed writer may have had another mode
        os.replace(tmp, path)
        return
    if uri.startswith("s3://"):
        bucket, key = _s3_parts(uri)
        s3_client().put_object(Bucket=bucket, Key=key, Body=data, **s3_write_options(key))
        return
    raise ConfigError(f"Unsupported URI {uri!r}.")


def remove(uri: str) -> None:
    """Remove one object (nothing happens when it is not there)."""
    uri = resolve(uri)
    if uri.startswith("file://"):
        local_path(uri).unlink(missing_ok=True)
        return
    if uri.startswith("s3://"):
        bucket, key = _s3_parts(uri)
        s3_client().delete_object(Bucket=bucket, Key=key)
        return
    raise ConfigError(f"Unsupported URI {uri!r}.")


def exists(uri: str) -> bool:
    """Whether an object exists."""
    uri = resolve(uri)
    if uri.startswith("file://"):
        return local_path(uri).is_file()
    if uri.startswith("s3://"):
        bucket, key = _s3_parts(uri)
        try:
            s3_client().head_object(Bucket=bucket, Key=key)
            return True
        except Exception:
            return False
    raise ConfigError(f"Unsupported URI {uri!r}.")


def list_uris(prefix_uri: str) -> list[str]:
    """Every object under a prefix, sorted."""
    prefix_uri = resolve(prefix_uri)
    if prefix_uri.startswith("file://"):
        base = local_path(prefix_uri)
        if not base.exists():
            return []
        return sorted(p.as_uri() for p in base.rglob("*") if p.is_file() and not p.name.startswith("."))
    if prefix_uri.startswith("s3://"):
        bucket, key = _s3_parts(prefix_uri)
        out: list[str] = []
        paginator = s3_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=key.rstrip("/") + "/"):
            out.extend(f"s3://{bucket}/{obj['Key']}" for obj in page.get("Contents", []))
        return sorted(out)
    raise ConfigError(f"Unsupported URI {prefix_uri!r}.")


def zone_root(store_root: str, zone: str, overrides: dict[str, str] | None = None) -> str:
    """Root URI of one zone: an explicit override, else `STORE/zone`."""
    if zone not in ZONES:
        raise ConfigError(f"Unknown storage zone {zone!r}; expected one of {', '.join(ZONES)}.")
    if overrides and overrides.get(zone):
        return as_uri(overrides[zone])
    return join(as_uri(store_root), zone)


def inside(uri: str, root: str) -> bool:
    """Whether `uri` is `root` or lies under it (same scheme and bucket, part by part: `s3://b/ab`
    is not under `s3://b/a`)."""
    parts, head = uri.rstrip("/").split("/"), root.rstrip("/").split("/")
    return parts[: len(head)] == head


def _overlap(a: str, b: str) -> bool:
    """Whether two root URIs are the same place or one lies inside the other."""
    return inside(a, b) or inside(b, a)


def check_separate_zones(raw_root: str, store_root: str, published_root: str | None) -> None:
    """Refuse a published zone that is, contains or lies inside the private zones (raw, processed) or
    the drop folder of the exports: what is published is public, and the exports and identities must
    never be. Exit 2, before anything is read or written."""
    published = zone_root(store_root, "published", {"published": published_root or ""})
    private = {
        "the store's raw zone": zone_root(store_root, "raw"),
        "the store's processed zone": zone_root(store_root, "processed"),
    }
    if raw_root:
        private["the raw root (the exports' drop folder)"] = as_uri(raw_root)
    if inside(as_uri(store_root), published):
        private["the store"] = as_uri(store_root)  # a published root that is or holds the whole store
    for what, root in private.items():
        if _overlap(published, root):
            raise ConfigError(
                f"The published zone {published} overlaps {what} {root}: "
                "give --published (or --store) a place of its own, outside the private zones."
            )


def download_link(uri: str, expires_seconds: int) -> str:
    """A link report authors can open: a presigned GET URL for `s3://`, the file URI for local files."""
    uri = resolve(uri)
    if uri.startswith("s3://"):
        bucket, key = _s3_parts(uri)
        return str(
            s3_client().generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=int(expires_seconds)
            )
        )
    return uri


# Conditional writes: what a lock and a pointer that moves by compare-and-swap are built on. S3 does
# them itself (`If-None-Match: *` creates only a new object, `If-Match: ETAG` replaces or deletes only
# the version that was read; SeaweedFS, MinIO and AWS honour both); a local folder does them under an
# exclusive `flock` on a hidden sibling file, which the kernel releases when a process dies. Written
# by hand: no library offers one compare-and-swap over both backends.


@contextmanager
def _local_guard(path: Path) -> Iterator[None]:
    """An exclusive lock, for the length of one check-and-write, on `.NAME.cas` beside `path`."""
    import fcntl

    make_folders(path.parent)
    fd = os.open(path.with_name(f".{path.name}.cas"), os.O_RDWR | os.O_CREAT, FILE_MODE)
    with os.fdopen(fd, "a+b") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)


def _precondition_failed(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


def _s3_current(bucket: str, key: str) -> tuple[bytes, str] | None:
    """The object's bytes and ETag, or None when there is none."""
    client = s3_client()
    try:
        got = client.get_object(Bucket=bucket, Key=key)
    except client.exceptions.NoSuchKey:
        return None
    return got["Body"].read(), str(got["ETag"])


def _unless_precondition_failed(call: Any) -> bool:
    """Run one conditional S3 request: True when it was carried out, False when the server refused
    it because the object is no longer what the writer read."""
    try:
        call()
    except Exception as exc:
        if _precondition_failed(exc):
            return False
        raise
    return True


def replace_if(uri: str, expected: bytes | None, data: bytes) -> bool:
    """Write `data` only if the object still holds `expected` (None: only if there is no object);
    False, and nothing written, when another writer came first."""
    uri = resolve(uri)
    if uri.startswith("file://"):
        path = local_path(uri)
        with _local_guard(path):
            current = path.read_bytes() if path.is_file() else None
            if current != expected:
                return False
            write_bytes(uri, data)
            return True
    if uri.startswith("s3://"):
        bucket, key = _s3_parts(uri)
        condition: dict[str, str] = {"IfNoneMatch": "*"}
        if expected is not None:
            current = _s3_current(bucket, key)
            if current is None or current[0] != expected:
                return False
            condition = {"IfMatch": current[1]}
        options = {**condition, **s3_write_options(key)}
        return _unless_precondition_failed(lambda: s3_client().put_object(Bucket=bucket, Key=key, Body=data, **options))
    raise ConfigError(f"Unsupported URI {uri!r}.")


def remove_if(uri: str, expected: bytes) -> bool:
    """Remove the object only if it still holds `expected`; False when it changed or is gone."""
    uri = resolve(uri)
    if uri.startswith("file://"):
        path = local_path(uri)
        with _local_guard(path):
            if not path.is_file() or path.read_bytes() != expected:
                return False
            path.unlink()
            return True
    if uri.startswith("s3://"):
        bucket, key = _s3_parts(uri)
        current = _s3_current(bucket, key)
        if current is None or current[0] != expected:
            return False
        etag = current[1]
        return _unless_precondition_failed(lambda: s3_client().delete_object(Bucket=bucket, Key=key, IfMatch=etag))
    raise ConfigError(f"Unsupported URI {uri!r}.")
