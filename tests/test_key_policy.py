"""The created KMS key's explicit policy, and log groups encrypted with it (prod)."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from components._kms import LOGS_ACTIONS
from components.config import ConfigError, parse_settings
from components.storage import StorageBucket, StorageBucketArgs
from components.upload_service import UploadService, UploadServiceArgs
from offline import ResourceGraph

KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROOT = {
    "Sid": "AccountRootManagesTheKey",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def key_statements(graph: ResourceGraph) -> dict[str, dict]:
    return {s["Sid"]: s for s in graph.one(KEY).policy()["Statement"]}


def principals(statement: dict) -> list[str]:
    principal = statement["Principal"]
    return (
        [principal]
        if isinstance(principal, str)
        else [
            value
            for values in principal.values()
            for value in ([values] if isinstance(values, str) else values)
        ]
    )


def test_created_key_policy_is_the_account_root_only_by_default(build):
    graph = build(lambda: StorageBucket("media", StorageBucketArgs(kms_key="create")))
    assert graph.one(KEY).policy()["Statement"] == [ROOT]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_logs_grant_is_bound_to_this_accounts_log_groups_in_this_region(build, region):
    args = StorageBucketArgs(kms_key="create", kms_key_for_logs=True)
    graph = build(lambda: StorageBucket("media", args), config={"aws:region": region})
    statements = key_statements(graph)
    assert statements["AccountRootManagesTheKey"] == ROOT
    logs = statements["CloudWatchLogsEncryptsThisAccountsLogGroups"]
    assert logs == {
        "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
        "Action": list(LOGS_ACTIONS),
        "Resource": "*",
        "Condition": {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": (
                    f"arn:aws:logs:{region}:123456789012:log-group:*"
                )
            }
        },
    }
    assert not any(action.endswith("*") for action in logs["Action"])
    assert len(statements) == 2


@pytest.mark.parametrize(
    "args",
    [
        lambda: StorageBucketArgs(kms_key_for_logs=True),
        lambda: StorageBucketArgs(
            kms_key="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            kms_key_for_logs=True,
        ),
    ],
)
def test_logs_grant_needs_a_created_key(build, args):
    with pytest.raises(Exception, match='kms_key_for_logs needs kms_key="create"'):
        build(lambda: StorageBucket("media", args()))


def service_graph(build, **options) -> ResourceGraph:
    bucket = StorageBucketArgs(kms_key="create")
    return build(lambda: UploadService("svc", UploadServiceArgs(bucket=bucket, **options)))


def without_code(graph: ResourceGraph, name: str) -> dict:
    return {k: v for k, v in graph.named(name).inputs.items() if k != "code"}


def test_encrypt_logs_changes_only_the_log_groups_and_the_key_policy(build):
    plain, encrypted = service_graph(build), service_graph(build, encrypt_logs=True)
    changes = plain.diff(encrypted)
    # A FileArchive input compares by identity in the diff: compare the functions' other inputs.
    for function in ("svc-uploads-function", "svc-on-upload-function"):
        assert without_code(plain, function) == without_code(encrypted, function)
        changes.pop(function, None)
    assert changes == {
        "svc-bucket-kms-key": "changed",
        "svc-uploads-log-group": "changed",
        "svc-on-upload-log-group": "changed",
        "svc-api-log-group": "changed",
    }, "the function roles need nothing extra: CloudWatch Logs itself uses the key"


def test_encrypt_logs_needs_the_service_to_create_the_key(build):
    args = UploadServiceArgs(encrypt_logs=True)
    with pytest.raises(Exception, match='UploadService "svc": encrypt_logs needs'):
        build(lambda: UploadService("svc", args))


def test_encrypt_logs_setting_needs_bucket_kms_key_create():
    with pytest.raises(ConfigError, match=r"encryptLogs = true needs .*bucketKmsKey = create"):
        parse_settings({"serverless-uploads:encryptLogs": "true"})
    args = parse_settings(
        {"serverless-uploads:encryptLogs": "true", "serverless-uploads:bucketKmsKey": "create"}
    )
    assert args.encrypt_logs is True
    assert args.bucket.kms_key == "create"
    assert parse_settings({"serverless-uploads:bucketKmsKey": "create"}).encrypt_logs is False


def test_prod_log_groups_are_encrypted_with_the_key_its_policy_allows(stack_graphs):
    graph = stack_graphs("prod")
    key = graph.one(KEY)
    pattern = key_statements(graph)["CloudWatchLogsEncryptsThisAccountsLogGroups"]["Condition"][
        "ArnLike"
    ]["kms:EncryptionContext:aws:logs:arn"]
    log_groups = graph.of_type(LOG_GROUP)
    assert {g.name for g in log_groups} == {
        "uploads-uploads-log-group",
        "uploads-on-upload-log-group",
        "uploads-api-log-group",
    }
    for group in log_groups:
        assert group.inputs["kmsKeyId"] == key.outputs["arn"], group.urn
        assert fnmatchcase(group.outputs["arn"], pattern), group.urn
        assert group.depends_on(key), group.urn
    assert not any(key.depends_on(group) for group in log_groups), "no key <-> log group cycle"


def test_prod_key_policy_has_the_root_and_no_wildcard_principal(stack_graphs):
    statements = key_statements(stack_graphs("prod"))
    assert statements["AccountRootManagesTheKey"] == ROOT
    assert set(statements) == {
        "AccountRootManagesTheKey",
        "CloudWatchLogsEncryptsThisAccountsLogGroups",
        "CloudWatchAlarmsPublishToEncryptedTopics",
    }
    for statement in statements.values():
        assert statement["Effect"] == "Allow"
        for principal in principals(statement):
            assert "*" not in principal, statement["Sid"]


def test_dev_log_groups_use_cloudwatch_encryption_and_dev_has_no_key(stack_graphs):
    graph = stack_graphs("dev")
    assert KEY not in graph.types()
    for group in graph.of_type(LOG_GROUP):
        assert group.inputs.get("kmsKeyId") is None, group.urn
