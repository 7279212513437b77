"""PythonFunction: the function, its role and policies, logs, tracing, async config and queue."""

from __future__ import annotations

import base64
import dataclasses
import zipfile
from pathlib import Path

import pulumi
import pytest

from components._wire import ArgumentError
from components.function import PythonFunction, PythonFunctionArgs
from components.storage import StorageBucket, StorageBucketArgs, on_object_created
from offline import ResourceGraph

ROOT = Path(__file__).resolve().parent.parent
UPLOADS = ROOT / "lambda_src" / "uploads"
COMMON = ROOT / "lambda_src" / "uploads_common"
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def uploads_args(**overrides) -> PythonFunctionArgs:
    return PythonFunctionArgs(source=UPLOADS, shared_packages=(COMMON,), **overrides)


def function_graph(build, args: PythonFunctionArgs | None = None) -> ResourceGraph:
    return build(lambda: PythonFunction("api", args or uploads_args()))


def statements(graph: ResourceGraph) -> dict[str, dict]:
    return {s.get("Sid", s["Action"][0]): s for s in graph.one(ROLE_POLICY).policy()["Statement"]}


def test_defaults_reach_the_function(build):
    graph = function_graph(build)
    function = graph.one(FUNCTION).inputs
    assert function["runtime"] == "python3.13"
    assert function["architectures"] == ["arm64"]
    assert function["memorySize"] == 256
    assert function["timeout"] == 30
    assert function["handler"] == "handler.handler"
    assert function["tracingConfig"] == {"mode": "Active"}
    assert "reservedConcurrentExecutions" not in function


def test_code_is_the_deterministic_archive_with_its_hash(build):
    seen = {}

    def program():
        seen["fn"] = PythonFunction("api", uploads_args())

    graph = build(program)
    archive = seen["fn"].archive
    function = graph.one(FUNCTION).inputs
    assert function["sourceCodeHash"] == base64.b64encode(bytes.fromhex(archive.sha256)).decode()
    assert isinstance(function["code"], pulumi.FileArchive)
    assert Path(function["code"].path) == archive.path
    with zipfile.ZipFile(archive.path) as zf:
        names = set(zf.namelist())
    assert "handler.py" in names
    assert "uploads_common/images.py" in names


def test_json_logs_go_to_its_own_log_group_with_retention(build):
    graph = function_graph(build, uploads_args(log_retention_days=30))
    log_group = graph.one("aws:cloudwatch/logGroup:LogGroup")
    assert log_group.inputs["retentionInDays"] == 30
    logging_config = graph.one(FUNCTION).inputs["loggingConfig"]
    assert logging_config == {
        "logFormat": "JSON",
        "logGroup": log_group.outputs["name"],
        "applicationLogLevel": "INFO",
        "systemLogLevel": "WARN",
    }


def test_role_trusted_only_by_lambda(build):
    role = function_graph(build).one("aws:iam/role:Role")
    trust = role.policy("assumeRolePolicy")
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    assert "managedPolicyArns" not in role.inputs
    assert "permissionsBoundary" not in role.inputs


def test_role_carries_the_permissions_boundary_given(build):
    boundary = "arn:aws:iam::123456789012:policy/uploads-permissions-boundary"
    graph = function_graph(build, uploads_args(permissions_boundary=boundary))
    assert graph.one("aws:iam/role:Role").inputs["permissionsBoundary"] == boundary


def test_role_policy_writes_only_its_own_logs_traces_and_queue(build):
    graph = function_graph(build)
    log_arn = graph.one("aws:cloudwatch/logGroup:LogGroup").outputs["arn"]
    queue_arn = graph.one("aws:sqs/queue:Queue").outputs["arn"]
    found = statements(graph)
    assert found == {
        "WriteOwnLogs": {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_arn}:*",
        },
        "SendFailedEvents": {
            "Sid": "SendFailedEvents",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": queue_arn,
        },
        "WriteTraces": {
            "Sid": "WriteTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
    }
    policy = graph.one(ROLE_POLICY)
    assert policy.inputs["role"] == graph.one("aws:iam/role:Role").outputs["name"]
    assert graph.one(FUNCTION).depends_on(policy)


def test_tracing_off_drops_xray(build):
    graph = function_graph(build, uploads_args(tracing=False))
    assert graph.one(FUNCTION).inputs["tracingConfig"] == {"mode": "PassThrough"}
    assert "WriteTraces" not in statements(graph)


def test_granted_statements_join_the_role_policy(build):
    def program():
        bucket = StorageBucket("media")
        PythonFunction("api", uploads_args(statements=bucket.grant_read("uploads/")))

    graph = build(program)
    bucket_arn = graph.one("aws:s3/bucket:Bucket").outputs["arn"]
    assert statements(graph)["s3:GetObject"] == {
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": f"{bucket_arn}/uploads/*",
    }
    assert len(statements(graph)) == 4


def test_a_statement_granted_twice_appears_once(build):
    def program():
        bucket = StorageBucket("media", StorageBucketArgs(kms_key="create"))
        grants = [*bucket.grant_read("uploads/"), *bucket.grant_read("thumbnails/")]
        PythonFunction("api", uploads_args(statements=grants))

    graph = build(program)
    policy = graph.one(ROLE_POLICY).policy()["Statement"]
    kms = [s for s in policy if s["Action"] == ["kms:Decrypt"]]
    assert len(kms) == 1
    assert len(policy) == 6  # logs, queue, traces, two reads, one key statement


def test_async_invocations_bounded_with_encrypted_dead_letter_queue(build):
    graph = function_graph(
        build, uploads_args(async_retry_attempts=1, async_max_event_age_seconds=600)
    )
    queue = graph.one("aws:sqs/queue:Queue")
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert queue.inputs["messageRetentionSeconds"] == 14 * 86400
    config = graph.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").inputs
    assert config["functionName"] == graph.one(FUNCTION).outputs["name"]
    assert config["maximumRetryAttempts"] == 1
    assert config["maximumEventAgeInSeconds"] == 600
    assert config["destinationConfig"] == {"onFailure": {"destination": queue.outputs["arn"]}}


def test_options_reach_the_function(build):
    args = uploads_args(
        memory_mb=1024,
        timeout_seconds=60,
        architecture="x86_64",
        runtime="python3.12",
        environment={"BUCKET_NAME": "media"},
        description="uploads API",
        reserved_concurrency=5,
        layers=("arn:aws:lambda:us-east-1:123456789012:layer:tools:3",),
        log_level="DEBUG",
    )
    function = function_graph(build, args).one(FUNCTION).inputs
    assert function["memorySize"] == 1024
    assert function["timeout"] == 60
    assert function["architectures"] == ["x86_64"]
    assert function["runtime"] == "python3.12"
    assert function["environment"] == {"variables": {"BUCKET_NAME": "media"}}
    assert function["description"] == "uploads API"
    assert function["reservedConcurrentExecutions"] == 5
    assert function["layers"] == ["arn:aws:lambda:us-east-1:123456789012:layer:tools:3"]
    assert function["loggingConfig"]["applicationLogLevel"] == "DEBUG"


def test_outputs_name_arn_invoke_arn(build):
    def program():
        fn = PythonFunction("api", uploads_args())
        pulumi.export("name", fn.name)
        pulumi.export("arn", fn.arn)
        pulumi.export("invoke_arn", fn.invoke_arn)

    graph = build(program)
    function = graph.one(FUNCTION).outputs
    assert graph.outputs == {
        "name": function["name"],
        "arn": function["arn"],
        "invoke_arn": function["invokeArn"],
    }


def test_children_named_after_component(build):
    graph = function_graph(build)
    component = graph.one("uploads:index:PythonFunction", "api")
    names = sorted(c.name for c in graph.children(component))
    assert names == [
        "api-dead-letter-queue",
        "api-event-invoke-config",
        "api-function",
        "api-log-group",
        "api-policy",
        "api-role",
    ]


def test_plugs_into_bucket_notifications(build):
    def program():
        bucket = StorageBucket("media")
        fn = PythonFunction("thumbs", uploads_args())
        bucket.notify(on_object_created(fn, prefix="uploads/"))

    graph = build(program)
    function = graph.one(FUNCTION)
    permission = graph.one("aws:lambda/permission:Permission")
    assert permission.inputs["function"] == function.outputs["name"]
    notification = graph.one("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["lambdaFunctions"][0]["lambdaFunctionArn"] == function.outputs["arn"]
    assert notification.depends_on(permission)


def test_transform_edits_a_child(build):
    graph = function_graph(
        build, uploads_args(transforms={"function": {"ephemeral_storage": {"size": 1024}}})
    )
    assert graph.one(FUNCTION).inputs["ephemeralStorage"] == {"size": 1024}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"runtime": "python2.7"}, "runtime: must be one of python3.12, .*, got 'python2.7'"),
        ({"architecture": "arm"}, "architecture: must be one of arm64, x86_64, got 'arm'"),
        ({"memory_mb": 127}, "memory_mb: must be between 128 and 10240, got 127"),
        ({"memory_mb": 10241}, "memory_mb: must be between 128 and 10240, got 10241"),
        ({"memory_mb": "256"}, "memory_mb: must be an integer, got '256'"),
        ({"memory_mb": 1e9}, "memory_mb: must be between 128 and 10240, got 1000000000"),
        ({"timeout_seconds": 0}, "timeout_seconds: must be between 1 and 900, got 0"),
        ({"timeout_seconds": 901}, "timeout_seconds: must be between 1 and 900, got 901"),
        ({"log_retention_days": 10}, "log_retention_days: must be one of 1, 3, 5, .*, got 10"),
        ({"async_retry_attempts": 3}, "async_retry_attempts: must be between 0 and 2, got 3"),
        ({"reserved_concurrency": 0}, "reserved_concurrency: must be at least 1, got 0"),
        ({"tracing": "yes"}, "tracing: must be a boolean, got 'yes'"),
        (
            {"permissions_boundary": "arn:aws:kms:us-east-1:123456789012:key/x"},
            "permissions_boundary: must be an IAM policy ARN",
        ),
    ],
)
def test_bad_arguments_are_refused_when_the_args_are_built(overrides, message):
    with pytest.raises(ArgumentError, match=f"^PythonFunction: {message}") as error:
        dataclasses.replace(uploads_args(), **overrides)
    assert error.value.path == (next(iter(overrides)),)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"source": "lambda_src/missing"}, "does not exist"),
        ({"handler": "main.handler"}, "handler module main.py not found"),
        ({"handler": "handler"}, "must look like module.function"),
        ({"handler": "../../handler.handler"}, "must look like module.function"),
        ({"handler": "/etc/passwd.handler"}, "must look like module.function"),
        ({"environment": {"AWS_REGION": "x"}}, "'AWS_REGION' is invalid or reserved"),
        # Local mode's fault switch can never reach a deployed function.
        ({"environment": {"UPLOADS_LOCAL_FAULT_FILE": "/tmp/x"}}, "for local mode only"),
        ({"environment": {"BUCKET\n": "x"}}, "'BUCKET\\\\n' is invalid or reserved"),
        ({"statements": [{"Effect": "Allow", "Action": "s3:*", "Resource": "x"}]}, "wildcard"),
    ],
)
def test_bad_arguments_raise_clear_errors(build, overrides, message):
    args = dataclasses.replace(uploads_args(), **overrides)
    with pytest.raises(Exception, match=message) as error:
        function_graph(build, args)
    assert 'PythonFunction "api"' in str(error.value)


def test_folder_without_handler_module_rejected(build, tmp_path):
    (tmp_path / "notes.txt").write_text("no code here")
    with pytest.raises(Exception, match=r"handler module handler\.py not found"):
        function_graph(build, PythonFunctionArgs(source=tmp_path))
