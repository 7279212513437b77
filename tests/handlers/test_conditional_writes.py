"""Conditional writes work whatever botocore the Lambda runtime bundles.

An older botocore (before August / November 2024) does not know PutObject's `IfNoneMatch` /
`IfMatch`; it is simulated by removing them from one client's model, which is exactly what such a
botocore lacks.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from tests.handlers.conftest import REGION, LambdaContext
from tests.handlers.s3_faults import conditional_copies


def old_botocore_client(*operations: str) -> Any:
    """A client whose model lacks the conditions of `operations` (PutObject by default)."""
    client = boto3.client("s3", region_name=REGION)
    for operation in operations or ("PutObject",):
        members = client.meta.service_model.operation_model(operation).input_shape.members
        for name in ("IfNoneMatch", "IfMatch"):
            members.pop(name, None)
    return client


@pytest.fixture
def common(lambda_modules) -> Any:
    from uploads_common import conditional_writes

    return conditional_writes


def status(error: pytest.ExceptionInfo[ClientError]) -> int:
    return error.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_current_botocore_needs_no_fallback(s3, common) -> None:
    assert common.enable_conditional_writes(s3, logging.getLogger("t")) == []


def test_old_botocore_refuses_the_parameters_without_the_fallback(s3, bucket) -> None:
    client = old_botocore_client()

    with pytest.raises(ParamValidationError, match="IfNoneMatch"):
        client.put_object(Bucket=bucket, Key="k", Body=b"x", IfNoneMatch="*")


def test_old_botocore_sends_the_conditions_as_headers(s3, bucket, common, caplog) -> None:
    client = old_botocore_client()
    with caplog.at_level(logging.INFO):
        missing = common.enable_conditional_writes(client, logging.getLogger("t"))
    assert missing == ["PutObject.IfNoneMatch", "PutObject.IfMatch"]
    assert "PutObject.IfNoneMatch, PutObject.IfMatch" in caplog.text

    client.put_object(Bucket=bucket, Key="k", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as exists:
        client.put_object(Bucket=bucket, Key="k", Body=b"second", IfNoneMatch="*")
    etag = client.head_object(Bucket=bucket, Key="k")["ETag"]
    with pytest.raises(ClientError) as changed:
        client.put_object(Bucket=bucket, Key="k", Body=b"third", IfMatch='"0000"')
    client.put_object(Bucket=bucket, Key="k", Body=b"fourth", IfMatch=etag)

    assert status(exists) == status(changed) == 412
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"fourth"
    client.put_object(Bucket=bucket, Key="plain", Body=b"x")  # unconditional writes unchanged


def test_on_upload_with_an_old_botocore_never_writes_a_thumbnail_twice(
    load_function, s3, bucket, build_s3_event, make_image
) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    on_upload = load_function("on_upload")
    client = old_botocore_client()
    on_upload.enable_conditional_writes(client, on_upload.logger)
    on_upload.store = replace(on_upload.store, client=client)
    s3.put_object(Bucket=bucket, Key="uploads/a.png", Body=make_image("PNG", (300, 300)))
    event = build_s3_event("uploads/a.png")

    first = on_upload.handler(event, LambdaContext())
    second = on_upload.handler(event, LambdaContext())

    assert (first["processed"], second["skipped"]) == (1, 1)
    versions = s3.list_object_versions(Bucket=bucket, Prefix="thumbnails/")["Versions"]
    assert len(versions) == 1


def test_old_botocore_sends_copy_and_delete_conditions_as_headers(
    s3, bucket, common, monkeypatch
) -> None:
    conditional_copies(monkeypatch)
    client = old_botocore_client("CopyObject", "DeleteObject")
    assert common.enable_conditional_writes(client, logging.getLogger("t")) == [
        "CopyObject.IfNoneMatch",
        "CopyObject.IfMatch",
        "DeleteObject.IfMatch",
    ]
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    source = {"Bucket": bucket, "Key": "a"}
    with pytest.raises(ClientError) as exists:
        client.copy_object(Bucket=bucket, Key="b", CopySource=source, IfNoneMatch="*")
    with pytest.raises(ClientError) as changed:
        client.delete_object(Bucket=bucket, Key="b", IfMatch='"0000"')
    assert status(exists) == status(changed) == 412
    assert s3.get_object(Bucket=bucket, Key="b")["Body"].read() == b"b"
    client.copy_object(Bucket=bucket, Key="c", CopySource=source, IfNoneMatch="*")
    client.delete_object(
        Bucket=bucket, Key="b", IfMatch=s3.head_object(Bucket=bucket, Key="b")["ETag"]
    )
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == ["a", "c"]
