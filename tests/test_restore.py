"""The restore recipe of docs/recovering-data.md, run exactly as documented on moto: an
overwritten and a deleted image come back byte for byte from their noncurrent versions."""

from __future__ import annotations

import re
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "recovering-data.md").read_text(
    encoding="utf-8"
)
RECIPE = re.search(
    r"<!-- restore-recipe: executed by tests/test_restore.py -->\n```py\n(.*?)^```",
    PAGE,
    re.MULTILINE | re.DOTALL,
)
BUCKET = "uploads-bucket-0123456"
KEY = "uploads/0bd3f1e0a1b2c3d4.jpg"


@pytest.fixture
def recipe(monkeypatch):
    """The recipe block's namespace, its client on a versioned, encrypted moto bucket."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        namespace: dict = {"__name__": "restore_recipe"}
        exec(compile(RECIPE.group(1), "docs/recovering-data.md restore recipe", "exec"), namespace)  # noqa: S102
        yield namespace


def body(key: str = KEY) -> bytes:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_the_readme_documents_the_recipe():
    assert RECIPE is not None
    for call in ("list_object_versions", "copy_object", "VersionId", "delete_object"):
        assert call in RECIPE.group(1)
    for cli in ("s3api list-object-versions", "s3api copy-object", "?versionId=", "--version-id"):
        assert cli in PAGE


def test_overwritten_image_comes_back_from_its_noncurrent_version(recipe):
    s3 = boto3.client("s3")
    first = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"\xff\xd8first image")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"\xff\xd8second")
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"\xff\xd8third, the mistake")
    assert body() == b"\xff\xd8third, the mistake"

    restored = recipe["restore_overwritten"](BUCKET, KEY)

    assert body() == b"\xff\xd8second", "the newest noncurrent version is current again"
    assert restored != first
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=KEY)["Versions"]
    assert len(versions) == 4, "nothing is lost: the mistake stays as a noncurrent version"


def test_deleted_image_comes_back_when_its_delete_marker_is_deleted(recipe):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"\xff\xd8the image")
    s3.delete_object(Bucket=BUCKET, Key=KEY)
    with pytest.raises(ClientError) as missing:
        body()
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"

    marker = recipe["restore_deleted"](BUCKET, KEY)

    assert body() == b"\xff\xd8the image"
    listing = s3.list_object_versions(Bucket=BUCKET, Prefix=KEY)
    assert "DeleteMarkers" not in listing, marker
    assert [v["IsLatest"] for v in listing["Versions"]] == [True]


def test_recipe_leaves_other_keys_alone(recipe):
    s3 = boto3.client("s3")
    neighbour = f"{KEY}.bak"
    s3.put_object(Bucket=BUCKET, Key=neighbour, Body=b"neighbour v1")
    s3.put_object(Bucket=BUCKET, Key=neighbour, Body=b"neighbour v2")
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"v1")
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"v2")
    s3.delete_object(Bucket=BUCKET, Key=neighbour)

    recipe["restore_overwritten"](BUCKET, KEY)

    assert body() == b"v1"
    with pytest.raises(ClientError):
        body(neighbour)
