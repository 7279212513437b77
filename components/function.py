"""PythonFunction: a Lambda function packaged from `lambda_src/<folder>`, least privilege."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from ._checks import (
    IAM_POLICY,
    KMS_KEY,
    LOG_RETENTION,
    Between,
    Matches,
    OneOf,
    check_fields,
    checked,
)
from ._component import IAM_PATH, Component, PolicyStatement, Transform
from ._wire import PYTHON_ONLY, args_of
from .packaging import ARCHITECTURES, RUNTIMES, LambdaTarget, build_archive

LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
LOCAL_ONLY_ENV_PREFIX = "UPLOADS_LOCAL_"
"""Variables only local mode sets (its fault switch): refused in a deployed function."""
_ENV_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\Z")
_HANDLER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
"""`module.function`: Python names only, so the module file cannot be outside the source."""
# Set by the Lambda runtime; a function may not override them.
_RESERVED_ENV = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)  # fmt: skip
_LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass(frozen=True)
class PythonFunctionArgs:
    """Arguments of PythonFunction. Defaults: the fastest cold start and the least privilege."""

    source: str | Path
    """The function's folder, e.g. `lambda_src/uploads` (relative to the working directory, which
    is the project folder under `pulumi up`). Its `requirements.txt`, if any, is installed."""
    handler: str = "handler.handler"
    """`module.function` inside `source`."""
    shared_packages: Sequence[str | Path] = ()
    """Package folders copied into the archive beside the function's code."""
    runtime: str = checked(OneOf(RUNTIMES), "python3.13")
    """python3.13: the fastest Python cold start on Lambda today."""
    architecture: str = checked(OneOf(ARCHITECTURES), "arm64")
    """arm64 (Graviton): cheaper per GB-second than x86_64."""
    memory_mb: int = checked(Between(128, 10240), 256)
    """Memory (and proportional CPU), 128..10240 MB."""
    timeout_seconds: int = checked(Between(1, 900), 30)
    """1..900 seconds."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variables (the runtime's reserved names are refused)."""
    description: str | None = None
    """Shown in the console."""
    reserved_concurrency: int | None = checked(Between(1), None)
    """Cap on concurrent executions (0 would stop the function from ever running). Default None:
    the account's unreserved pool."""
    layers: Sequence[pulumi.Input[str]] = ()
    """Layer version ARNs."""
    tracing: bool = True
    """Active X-Ray tracing (and the role's X-Ray write permission)."""
    log_retention_days: int = checked(LOG_RETENTION, 14)
    """Retention of the function's own log group; one of CloudWatch's allowed values."""
    log_kms_key: pulumi.Input[str] | None = checked(KMS_KEY, None)
    """ARN of a KMS key that encrypts the function's log group. CloudWatch Logs wants the key's ARN,
    and the key policy must let `logs.<region>.amazonaws.com` use it (StorageBucket's
    `kms_key_for_logs` does); the function's role needs nothing extra. Default None: CloudWatch
    Logs' own encryption."""
    log_level: str = checked(OneOf(LOG_LEVELS), "INFO")
    """Application log level of Lambda's JSON logging."""
    statements: Sequence[PolicyStatement] = ()
    """IAM statements granted to the function, e.g. `bucket.grant_read("uploads/")`."""
    permissions_boundary: pulumi.Input[str] | None = checked(IAM_POLICY, None)
    """ARN of a managed IAM policy set as the permissions boundary of the function's role: the
    most the role may ever do, whatever its statements say. Deploy roles that may create roles
    only with that boundary (bootstrap/, docs/deploying.md) need it set. Default None: no
    boundary."""
    role_path: str = checked(Matches(IAM_PATH, "an IAM path: / or /a/b/"), "/")
    """IAM path of the function's role. A path per stack (the stack program uses
    `/uploads/<stack>/`) lets a deploy role reach only its own stack's roles (bootstrap/).
    Default "/": IAM's root path."""
    async_retry_attempts: int = checked(Between(0, 2), 2)
    """Retries of a failed asynchronous invocation, 0..2."""
    async_max_event_age_seconds: int = checked(Between(60, 21600), 3600)
    """How long an asynchronous event may wait, 60..21600 seconds, before the dead-letter queue."""
    dead_letter_retention_days: int = checked(Between(1, 14), 14)
    """How long failed events stay in the dead-letter queue (SQS allows 1..14 days)."""
    transforms: Mapping[str, Transform | None] = field(default_factory=dict, metadata=PYTHON_ONLY)
    """Escape hatch, per child: log_group, role, policy, function, dead_letter_queue,
    event_invoke_config."""

    def __post_init__(self) -> None:
        check_fields(self)

    def validate(self, name: str) -> None:
        owner = f'PythonFunction "{name}"'
        self._validate_environment(owner)
        self._validate_statements(owner)
        self._validate_source(owner)

    def _validate_environment(self, owner: str) -> None:
        for key in self.environment:
            if not _ENV_KEY.match(key) or key in _RESERVED_ENV:
                raise ValueError(f"{owner}: environment variable {key!r} is invalid or reserved")
            if key.startswith(LOCAL_ONLY_ENV_PREFIX):
                raise ValueError(f"{owner}: environment variable {key!r} is for local mode only")

    def _validate_statements(self, owner: str) -> None:
        for statement in self.statements:
            actions = statement.get("Action", [])
            for action in [actions] if isinstance(actions, str) else actions:
                if action == "*" or action.endswith(":*"):
                    raise ValueError(f"{owner}: wildcard action {action!r} in granted statements")

    def _validate_source(self, owner: str) -> None:
        """The handler is `module.function` of Python names, so its file is inside `source`
        (`../x.handler` would name a file outside the archive)."""
        source = Path(self.source)
        if not _HANDLER.fullmatch(self.handler):
            raise ValueError(f"{owner}: handler {self.handler!r} must look like module.function")
        module = self.handler.rpartition(".")[0]
        if not source.is_dir():
            raise ValueError(f"{owner}: source folder {source} does not exist")
        if not (source / f"{module.replace('.', '/')}.py").is_file():
            raise ValueError(f"{owner}: handler module {module}.py not found in {source}")


class PythonFunction(Component):
    """A Python Lambda function with its own log group, role, tracing and dead-letter queue."""

    function: aws.lambda_.Function
    """The Lambda function (give it to an HttpApi route from another language)."""
    name: pulumi.Output[str]
    """The function's name."""
    arn: pulumi.Output[str]
    """The function's ARN."""
    invoke_arn: pulumi.Output[str]
    """The ARN API Gateway invokes."""
    role: aws.iam.Role
    """The function's own execution role (least privilege: its statements only)."""
    log_group: aws.cloudwatch.LogGroup
    """The function's log group."""
    dead_letter_queue: aws.sqs.Queue
    """Where failed asynchronous events go (SQS, encrypted)."""

    def __init__(
        self,
        name: str,
        args: PythonFunctionArgs | Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args_of(PythonFunctionArgs, args, f'PythonFunction "{name}"')
        args.validate(name)
        super().__init__("uploads:index:PythonFunction", name, args.transforms, opts)
        self._args = args
        self.archive = build_archive(
            Path(args.source),
            target=LambdaTarget(args.runtime, args.architecture),
            shared_packages=[Path(p) for p in args.shared_packages],
        )
        self.log_group = self._child(
            aws.cloudwatch.LogGroup,
            "log-group",
            {"retention_in_days": args.log_retention_days, "kms_key_id": args.log_kms_key},
        )
        self.dead_letter_queue = self._child(
            aws.sqs.Queue,
            "dead-letter-queue",
            {
                "sqs_managed_sse_enabled": True,
                "message_retention_seconds": args.dead_letter_retention_days * 86400,
            },
        )
        self.role = self._child(
            aws.iam.Role,
            "role",
            {
                "assume_role_policy": _LAMBDA_TRUST,
                "permissions_boundary": args.permissions_boundary,
                "path": args.role_path,
            },
            # A new trust policy makes a new role: the deploy roles may not rewrite trust
            # (iam:UpdateAssumeRolePolicy, bootstrap/provider_calls.py).
            pulumi.ResourceOptions(replace_on_changes=["assumeRolePolicy"]),
        )
        policy = self._create_policy()
        self.function = self._create_function(policy)
        self.name = self.function.name
        self.arn = self.function.arn
        self.invoke_arn = self.function.invoke_arn
        self._create_event_invoke_config()
        self.register_outputs({"name": self.name, "arn": self.arn, "invoke_arn": self.invoke_arn})

    @property
    def args(self) -> PythonFunctionArgs:
        """The arguments the function was built from (timeout, reservation, retention)."""
        return self._args

    def _create_policy(self) -> aws.iam.RolePolicy:
        document = pulumi.Output.all(
            self.log_group.arn, self.dead_letter_queue.arn, list(self._args.statements)
        ).apply(lambda r: json.dumps(_role_policy(r[0], r[1], r[2], self._args.tracing)))
        return self._child(aws.iam.RolePolicy, "policy", {"role": self.role.id, "policy": document})

    def _create_function(self, policy: aws.iam.RolePolicy) -> aws.lambda_.Function:
        args = self._args
        digest = base64.b64encode(bytes.fromhex(self.archive.sha256)).decode()
        props: dict[str, Any] = {
            "code": pulumi.FileArchive(str(self.archive.path)),
            "source_code_hash": digest,
            "handler": args.handler,
            "runtime": args.runtime,
            "architectures": [args.architecture],
            "memory_size": args.memory_mb,
            "timeout": args.timeout_seconds,
            "role": self.role.arn,
            "description": args.description,
            "layers": list(args.layers) or None,
            "reserved_concurrent_executions": args.reserved_concurrency,
            "tracing_config": {"mode": "Active" if args.tracing else "PassThrough"},
            "logging_config": {
                "log_format": "JSON",
                "log_group": self.log_group.name,
                "application_log_level": args.log_level,
                "system_log_level": "WARN",
            },
        }
        if args.environment:
            props["environment"] = {"variables": dict(args.environment)}
        # The role must be able to write logs before the first invocation.
        return self._child(
            aws.lambda_.Function, "function", props, pulumi.ResourceOptions(depends_on=[policy])
        )

    def _create_event_invoke_config(self) -> None:
        args = self._args
        self._child(
            aws.lambda_.FunctionEventInvokeConfig,
            "event-invoke-config",
            {
                "function_name": self.function.name,
                "maximum_retry_attempts": args.async_retry_attempts,
                "maximum_event_age_in_seconds": args.async_max_event_age_seconds,
                "destination_config": {"on_failure": {"destination": self.dead_letter_queue.arn}},
            },
        )


def _role_policy(
    log_group_arn: str, queue_arn: str, granted: list[dict[str, Any]], tracing: bool
) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            # A log group's ARN has no `:*`; its streams are `<arn>:log-stream:<name>`.
            "Resource": f"{log_group_arn}:*",
        },
        {
            "Sid": "SendFailedEvents",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": queue_arn,
        },
    ]
    if tracing:
        # X-Ray's write actions support no resource-level permissions: "*" is the only resource.
        statements.append(
            {
                "Sid": "WriteTraces",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",
            }
        )
    # Grants on one bucket repeat the same KMS statement (reads and writes both need kms:Decrypt):
    # keep each distinct statement once.
    unique = {json.dumps(s, sort_keys=True): s for s in [*statements, *granted]}
    return {"Version": "2012-10-17", "Statement": list(unique.values())}
