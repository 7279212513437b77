"""StorageBucket: every secure default and every option, asserted on what would reach AWS."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pytest

from components.storage import (
    DATA_SAFETY_ROLES,
    LifecycleRule,
    StorageBucket,
    StorageBucketArgs,
    on_object_created,
    on_object_removed,
)
from offline import ResourceGraph

BUCKET = "aws:s3/bucket:Bucket"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
PERMISSION = "aws:lambda/permission:Permission"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"


def bucket_graph(build, args: StorageBucketArgs | None = None) -> ResourceGraph:
    return build(lambda: StorageBucket("media", args))


def statements_by_sid(graph: ResourceGraph) -> dict[str, dict]:
    return {s["Sid"]: s for s in graph.one(POLICY).policy()["Statement"] if "Sid" in s}


# -- defaults ---------------------------------------------------------------------------------


def test_component_type_token_and_children_named_after_it(build):
    graph = bucket_graph(build)
    component = graph.one("uploads:index:StorageBucket", "media")
    assert len(graph.children(component)) == len(graph) - 1, "the component owns every resource"
    assert graph.misnamed() == []


def test_bucket_blocks_public_access_by_default(build):
    block = bucket_graph(build).one(PUBLIC_ACCESS_BLOCK).inputs
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"):
        assert block[flag] is True, flag
    assert block["restrictPublicBuckets"] is True


def test_acls_disabled_by_bucket_owner_enforced(build):
    controls = bucket_graph(build).one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert controls.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_default_encryption_is_sse_s3(build):
    rules = bucket_graph(build).one(ENCRYPTION).inputs["rules"]
    assert rules == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]


def test_policy_denies_insecure_transport(build):
    graph = bucket_graph(build)
    arn = graph.one(BUCKET).outputs["arn"]
    statement = statements_by_sid(graph)["DenyInsecureTransport"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Resource"] == [arn, f"{arn}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_policy_denies_tls_below_1_2(build):
    graph = bucket_graph(build)
    statement = statements_by_sid(graph)["DenyOutdatedTls"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
    assert len(graph.one(POLICY).policy()["Statement"]) == 2


def test_policy_waits_for_public_access_block(build):
    graph = bucket_graph(build)
    block = graph.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert graph.one(POLICY).depends_on(block)


def test_versioning_enabled_by_default(build):
    versioning = bucket_graph(build).one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}


def test_lifecycle_aborts_uploads_after_7_days_and_expires_noncurrent_versions(build):
    rules = bucket_graph(build).one(LIFECYCLE).inputs["rules"]
    assert len(rules) == 1
    rule = rules[0]
    assert rule["status"] == "Enabled"
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}


def test_lifecycle_expires_lone_delete_markers_without_days(build):
    # Each DELETE and each rejected upload leaves a delete marker on the versioned bucket.
    rules = bucket_graph(build).one(LIFECYCLE).inputs["rules"]
    # S3 refuses `expiredObjectDeleteMarker` next to `days` or `date` in one expiration block.
    assert rules[0]["expiration"] == {"expiredObjectDeleteMarker": True}
    assert rules[0]["filter"] == {}


def test_lifecycle_waits_for_versioning(build):
    graph = bucket_graph(build)
    versioning = graph.one("aws:s3/bucketVersioning:BucketVersioning")
    assert graph.one(LIFECYCLE).depends_on(versioning)


def test_no_cors_logging_or_force_destroy_by_default(build):
    graph = bucket_graph(build)
    types = graph.types()
    assert "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration" not in types
    assert "aws:s3/bucketLogging:BucketLogging" not in types
    assert graph.one(BUCKET).inputs.get("forceDestroy") is False
    assert not graph.one(BUCKET).protect


def test_outputs_are_the_bucket_name_and_arn(build):
    seen = {}

    def program():
        bucket = StorageBucket("media")
        pulumi.export("name", bucket.name)
        pulumi.export("arn", bucket.arn)
        seen["bucket"] = bucket.bucket

    graph = build(program)
    bucket = graph.one(BUCKET)
    assert graph.outputs == {"name": bucket.outputs["bucket"], "arn": bucket.outputs["arn"]}
    assert isinstance(seen["bucket"], aws.s3.Bucket)


# -- options ----------------------------------------------------------------------------------


def test_kms_key_given_uses_sse_kms_with_bucket_key(build):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    graph = bucket_graph(build, StorageBucketArgs(kms_key=key))
    assert graph.one(ENCRYPTION).inputs["rules"] == [
        {
            "applyServerSideEncryptionByDefault": {
                "sseAlgorithm": "aws:kms",
                "kmsMasterKeyId": key,
            },
            "bucketKeyEnabled": True,
        }
    ]
    assert "aws:kms/key:Key" not in graph.types()


def test_kms_key_create_makes_rotating_key_and_uses_it(build):
    graph = bucket_graph(build, StorageBucketArgs(kms_key="create"))
    key = graph.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    rule = graph.one(ENCRYPTION).inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == key.outputs["arn"]
    assert rule["bucketKeyEnabled"] is True


def test_access_logging_to_target_bucket(build):
    graph = bucket_graph(build, StorageBucketArgs(access_log_bucket="audit-logs"))
    logging = graph.one("aws:s3/bucketLogging:BucketLogging").inputs
    assert logging["targetBucket"] == "audit-logs"
    assert logging["targetPrefix"] == "media/"
    assert logging["bucket"] == graph.one(BUCKET).outputs["bucket"]


def test_cors_only_for_configured_origins(build):
    origins = ("https://app.example.com", "http://localhost:3000")
    graph = bucket_graph(build, StorageBucketArgs(cors_origins=origins))
    cors = graph.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration").inputs
    assert cors["corsRules"] == [
        {
            "allowedOrigins": list(origins),
            "allowedMethods": ["GET", "HEAD", "POST", "PUT"],
            "allowedHeaders": ["content-type"],
            "maxAgeSeconds": 3600,
        }
    ]


def test_allow_origins_takes_outputs_known_after_the_bucket(build):
    def program():
        bucket = StorageBucket("media")
        later = bucket.name.apply(lambda name: f"https://{name}.example.com")
        bucket.allow_origins("https://app.example.com", later)

    graph = build(program)
    cors = graph.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")
    name = graph.one(BUCKET).outputs["bucket"]
    assert cors.name == "media-cors"
    assert cors.inputs["bucket"] == name
    assert cors.inputs["corsRules"][0]["allowedOrigins"] == [
        "https://app.example.com",
        f"https://{name}.example.com",
    ]


@pytest.mark.parametrize(
    ("args", "origins", "message"),
    [
        (StorageBucketArgs(cors_origins=("https://a.example.com",)), (), "already has a CORS"),
        (StorageBucketArgs(), ("https://a.example.com/path",), "CORS origins"),
    ],
)
def test_allow_origins_refuses_a_second_configuration_or_a_bad_origin(
    build, args, origins, message
):
    def program():
        StorageBucket("media", args).allow_origins(*origins)

    with pytest.raises(Exception, match=message):
        build(program)


def test_lifecycle_values_and_prefix_rules(build):
    args = StorageBucketArgs(
        abort_incomplete_upload_days=2,
        noncurrent_version_expiration_days=90,
        lifecycle_rules=(
            LifecycleRule("logs/", expiration_days=30, transitions=((7, "STANDARD_IA"),)),
        ),
    )
    rules = bucket_graph(build, args).one(LIFECYCLE).inputs["rules"]
    assert rules[0]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 2}
    assert rules[0]["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert rules[1]["filter"] == {"prefix": "logs/"}
    assert rules[1]["expiration"] == {"days": 30}
    assert rules[1]["transitions"] == [{"days": 7, "storageClass": "STANDARD_IA"}]


def test_versioning_off_drops_versioning_and_noncurrent_rule(build):
    graph = bucket_graph(build, StorageBucketArgs(versioning=False))
    assert "aws:s3/bucketVersioning:BucketVersioning" not in graph.types()
    assert "noncurrentVersionExpiration" not in graph.one(LIFECYCLE).inputs["rules"][0]
    assert "expiration" not in graph.one(LIFECYCLE).inputs["rules"][0]


def test_force_destroy_flag_reaches_bucket(build):
    graph = bucket_graph(build, StorageBucketArgs(force_destroy=True))
    assert graph.one(BUCKET).inputs["forceDestroy"] is True


ALL_CHILDREN = {
    "kms_key": "create",
    "access_log_bucket": "audit-logs",
    "cors_origins": ("https://a.example.com",),
}


def keep_flags(graph: ResourceGraph) -> dict[str, tuple[bool, bool]]:
    """Child role -> (protect, retain_on_delete)."""
    return {
        r.name.removeprefix("media-"): (r.protect, r.retain_on_delete) for r in graph if r.custom
    }


@pytest.mark.parametrize(
    ("options", "expected"),
    [({"protect": True}, (True, True)), ({"retain": True}, (False, True)), ({}, (False, False))],
)
def test_protect_and_retain_reach_every_data_safety_child_only(build, options, expected):
    graph = bucket_graph(build, StorageBucketArgs(**ALL_CHILDREN, **options))
    flags = keep_flags(graph)
    assert set(DATA_SAFETY_ROLES) <= set(flags), "every data-safety child exists in this graph"
    assert {role: flags[role] for role in DATA_SAFETY_ROLES} == dict.fromkeys(
        DATA_SAFETY_ROLES, expected
    )
    assert flags["cors"] == (False, False), "CORS guards no data: nothing to keep"


def test_retained_public_access_block_skips_destroy(build):
    for options, skip in (({"retain": True}, True), ({"protect": True}, True), ({}, None)):
        block = bucket_graph(build, StorageBucketArgs(**options)).one(PUBLIC_ACCESS_BLOCK)
        assert block.inputs.get("skipDestroy") is skip, options


def test_caller_statements_merged_into_one_policy(build):
    extra = {
        "Sid": "AllowAuditRole",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/audit"},
        "Action": ["s3:GetObject"],
        "Resource": "arn:aws:s3:::example/*",
    }
    graph = bucket_graph(build, StorageBucketArgs(policy_statements=(extra,)))
    assert len(graph.of_type(POLICY)) == 1
    assert statements_by_sid(graph)["AllowAuditRole"] == extra
    assert {"DenyInsecureTransport", "DenyOutdatedTls"} <= set(statements_by_sid(graph))


def test_transform_mapping_overrides_bucket_props(build):
    args = StorageBucketArgs(transforms={"bucket": {"bucket_prefix": "media-"}})
    assert bucket_graph(build, args).one(BUCKET).inputs["bucketPrefix"] == "media-"


def test_transform_callable_edits_props_and_options(build):
    def keep_versions(props, opts):
        props["versioning_configuration"] = {"status": "Suspended"}
        opts.protect = True

    args = StorageBucketArgs(transforms={"versioning": keep_versions})
    versioning = bucket_graph(build, args).one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Suspended"}
    assert versioning.protect


# -- grants -----------------------------------------------------------------------------------


def resolved_grants(build, grant) -> tuple[list[dict], str]:
    captured: dict = {}

    def program():
        bucket = StorageBucket("media")
        pulumi.export("statements", grant(bucket))

    graph = build(program)
    captured["statements"] = graph.outputs["statements"]
    return captured["statements"], graph.one(BUCKET).outputs["arn"]


@pytest.mark.parametrize(
    ("method", "action"),
    [
        ("grant_read", "s3:GetObject"),
        ("grant_write", "s3:PutObject"),
        ("grant_delete", "s3:DeleteObject"),
    ],
)
def test_object_grants_bucket_wide_and_prefix_limited(build, method, action):
    statements, arn = resolved_grants(build, lambda b: getattr(b, method)())
    assert statements == [{"Effect": "Allow", "Action": [action], "Resource": f"{arn}/*"}]
    statements, arn = resolved_grants(build, lambda b: getattr(b, method)("uploads/"))
    assert statements == [{"Effect": "Allow", "Action": [action], "Resource": f"{arn}/uploads/*"}]


def test_list_grant_bucket_wide_and_limited_to_prefixes(build):
    statements, arn = resolved_grants(build, lambda b: b.grant_list())
    assert statements == [{"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": arn}]
    statements, arn = resolved_grants(build, lambda b: b.grant_list("uploads/", "thumbnails/"))
    assert statements == [
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": arn,
            "Condition": {
                "StringLike": {
                    "s3:prefix": ["thumbnails/", "thumbnails/*", "uploads/", "uploads/*"]
                }
            },
        }
    ]


def test_grants_on_kms_bucket_include_the_key(build):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    def program():
        bucket = StorageBucket("media", StorageBucketArgs(kms_key=key))
        pulumi.export("read", bucket.grant_read("uploads/"))
        pulumi.export("write", bucket.grant_write("uploads/"))

    outputs = build(program).outputs
    assert outputs["read"][1] == {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key}
    assert outputs["write"][1] == {
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": key,
    }


def test_grant_rejects_wildcard_prefix(build):
    with pytest.raises(Exception, match="no wildcards"):
        build(lambda: StorageBucket("media").grant_read("uploads/*"))


# -- notifications ----------------------------------------------------------------------------


@dataclass
class FakeFunction:
    """Anything exposing a function ARN and name plugs into notifications."""

    pulumi_resource_name: str
    arn: pulumi.Output[str]
    name: pulumi.Output[str]


def fake_function(name: str) -> FakeFunction:
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    return FakeFunction(name, pulumi.Output.from_input(arn), pulumi.Output.from_input(name))


def test_two_subscriptions_one_notification_two_permissions_and_dependency(build):
    def program():
        bucket = StorageBucket("media")
        bucket.notify(
            on_object_created(fake_function("thumbs"), prefix="uploads/"),
            on_object_removed(fake_function("cleanup"), prefix="uploads/", suffix=".jpg"),
        )

    graph = build(program)
    notification = graph.one(NOTIFICATION)
    configs = notification.inputs["lambdaFunctions"]
    assert [(c["lambdaFunctionArn"], c["events"], c.get("filterPrefix")) for c in configs] == [
        (
            "arn:aws:lambda:us-east-1:123456789012:function:thumbs",
            ["s3:ObjectCreated:*"],
            "uploads/",
        ),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:cleanup",
            ["s3:ObjectRemoved:*"],
            "uploads/",
        ),
    ]
    assert configs[1]["filterSuffix"] == ".jpg"
    permissions = graph.of_type(PERMISSION)
    assert len(permissions) == 2
    bucket = graph.one(BUCKET)
    for permission in permissions:
        assert permission.inputs["principal"] == "s3.amazonaws.com"
        assert permission.inputs["action"] == "lambda:InvokeFunction"
        assert permission.inputs["sourceArn"] == bucket.outputs["arn"]
        assert permission.inputs["sourceAccount"] == "123456789012"
        assert notification.depends_on(permission), permission.urn
    assert {p.inputs["function"] for p in permissions} == {"thumbs", "cleanup"}


def test_one_permission_per_function_with_several_subscriptions(build):
    def program():
        bucket = StorageBucket("media")
        fn = fake_function("thumbs")
        bucket.notify(on_object_created(fn, "uploads/"), on_object_removed(fn, "uploads/"))

    graph = build(program)
    assert len(graph.of_type(PERMISSION)) == 1
    assert len(graph.one(NOTIFICATION).inputs["lambdaFunctions"]) == 2


def test_overlapping_subscriptions_rejected(build):
    def program():
        bucket = StorageBucket("media")
        bucket.notify(
            on_object_created(fake_function("a"), prefix="uploads/"),
            on_object_created(fake_function("b"), prefix="uploads/images/"),
        )

    with pytest.raises(Exception, match="overlap"):
        build(program)


def test_notify_twice_rejected(build):
    def program():
        bucket = StorageBucket("media")
        bucket.notify(on_object_created(fake_function("a"), prefix="uploads/"))
        bucket.notify(on_object_created(fake_function("b"), prefix="other/"))

    with pytest.raises(Exception, match="already called"):
        build(program)


# -- bad arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            lambda: StorageBucketArgs(noncurrent_version_expiration_days=0),
            "noncurrent_version_expiration_days: must be between 1 and 3650, got 0",
        ),
        (
            lambda: StorageBucketArgs(abort_incomplete_upload_days=-1),
            "abort_incomplete_upload_days: must be between 1 and 365, got -1",
        ),
        (
            lambda: StorageBucketArgs(cors_origins=("not a url",)),
            r"cors_origins: \[0\] must be an explicit http\(s\)://host\[:port\] origin",
        ),
        (lambda: StorageBucketArgs(cors_origins=("*",)), "would let any site call"),
        (lambda: StorageBucketArgs(force_destroy=True, protect=True), "contradict"),
        (lambda: StorageBucketArgs(force_destroy=True, retain=True), "contradict"),
        (lambda: StorageBucketArgs(lifecycle_rules=(LifecycleRule("x/", 0),)), "expiration_days"),
        (
            lambda: StorageBucketArgs(
                lifecycle_rules=(LifecycleRule("x/", transitions=((1, "COLD"),)),)
            ),
            "transition",
        ),
        (
            lambda: StorageBucketArgs(policy_statements=({"Sid": "DenyInsecureTransport"},)),
            "Sid",
        ),
        (
            lambda: StorageBucketArgs(kms_key="arn:aws:kms:us-east-1:123456789012:alias/media"),
            "kms_key: must be 'create' or a KMS key ARN",
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(build, args, message):
    with pytest.raises(Exception, match=message) as error:
        build(lambda: StorageBucket("media", args()))
    assert any(
        owner in str(error.value) for owner in ('"media"', "LifecycleRule", "StorageBucket:")
    )


KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (StorageBucketArgs(kms_key=KEY_ARN), {"media-encryption": "changed"}),
        (
            StorageBucketArgs(kms_key="create"),
            {"media-kms-key": "added", "media-encryption": "changed"},
        ),
        (StorageBucketArgs(access_log_bucket="audit-logs"), {"media-logging": "added"}),
        (StorageBucketArgs(cors_origins=("https://app.example.com",)), {"media-cors": "added"}),
        (StorageBucketArgs(abort_incomplete_upload_days=3), {"media-lifecycle": "changed"}),
        (StorageBucketArgs(noncurrent_version_expiration_days=60), {"media-lifecycle": "changed"}),
        (StorageBucketArgs(force_destroy=True), {"media-bucket": "changed"}),
        (
            StorageBucketArgs(protect=True),
            {
                f"media-{role}": "changed"
                for role in DATA_SAFETY_ROLES
                if role not in ("kms-key", "logging")
            },
        ),
    ],
)
def test_each_option_changes_exactly_what_it_should(build, args, expected):
    assert bucket_graph(build).diff(bucket_graph(build, args)) == expected
