"""StorageBucket's S3 server access logs to a log bucket it creates: private, SSE-S3, TLS-only,
expiring, written by S3's log delivery through the bucket policy (never an ACL)."""

from __future__ import annotations

import pytest

from components.storage import DATA_SAFETY_ROLES, StorageBucket, StorageBucketArgs
from offline import Resource, ResourceGraph, run_program

BUCKET = "aws:s3/bucket:Bucket"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"


@pytest.fixture(scope="module")
def logged() -> ResourceGraph:
    return run_program(
        lambda: StorageBucket("media", StorageBucketArgs(access_log_bucket="create"))
    )


def log_child(graph: ResourceGraph, role: str) -> Resource:
    return graph.named(f"media-access-logs-{role}")


def test_log_bucket_is_a_storage_bucket_child_of_the_source(logged):
    source = logged.one("uploads:index:StorageBucket", "media")
    logs = logged.one("uploads:index:StorageBucket", "media-access-logs")
    assert logs.parent == source.urn
    assert logged.misnamed() == []
    assert len(logged.of_type(BUCKET)) == 2


def test_log_bucket_is_private_with_acls_off(logged):
    block = log_child(logged, "public-access-block").inputs
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert {flag: block[flag] for flag in flags} == dict.fromkeys(flags, True)
    ownership = log_child(logged, "ownership-controls").inputs["rule"]
    assert ownership == {"objectOwnership": "BucketOwnerEnforced"}
    assert not logged.of_type("aws:s3/bucketAcl:BucketAcl")


def test_log_bucket_uses_sse_s3_because_log_delivery_cannot_use_kms(logged):
    rules = log_child(logged, "encryption").inputs["rules"]
    assert rules == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]


def test_log_bucket_expires_logs(logged):
    rules = log_child(logged, "lifecycle").inputs["rules"]
    expiring = [r for r in rules if r.get("expiration", {}).get("days")]
    assert expiring == [
        {
            "id": "prefix-all",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "expiration": {"days": 365},
        }
    ]


def test_log_bucket_policy_is_tls_only_and_grants_log_delivery_for_the_source_only(logged):
    statements = {s["Sid"]: s for s in log_child(logged, "policy").policy()["Statement"]}
    assert set(statements) == {
        "DenyInsecureTransport",
        "DenyOutdatedTls",
        "AllowS3ServerAccessLogs1",
    }
    log_arn = log_child(logged, "bucket").outputs["arn"]
    source_arn = logged.named("media-bucket").outputs["arn"]
    assert statements["DenyInsecureTransport"]["Resource"] == [log_arn, f"{log_arn}/*"]
    assert statements["AllowS3ServerAccessLogs1"] == {
        "Sid": "AllowS3ServerAccessLogs1",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{log_arn}/media/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": source_arn},
            "StringEquals": {"aws:SourceAccount": "123456789012"},
        },
    }


def test_source_bucket_logs_to_the_log_bucket_once_its_policy_allows_it(logged):
    logging = logged.one(LOGGING)
    assert logging.name == "media-logging"
    assert logging.inputs["bucket"] == logged.named("media-bucket").outputs["bucket"]
    assert logging.inputs["targetBucket"] == log_child(logged, "bucket").outputs["bucket"]
    assert logging.inputs["targetPrefix"] == "media/"
    assert "targetGrants" not in logging.inputs
    assert logging.depends_on(log_child(logged, "policy"))


def test_log_bucket_follows_the_source_protection(build):
    graph = build(
        lambda: StorageBucket(
            "media", StorageBucketArgs(access_log_bucket="create", protect=True, retain=True)
        )
    )
    for role in set(DATA_SAFETY_ROLES) - {"kms-key", "logging"}:
        child = log_child(graph, role)
        assert (child.protect, child.retain_on_delete) == (True, True), child.urn
    assert graph.named("media-logging").protect


def test_expiry_and_prefix_are_configurable(build):
    args = StorageBucketArgs(
        access_log_bucket="create", access_log_prefix="s3/media/", access_log_expiration_days=30
    )
    graph = build(lambda: StorageBucket("media", args))
    assert graph.one(LOGGING).inputs["targetPrefix"] == "s3/media/"
    grant = log_child(graph, "policy").policy()["Statement"][2]
    assert grant["Resource"].endswith("/s3/media/*")
    rules = log_child(graph, "lifecycle").inputs["rules"]
    assert rules[-1]["expiration"] == {"days": 30}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (lambda: StorageBucketArgs(access_log_expiration_days=0), "access_log_expiration_days"),
        (lambda: StorageBucketArgs(access_log_prefix="logs/*"), "no wildcards"),
        (lambda: StorageBucketArgs(access_log_prefix="logs/\n"), "no wildcards"),
        (
            lambda: StorageBucketArgs(policy_statements=({"Sid": "AllowS3ServerAccessLogs1"},)),
            "reserved",
        ),
    ],
)
def test_bad_access_log_arguments_raise_clear_errors(build, args, message):
    with pytest.raises(Exception, match=message):
        build(lambda: StorageBucket("media", args()))


@pytest.mark.parametrize(("stack", "logs"), [("dev", False), ("prod", True)])
def test_prod_logs_access_to_its_own_log_bucket_dev_does_not(stack_graphs, stack, logs):
    graph = stack_graphs(stack)
    buckets = {r.name for r in graph.of_type(BUCKET)}
    expected = (
        {"uploads-bucket-bucket", "uploads-bucket-access-logs-bucket"}
        if logs
        else {"uploads-bucket-bucket"}
    )
    assert buckets == expected
    assert len(graph.of_type(LOGGING)) == int(logs)
