"""The properties a reviewer checks, per resource type: what `plan` prints under each resource.

Each entry is (label, path) into the resource's inputs. A path is dotted, with `[n]` for a list
index and `[*]` for every element (their values are collected); a string holding a JSON document
(a policy) is read as that document.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

_PUBLIC_ACCESS = (
    ("blockPublicAcls", "blockPublicAcls"),
    ("blockPublicPolicy", "blockPublicPolicy"),
    ("ignorePublicAcls", "ignorePublicAcls"),
    ("restrictPublicBuckets", "restrictPublicBuckets"),
)

HIGHLIGHTS: dict[str, tuple[tuple[str, str], ...]] = {
    "aws:lambda/function:Function": (
        ("runtime", "runtime"),
        ("memory", "memorySize"),
        ("architecture", "architectures[0]"),
        ("timeout", "timeout"),
        ("reservedConcurrency", "reservedConcurrentExecutions"),
        ("tracing", "tracingConfig.mode"),
        ("handler", "handler"),
    ),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": (
        ("retries", "maximumRetryAttempts"),
        ("maxEventAge", "maximumEventAgeInSeconds"),
        ("onFailure", "destinationConfig.onFailure.destination"),
    ),
    "aws:lambda/permission:Permission": (("principal", "principal"), ("action", "action")),
    "aws:cloudwatch/logGroup:LogGroup": (
        ("retentionInDays", "retentionInDays"),
        ("kmsKey", "kmsKeyId"),
    ),
    "aws:sqs/queue:Queue": (
        ("sse", "sqsManagedSseEnabled"),
        ("kmsKey", "kmsMasterKeyId"),
        ("retentionSeconds", "messageRetentionSeconds"),
    ),
    "aws:kms/key:Key": (
        ("rotation", "enableKeyRotation"),
        ("deletionWindowInDays", "deletionWindowInDays"),
    ),
    "aws:iam/rolePolicy:RolePolicy": (("actions", "policy.Statement[*].Action"),),
    "aws:s3/bucket:Bucket": (("forceDestroy", "forceDestroy"),),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _PUBLIC_ACCESS,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (
        ("objectOwnership", "rule.objectOwnership"),
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        ("encryption", "rules[0].applyServerSideEncryptionByDefault.sseAlgorithm"),
        ("kmsKey", "rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId"),
        ("bucketKey", "rules[0].bucketKeyEnabled"),
    ),
    "aws:s3/bucketVersioning:BucketVersioning": (("versioning", "versioningConfiguration.status"),),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (("rules", "rules[*].id"),),
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": (
        ("origins", "corsRules[*].allowedOrigins"),
    ),
    "aws:s3/bucketPolicy:BucketPolicy": (("statements", "policy.Statement[*].Sid"),),
    "aws:s3/bucketNotification:BucketNotification": (
        ("events", "lambdaFunctions[*].events"),
        ("prefixes", "lambdaFunctions[*].filterPrefix"),
    ),
    "aws:s3/bucketLogging:BucketLogging": (("targetPrefix", "targetPrefix"),),
    "aws:apigatewayv2/api:Api": (
        ("protocol", "protocolType"),
        ("corsOrigins", "corsConfiguration.allowOrigins"),
        ("disableExecuteApiEndpoint", "disableExecuteApiEndpoint"),
    ),
    "aws:apigatewayv2/stage:Stage": (
        ("throttlingBurstLimit", "defaultRouteSettings.throttlingBurstLimit"),
        ("throttlingRateLimit", "defaultRouteSettings.throttlingRateLimit"),
        ("accessLogs", "accessLogSettings.destinationArn"),
    ),
    "aws:apigatewayv2/route:Route": (
        ("route", "routeKey"),
        ("authorization", "authorizationType"),
        ("throttling", "routeSettings"),
    ),
    "aws:apigatewayv2/integration:Integration": (
        ("type", "integrationType"),
        ("payload", "payloadFormatVersion"),
        ("timeoutMs", "timeoutMilliseconds"),
    ),
    "aws:apigatewayv2/authorizer:Authorizer": (
        ("type", "authorizerType"),
        ("issuer", "jwtConfiguration.issuer"),
    ),
}

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+|\*)\]")


def highlights(type_: str, inputs: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(label, value) for each highlighted property the resource sets."""
    for label, path in HIGHLIGHTS.get(type_, ()):
        found = list(_resolve(inputs, [m.group(1) or m.group(2) for m in _STEP.finditer(path)]))
        if not found:
            continue
        if "*" in path:
            flat = [v for item in found for v in (item if isinstance(item, list) else [item])]
            yield label, sorted(set(map(str, flat)))
        else:
            yield label, found[0]


def _resolve(value: Any, steps: list[str]) -> Iterator[Any]:
    if isinstance(value, str) and value.startswith(("{", "[")):
        with contextlib.suppress(json.JSONDecodeError):  # else a string that starts with "["
            value = json.loads(value)
    if not steps:
        if value is not None:
            yield value
        return
    step, rest = steps[0], steps[1:]
    if isinstance(value, dict) and step in value:
        yield from _resolve(value[step], rest)
    elif isinstance(value, list) and step == "*":
        for item in value:
            yield from _resolve(item, rest)
    elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
        yield from _resolve(value[int(step)], rest)
