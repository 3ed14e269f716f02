"""Where Prefect keeps task results, so a Retry or a cached step works on any worker.

By default results live on local disk (next to a `file://` store, or in `PREFECT_HOME`), which is
right for one machine. With workers on several machines every worker must read every other worker's
results, so the results go to S3: a prefect-aws `S3Bucket` block, saved on the server and made the
server's default result storage. A worker then needs no setting of its own beyond S3 credentials.

The block holds no secret: its `AwsCredentials` leave the keys empty, so each worker's boto3 takes
them from its own environment (or instance role), and the Prefect database never stores a key.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from innomon.errors import ConfigError

BLOCK_NAME = "innomon-results"


def s3_bucket_block(uri: str, endpoint: str | None = None):  # -> prefect_aws.S3Bucket
    """An unsaved `S3Bucket` block for `s3://bucket/folder` (endpoint: `AWS_ENDPOINT_URL` if unset)."""
    from prefect_aws import AwsClientParameters, AwsCredentials, S3Bucket

    parts = urlparse(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"result storage must be an s3://bucket/folder URI, got {uri!r}")
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL") or None
    credentials = AwsCredentials(
        region_name=os.environ.get("AWS_DEFAULT_REGION") or None,
        aws_client_parameters=AwsClientParameters(endpoint_url=endpoint),
    )
    return S3Bucket(bucket_name=parts.netloc, bucket_folder=parts.path.strip("/"), credentials=credentials)


def configure(uri: str, endpoint: str | None = None, name: str | None = None, server_default: bool = True) -> str:
    """Save the S3 result-storage block and, by default, make it the server's default.

    The block is named after the location (`innomon-results-<hash>`): Prefect caches a resolved
    default storage per block id, so a new location must be a new block, not an overwritten one.
    Returns the block slug (`s3-bucket/NAME`), which `PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK` also
    accepts for a single process.
    """
    from prefect.client.orchestration import get_client

    from innomon.hashing import sha256_json

    name = name or f"{BLOCK_NAME}-{sha256_json([uri, endpoint or os.environ.get('AWS_ENDPOINT_URL')])[:10]}"
    block = s3_bucket_block(uri, endpoint)
    block_id = block.save(name, overwrite=True)
    if server_default:
        with get_client(sync_client=True) as client:
            client.update_server_default_result_storage(default_result_storage_block_id=block_id)
    return f"s3-bucket/{name}"


def clear_server_default() -> None:
    """Back to local result storage for runs that do not set their own."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.clear_server_default_result_storage()


def describe() -> str:
    """Where results of a run started now would go, for the run's start-up log."""
    from prefect.results import get_default_result_storage

    storage = get_default_result_storage()
    bucket = getattr(storage, "bucket_name", None)
    if bucket:
        folder = getattr(storage, "bucket_folder", "")
        return f"s3://{bucket}/{folder}".rstrip("/")
    return f"file://{getattr(storage, 'basepath', '?')}"
