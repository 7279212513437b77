"""The whole program per stack under the offline engine: resources, wiring, stack differences."""

from __future__ import annotations

import pytest

from components.storage import DATA_SAFETY_ROLES
from offline import Resource, ResourceGraph, run_stack
from offline.deprecations import deprecated_resource_types
from tests.conftest import PROJECT_DIR

STACKS = ["dev", "prod"]
FUNCTION = "aws:lambda/function:Function"


def function(graph: ResourceGraph, role: str) -> Resource:
    return graph.one(FUNCTION, f"uploads-{role}-function")


def granted(graph: ResourceGraph, role: str) -> list[dict]:
    """The statements granted to a function, beyond its own logs, queue and traces."""
    policy = graph.one("aws:iam/rolePolicy:RolePolicy", f"uploads-{role}-policy").policy()
    return [s for s in policy["Statement"] if "Sid" not in s]


@pytest.mark.parametrize("stack", STACKS)
def test_program_runs_and_exports(stack_graphs, stack):
    graph = stack_graphs(stack)
    bucket = graph.one("aws:s3/bucket:Bucket", "uploads-bucket-bucket")
    api = graph.one("aws:apigatewayv2/api:Api")
    pool = graph.one("aws:cognito/userPool:UserPool")
    assert graph.outputs == {
        "apiUrl": api.outputs["apiEndpoint"],
        "bucketName": bucket.outputs["bucket"],
        "uploadsFunctionName": function(graph, "uploads").outputs["name"],
        "onUploadFunctionName": function(graph, "on-upload").outputs["name"],
        # What `make redrive` and the runbook read.
        "uploadsDeadLetterQueueUrl": graph.named("uploads-uploads-dead-letter-queue").outputs[
            "url"
        ],
        "onUploadDeadLetterQueueUrl": graph.named("uploads-on-upload-dead-letter-queue").outputs[
            "url"
        ],
        "alarmTopicArn": graph.one("aws:sns/topic:Topic").outputs["arn"],
        "dashboardName": f"uploads-dashboard-{stack}",
        "userPoolId": pool.outputs["id"],
        "userPoolClientId": graph.one("aws:cognito/userPoolClient:UserPoolClient").outputs["id"],
        "authIssuer": f"https://cognito-idp.us-east-1.amazonaws.com/{pool.outputs['id']}",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_no_registered_type_is_deprecated(stack_graphs, stack):
    used = stack_graphs(stack).types()
    assert not used & deprecated_resource_types()
    assert not any(t.endswith("V2") for t in used), sorted(used)


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_belongs_to_a_component_of_this_package(stack_graphs, stack):
    graph = stack_graphs(stack)
    assert graph.misnamed() == []
    for resource in graph:
        if resource.parent is None or resource.parent.endswith("pulumi:pulumi:Stack::"):
            continue
        top = resource
        while not top.parent.split("::")[-2].endswith("pulumi:pulumi:Stack"):
            top = graph.by_urn(top.parent)
        assert top.type.startswith("uploads:index:"), resource.urn


# Account-wide physical names: a fixed one would collide when dev and prod share an account.
NAMED = {
    "aws:s3/bucket:Bucket": "bucket",
    "aws:lambda/function:Function": "name",
    "aws:iam/role:Role": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:sqs/queue:Queue": "name",
    "aws:apigatewayv2/api:Api": "name",
}


def test_physical_names_differ_between_stacks(stack_graphs):
    def names(stack: str) -> set[tuple[str, str]]:
        graph = stack_graphs(stack)
        return {(r.type, r.outputs[NAMED[r.type]]) for r in graph if r.type in NAMED}

    assert names("dev")
    assert not names("dev") & names("prod")


def data_safety_children(graph: ResourceGraph, bucket: str) -> dict[str, Resource]:
    """Role -> child of StorageBucket `bucket` for every role in DATA_SAFETY_ROLES it has."""
    component = graph.one("uploads:index:StorageBucket", bucket)
    children = {r.name.removeprefix(f"{bucket}-"): r for r in graph.children(component)}
    return {role: children[role] for role in DATA_SAFETY_ROLES if role in children}


@pytest.mark.parametrize(
    ("stack", "roles", "kept"),
    [
        ("dev", set(DATA_SAFETY_ROLES) - {"kms-key", "logging"}, False),
        ("prod", set(DATA_SAFETY_ROLES), True),
    ],
)
def test_prod_protects_and_retains_every_data_safety_child_dev_none(
    stack_graphs, stack, roles, kept
):
    children = data_safety_children(stack_graphs(stack), "uploads-bucket")
    assert set(children) == roles
    for child in children.values():
        assert (child.protect, child.retain_on_delete) == (kept, kept), child.urn
    block = children["public-access-block"].inputs
    assert block.get("skipDestroy") is (True if kept else None)
    assert children["bucket"].inputs["forceDestroy"] is (not kept)


def test_prod_encrypts_with_its_own_kms_key(stack_graphs):
    prod = stack_graphs("prod")
    key = prod.one("aws:kms/key:Key")
    assert key.protect
    assert "aws:kms/key:Key" not in stack_graphs("dev").types()


@pytest.mark.parametrize("stack", STACKS)
def test_the_service_has_its_resources(stack_graphs, stack):
    graph = stack_graphs(stack)
    assert len(graph.of_type("uploads:index:UploadService")) == 1
    buckets = {"dev": ["uploads-bucket"], "prod": ["uploads-bucket", "uploads-bucket-access-logs"]}
    assert [b.name for b in graph.of_type("uploads:index:StorageBucket")] == buckets[stack]
    assert len(graph.of_type("uploads:index:PythonFunction")) == 2
    assert len(graph.of_type("uploads:index:HttpApi")) == 1
    assert len(graph.of_type(FUNCTION)) == 2
    assert len(graph.of_type("aws:apigatewayv2/route:Route")) == 6


@pytest.mark.parametrize("stack", STACKS)
def test_routes_go_through_one_integration_to_the_uploads_function(stack_graphs, stack):
    graph = stack_graphs(stack)
    integration = graph.one("aws:apigatewayv2/integration:Integration")
    assert integration.inputs["integrationUri"] == function(graph, "uploads").outputs["invokeArn"]
    assert integration.inputs["payloadFormatVersion"] == "2.0"
    routes = {
        r.inputs["routeKey"]: r.inputs["target"]
        for r in graph.of_type("aws:apigatewayv2/route:Route")
    }
    assert routes == dict.fromkeys(
        [
            "GET /",
            "POST /uploads",
            "POST /uploads/presign",
            "GET /uploads",
            "GET /uploads/{id}",
            "DELETE /uploads/{id}",
        ],
        f"integrations/{integration.outputs['id']}",
    )


@pytest.mark.parametrize("stack", STACKS)
def test_objects_created_under_uploads_invoke_on_upload(stack_graphs, stack):
    graph = stack_graphs(stack)
    on_upload = function(graph, "on-upload")
    notification = graph.one("aws:s3/bucketNotification:BucketNotification")
    [config] = notification.inputs["lambdaFunctions"]
    assert config["lambdaFunctionArn"] == on_upload.outputs["arn"]
    assert config["events"] == ["s3:ObjectCreated:*"]
    assert config["filterPrefix"] == "uploads/"
    permission = graph.one(
        "aws:lambda/permission:Permission", "uploads-bucket-allow-uploads-on-upload"
    )
    assert permission.inputs["function"] == on_upload.outputs["name"]
    assert notification.depends_on(permission)


@pytest.mark.parametrize("stack", STACKS)
def test_functions_get_their_settings_through_the_environment(stack_graphs, stack):
    graph = stack_graphs(stack)
    bucket = graph.one("aws:s3/bucket:Bucket", "uploads-bucket-bucket").outputs["bucket"]
    uploads = function(graph, "uploads").inputs["environment"]["variables"]
    on_upload = function(graph, "on-upload").inputs["environment"]["variables"]
    assert uploads["BUCKET_NAME"] == on_upload["BUCKET_NAME"] == bucket
    assert uploads["MAX_UPLOAD_BYTES"] == "4194304"
    assert uploads["PRESIGN_MAX_BYTES"] == "52428800"
    assert uploads["URL_EXPIRY_SECONDS"] == "900"
    assert on_upload["THUMBNAIL_MAX_PX"] == "256"
    assert on_upload["UPLOAD_PREFIX"] == "uploads/"
    assert on_upload["THUMBNAIL_PREFIX"] == "thumbnails/"
    assert uploads["IMAGE_MAX_PIXELS"] == on_upload["IMAGE_MAX_PIXELS"]
    assert int(on_upload["IMAGE_MAX_PIXELS"]) > 24_000_000  # a 24-megapixel photo passes


def object_statement(arn: str, action: str, prefix: str) -> dict:
    return {"Effect": "Allow", "Action": [action], "Resource": f"{arn}/{prefix}*"}


def test_uploads_function_may_touch_only_its_prefixes(stack_graphs):
    graph = stack_graphs("dev")
    arn = graph.one("aws:s3/bucket:Bucket", "uploads-bucket-bucket").outputs["arn"]
    assert granted(graph, "uploads") == [
        object_statement(arn, "s3:PutObject", "uploads/"),
        object_statement(arn, "s3:GetObject", "uploads/"),
        object_statement(arn, "s3:DeleteObject", "uploads/"),
        object_statement(arn, "s3:GetObject", "thumbnails/"),
        object_statement(arn, "s3:DeleteObject", "thumbnails/"),
        # The owner's DELETE covers an upload on_upload holds in quarantine.
        object_statement(arn, "s3:DeleteObject", "quarantine/"),
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": arn,
            "Condition": {
                "StringLike": {
                    "s3:prefix": [
                        "quarantine/",
                        "quarantine/*",
                        "thumbnails/",
                        "thumbnails/*",
                        "uploads/",
                        "uploads/*",
                    ]
                }
            },
        },
    ]


def test_on_upload_function_may_touch_only_its_prefixes(stack_graphs):
    graph = stack_graphs("dev")
    arn = graph.one("aws:s3/bucket:Bucket", "uploads-bucket-bucket").outputs["arn"]
    assert granted(graph, "on-upload") == [
        object_statement(arn, "s3:GetObject", "uploads/"),
        object_statement(arn, "s3:DeleteObject", "uploads/"),
        {
            # A missing original is a 404 (not a 403, which on_upload treats as a failure).
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": arn,
            "Condition": {"StringLike": {"s3:prefix": ["uploads/", "uploads/*"]}},
        },
        object_statement(arn, "s3:GetObject", "thumbnails/"),
        object_statement(arn, "s3:PutObject", "thumbnails/"),
        object_statement(arn, "s3:DeleteObject", "thumbnails/"),
        # An upload it cannot check moves under quarantine/, and back under uploads/ once checked.
        object_statement(arn, "s3:GetObject", "quarantine/"),
        object_statement(arn, "s3:PutObject", "quarantine/"),
        object_statement(arn, "s3:DeleteObject", "quarantine/"),
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": arn,
            "Condition": {"StringLike": {"s3:prefix": ["quarantine/", "quarantine/*"]}},
        },
        object_statement(arn, "s3:PutObject", "uploads/"),
        # Each move copies and removes exact versions (docs/operations.md).
        object_statement(arn, "s3:GetObjectVersion", "uploads/"),
        object_statement(arn, "s3:GetObjectVersion", "quarantine/"),
        object_statement(arn, "s3:DeleteObjectVersion", "uploads/"),
        object_statement(arn, "s3:DeleteObjectVersion", "quarantine/"),
    ]


def test_prod_grants_add_only_the_bucket_key(stack_graphs):
    graph = stack_graphs("prod")
    key = graph.one("aws:kms/key:Key").outputs["arn"]
    kms = [s for s in granted(graph, "on-upload") if s["Action"][0].startswith("kms:")]
    assert kms == [  # each distinct statement once, though three grants carry one
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key},
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key},
    ]
    s3 = [s for s in granted(graph, "on-upload") if s["Action"][0].startswith("s3:")]
    assert len(s3) == 15


def test_dev_and_prod_differ_in_retention_throttling_and_protection(stack_graphs):
    dev, prod = stack_graphs("dev"), stack_graphs("prod")
    for graph, days in ((dev, 7), (prod, 365)):
        retentions = {
            r.inputs["retentionInDays"] for r in graph.of_type("aws:cloudwatch/logGroup:LogGroup")
        }
        assert retentions == {days}
    for graph, burst, rate in ((dev, 20, 10), (prod, 200, 100)):
        settings = graph.one("aws:apigatewayv2/stage:Stage").inputs["defaultRouteSettings"]
        assert settings["throttlingBurstLimit"] == burst
        assert settings["throttlingRateLimit"] == rate
    assert dev.one("aws:apigatewayv2/api:Api").inputs["corsConfiguration"]["allowOrigins"] == [
        "http://localhost:3000",
        "http://localhost:5173",
    ]


def test_prod_reserves_concurrency_for_both_functions_dev_for_none(stack_graphs):
    dev, prod = stack_graphs("dev"), stack_graphs("prod")
    for role in ("uploads", "on-upload"):
        assert function(dev, role).inputs.get("reservedConcurrentExecutions") is None
    assert function(prod, "uploads").inputs["reservedConcurrentExecutions"] == 200
    assert function(prod, "on-upload").inputs["reservedConcurrentExecutions"] == 50


def test_every_role_carries_the_configured_permissions_boundary(stack_graphs):
    """The deploy roles create roles only with the bootstrap's boundary (docs/deploying.md)."""
    boundary = "arn:aws:iam::123456789012:policy/uploads-permissions-boundary"
    key = "serverless-uploads:permissionsBoundaryArn"
    graph = run_stack("prod", PROJECT_DIR, overrides={key: boundary})
    roles = graph.of_type("aws:iam/role:Role")
    assert len(roles) == len(stack_graphs("prod").of_type("aws:iam/role:Role")) >= 2
    assert {role.inputs.get("permissionsBoundary") for role in roles} == {boundary}
