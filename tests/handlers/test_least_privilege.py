"""Least privilege, proven by execution: each real handler runs on moto with IAM enforcement on,
as a principal whose policies are exactly its role's policies in the program's graph.

The statements come from the graph of each stack (dev, and prod with its KMS key), never from a copy
here, so a widened grant fails a denial test and a narrowed one fails a flow test. moto evaluates
S3 requests against those policies (`iam_enforcement` makes its condition handling faithful). moto
does not call KMS on the caller's behalf for SSE-KMS objects, so the KMS grants are exercised with
direct KMS calls instead.
"""

from __future__ import annotations

import base64
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from offline import Resource, ResourceGraph
from tests.handlers.conftest import (
    HANDLER_ENV,
    LAMBDA_SRC,
    REGION,
    Api,
    LambdaContext,
    image_bytes,
    import_handler,
    offline_aws_environment,
    s3_event,
)
from tests.handlers.iam_enforcement import (
    ADMIN_POLICY,
    conditions_hold,
    create_user,
    faithful_conditions,
)

FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",)
FOLDERS = {"uploads": "uploads-uploads", "on_upload": "uploads-on-upload"}
"""Handler folder -> the PythonFunction component that ships it."""


@dataclass
class Principal:
    """A function's identity on moto: its environment and its role's policy documents."""

    environment: dict[str, str]
    policies: list[str]
    credentials: dict[str, str] | None = None

    def client(self, service: str) -> Any:
        assert self.credentials is not None
        return boto3.client(
            service,
            region_name=REGION,
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
        )


def _role_policies(graph: ResourceGraph, function: Resource) -> list[str]:
    role = next(r for r in graph if r.outputs.get("arn") == function.inputs["role"])
    attached = [
        r for r in graph if r.type in ATTACHMENTS and r.inputs.get("role") == role.outputs["id"]
    ]
    assert not attached, f"{role.urn}: managed policies are not evaluated by this test: {attached}"
    policies = [
        r.inputs["policy"]
        for r in graph.of_type(ROLE_POLICY)
        if r.inputs["role"] == role.outputs["id"]
    ]
    assert policies, f"{role.urn} has no inline policy"
    return policies


def _principal(graph: ResourceGraph, folder: str) -> Principal:
    component = FOLDERS[folder]
    function = graph.one(FUNCTION, f"{component}-function")
    environment = dict(function.inputs["environment"]["variables"])
    return Principal(environment, _role_policies(graph, function))


@dataclass
class Deployment:
    """One stack's bucket and functions on moto, with enforcement on after setup."""

    bucket: str
    admin: Any
    """An S3 client with full access, for setup and inspection."""
    uploads: Principal
    on_upload: Principal
    kms_key_arn: str | None


def _deploy(graph: ResourceGraph) -> Deployment:
    """Create the graph's bucket (and KMS key) on moto and one IAM user per function."""
    bucket_name = graph.one("aws:s3/bucket:Bucket", "uploads-bucket-bucket").outputs["bucket"]
    principals = {folder: _principal(graph, folder) for folder in FOLDERS}
    iam = boto3.client("iam", region_name=REGION)
    admin_keys = create_user(iam, "admin", [ADMIN_POLICY])
    admin = boto3.client(
        "s3",
        region_name=REGION,
        aws_access_key_id=admin_keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=admin_keys["AWS_SECRET_ACCESS_KEY"],
    )
    admin.create_bucket(Bucket=bucket_name)
    admin.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    kms_key_arn = None
    keys = graph.of_type("aws:kms/key:Key")
    if keys:
        # moto picks its own key ids: point the graph's key ARN at the key moto created.
        kms_key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
        rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = kms_key_arn
        admin.put_bucket_encryption(
            Bucket=bucket_name, ServerSideEncryptionConfiguration={"Rules": [rule]}
        )
        for principal in principals.values():
            principal.policies = [
                p.replace(keys[0].outputs["arn"], kms_key_arn) for p in principal.policies
            ]
    for folder, principal in principals.items():
        principal.credentials = create_user(iam, f"fn-{folder}", principal.policies)
    return Deployment(
        bucket_name, admin, principals["uploads"], principals["on_upload"], kms_key_arn
    )


def _load_handler(folder: str, principal: Principal, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import a fresh `<folder>/handler.py` whose module-level clients use the principal."""
    assert principal.credentials is not None
    for name in HANDLER_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**principal.environment, **principal.credentials}.items():
        monkeypatch.setenv(name, value)
    # boto3's default session caches the credentials it resolved first: start a new one.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.syspath_prepend(str(LAMBDA_SRC / folder))
    return import_handler(folder)


@pytest.fixture(params=["dev", "prod"])
def deployment(
    request: pytest.FixtureRequest,
    stack_graphs: Callable[[str], ResourceGraph],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Deployment]:
    graph = stack_graphs(request.param)
    offline_aws_environment(monkeypatch, session_token=False)
    before = set(sys.modules)
    monkeypatch.syspath_prepend(str(LAMBDA_SRC))
    with mock_aws():
        deployed = _deploy(graph)
        with enable_iam_authentication(), faithful_conditions():
            yield deployed
    for name in set(sys.modules) - before:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(LAMBDA_SRC)):
            del sys.modules[name]


@pytest.fixture
def api(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Api:
    return Api(_load_handler("uploads", deployment.uploads, monkeypatch), LambdaContext())


@pytest.fixture
def on_upload(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    module = _load_handler("on_upload", deployment.on_upload, monkeypatch)
    context = LambdaContext(function_name="on_upload")
    return lambda *keys: module.handler(s3_event(*keys, bucket=deployment.bucket), context)


def _denied(call: Callable[[], object]) -> bool:
    """True when the call was refused for lack of permission."""
    try:
        call()
    except ClientError as error:
        # moto answers JSON-protocol services (KMS) with an XML error body, which botocore leaves
        # unparsed in the message.
        details = error.response["Error"]
        return "AccessDenied" in f"{details.get('Code')} {details.get('Message')}"
    return False


def _keys(deployment: Deployment) -> set[str]:
    listed = deployment.admin.list_objects_v2(Bucket=deployment.bucket)
    return {item["Key"] for item in listed.get("Contents", [])}


# -- the legitimate flows succeed --------------------------------------------------------------


def test_uploads_function_serves_every_route_with_its_role_alone(
    deployment: Deployment, api: Api
) -> None:
    png = base64.b64encode(image_bytes("PNG")).decode()
    # With sign-in (prod), the caller's uploads live under their own prefix: uploads/<sub>/.
    signed_in = {"claims": {"sub": str(uuid.uuid4())}}
    if deployment.uploads.environment["AUTH_MODE"] == "none":
        signed_in = {}
    created = api.call("POST", "/uploads", body={"image": png, "filename": "a.png"}, **signed_in)
    assert created.status == 201, created.body
    upload_id = created.body["id"]

    listed = api.call("GET", "/uploads", **signed_in)
    assert listed.status == 200, listed.body
    assert [item["id"] for item in listed.body["items"]] == [upload_id]
    got = api.call("GET", "/uploads/{id}", path_params={"id": upload_id}, **signed_in)
    assert got.status == 200, got.body
    presigned = api.call(
        "POST", "/uploads/presign", body={"contentType": "image/png", "size": 10}, **signed_in
    )
    assert presigned.status == 201, presigned.body
    deleted = api.call("DELETE", "/uploads/{id}", path_params={"id": upload_id}, **signed_in)
    assert deleted.status == 204, deleted.body
    assert created.body["key"] not in _keys(deployment)


def test_on_upload_thumbnails_and_removes_with_its_role_alone(
    deployment: Deployment, on_upload: Callable[..., Any]
) -> None:
    deployment.admin.put_object(
        Bucket=deployment.bucket, Key="uploads/cat.png", Body=image_bytes("PNG", (600, 300))
    )
    deployment.admin.put_object(Bucket=deployment.bucket, Key="uploads/fake.png", Body=b"not png")

    counts = on_upload("uploads/cat.png", "uploads/fake.png")

    assert counts["processed"] == 1, counts
    assert counts["removed"] == 1, counts
    keys = _keys(deployment)
    assert "thumbnails/cat.png" in keys
    assert "uploads/fake.png" not in keys


def test_on_upload_skips_an_object_deleted_before_it_runs(
    deployment: Deployment, on_upload: Callable[..., Any]
) -> None:
    counts = on_upload("uploads/never-written.png")

    assert counts["skipped"] == 1, counts


def test_on_upload_quarantines_and_releases_with_its_role_alone(
    deployment: Deployment, on_upload: Callable[..., Any], tmp_path: Path, monkeypatch
) -> None:
    deployment.admin.put_object(
        Bucket=deployment.bucket, Key="uploads/held.png", Body=image_bytes("PNG", (60, 30))
    )
    switch = tmp_path / "fault"
    switch.write_text("down")
    monkeypatch.setenv("UPLOADS_LOCAL_FAULT_FILE", str(switch))
    with pytest.raises(RuntimeError, match="record"):
        on_upload("uploads/held.png")
    assert _keys(deployment) == {"quarantine/held.png"}
    switch.unlink()
    assert on_upload("uploads/held.png")["processed"] == 1  # released
    assert on_upload("uploads/held.png")["processed"] == 1  # its copy's event: the thumbnail
    assert _keys(deployment) == {"uploads/held.png", "thumbnails/held.png"}


def test_kms_grants_cover_the_data_keys_the_bucket_needs(deployment: Deployment) -> None:
    if deployment.kms_key_arn is None:
        assert not any("kms:" in p for p in deployment.uploads.policies)
        return
    for principal in (deployment.uploads, deployment.on_upload):
        kms = principal.client("kms")
        data_key = kms.generate_data_key(KeyId=deployment.kms_key_arn, KeySpec="AES_256")
        kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"], KeyId=deployment.kms_key_arn)
        assert _denied(lambda kms=kms: kms.schedule_key_deletion(KeyId=deployment.kms_key_arn))
        assert _denied(lambda kms=kms: kms.disable_key(KeyId=deployment.kms_key_arn))


# -- and nothing more ------------------------------------------------------------------------


def _bucket_wide_denials(deployment: Deployment, s3: Any) -> dict[str, Callable[[], object]]:
    bucket = deployment.bucket
    return {
        "write outside its prefixes": lambda: s3.put_object(
            Bucket=bucket, Key="other/x", Body=b"x"
        ),
        "read outside its prefixes": lambda: s3.get_object(Bucket=bucket, Key="other/secret"),
        "list the whole bucket": lambda: s3.list_objects_v2(Bucket=bucket),
        "list another prefix": lambda: s3.list_objects_v2(Bucket=bucket, Prefix="other/"),
        "delete the bucket": lambda: s3.delete_bucket(Bucket=bucket),
        "read the bucket policy": lambda: s3.get_bucket_policy(Bucket=bucket),
        "change the bucket policy": lambda: s3.delete_bucket_policy(Bucket=bucket),
        "read object versions": lambda: s3.list_object_versions(Bucket=bucket),
        "turn versioning off": lambda: s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}
        ),
        "list every bucket": s3.list_buckets,
    }


def test_uploads_function_is_denied_everything_else(deployment: Deployment) -> None:
    s3 = deployment.uploads.client("s3")
    deployment.admin.put_object(Bucket=deployment.bucket, Key="other/secret", Body=b"s")
    denials = _bucket_wide_denials(deployment, s3) | {
        "write thumbnails": lambda: s3.put_object(
            Bucket=deployment.bucket, Key="thumbnails/x.png", Body=b"x"
        ),
    }

    allowed = [what for what, call in denials.items() if not _denied(call)]

    assert allowed == []
    assert "other/secret" in _keys(deployment)


def test_on_upload_is_denied_everything_else(deployment: Deployment) -> None:
    s3 = deployment.on_upload.client("s3")
    deployment.admin.put_object(Bucket=deployment.bucket, Key="other/secret", Body=b"s")
    deployment.admin.put_object(Bucket=deployment.bucket, Key="thumbnails/t.png", Body=b"t")
    # It may write originals: a quarantined upload goes back under uploads/ once checked.
    denials = _bucket_wide_denials(deployment, s3) | {
        "list thumbnails": lambda: s3.list_objects_v2(
            Bucket=deployment.bucket, Prefix="thumbnails/"
        ),
    }

    allowed = [what for what, call in denials.items() if not _denied(call)]

    assert allowed == []


# -- the evaluator itself ----------------------------------------------------------------------


def test_condition_evaluation_follows_iam_semantics() -> None:
    prefix_only = {"StringLike": {"s3:prefix": ["uploads/", "uploads/*"]}}

    assert conditions_hold(prefix_only, {"s3:prefix": "uploads/abc"})
    assert not conditions_hold(prefix_only, {"s3:prefix": "other/"})
    assert not conditions_hold(prefix_only, {"s3:prefix": ""})
    assert not conditions_hold(prefix_only, {})
    assert conditions_hold({"StringEqualsIfExists": {"s3:prefix": "x"}}, {})
    with pytest.raises(AssertionError, match="NumericLessThan"):
        conditions_hold({"NumericLessThan": {"s3:TlsVersion": "1.2"}}, {})
