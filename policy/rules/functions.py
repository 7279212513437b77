"""Lambda rules: supported runtime, tracing, a managed log group, a failure destination."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from ._model import (
    UNKNOWN,
    ResourceView,
    children_of,
    get,
    known,
    related,
    resource_rule,
    stack_rule,
)

FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
EVENT_INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"

SUPPORTED_RUNTIMES = frozenset(
    {
        "python3.11",
        "python3.12",
        "python3.13",
        "python3.14",
        "nodejs22.x",
        "nodejs24.x",
        "java11",
        "java17",
        "java21",
        "java25",
        "java8.al2",
        "dotnet8",
        "dotnet10",
        "ruby3.3",
        "ruby3.4",
        "provided.al2",
        "provided.al2023",
    }
)
"""Runtimes Lambda supports with security updates (AWS's runtime deprecation schedule, 2026-12).
Container-image functions (packageType Image) have no runtime and are not checked."""


@resource_rule(
    "Lambda.2",
    "mandatory",
    "Each function uses a runtime Lambda still supports.",
    "Set the functionRuntime setting (or PythonFunction runtime) to a supported runtime such as "
    "python3.13.",
    FUNCTION,
)
def _supported_runtime(function: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    runtime = function.props.get("runtime")
    if function.props.get("packageType") == "Image" or not known(runtime):
        return
    if runtime not in SUPPORTED_RUNTIMES:
        yield f"runtime {runtime!r} is not a supported Lambda runtime"


@resource_rule(
    "Lambda.7",
    "advisory",
    "Each function has active X-Ray tracing.",
    "Set the tracing setting to true (PythonFunction tracing=True): tracingConfig.mode Active.",
    FUNCTION,
)
def _tracing(function: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    mode = get(function.props, "tracingConfig", "mode")
    if mode not in ("Active", UNKNOWN):
        yield f"tracing mode is {mode or 'PassThrough'!r}, not Active"


@stack_rule(
    "UPL-LAMBDA-LOG-GROUP",
    "mandatory",
    "Each function logs to its own log group, managed by the stack with a retention.",
    "Create a LogGroup with retentionInDays and point the function's loggingConfig.logGroup at it "
    "(PythonFunction does).",
)
def _own_log_group(
    resources: Sequence[ResourceView], _config: Mapping[str, str]
) -> Iterator[tuple[ResourceView, str]]:
    for function in (r for r in resources if r.type == FUNCTION):
        target = get(function.props, "loggingConfig", "logGroup")
        if target is None:
            yield (
                function,
                "has no loggingConfig.logGroup: Lambda's default group keeps logs forever",
            )
            continue
        groups = related(function, [g for g in resources if g.type == LOG_GROUP])
        named = [g for g in groups if known(target) and g.props.get("name") == target]
        group = (named or groups or [None])[0]
        if group is None:
            yield function, f"logs to {target!r}, a log group this stack does not manage"
        elif not _retained(group):
            yield function, f"its log group {group.name} keeps logs forever (no retentionInDays)"


def _retained(group: ResourceView) -> bool:
    days = group.props.get("retentionInDays")
    return days is UNKNOWN or (isinstance(days, int | float) and days > 0)


@stack_rule(
    "CKV_AWS_116",
    "advisory",
    "Each function has a dead-letter destination for failed asynchronous invocations.",
    "Give the function a FunctionEventInvokeConfig with destinationConfig.onFailure (or a "
    "deadLetterConfig); PythonFunction adds an SQS dead-letter queue.",
)
def _dead_letter(
    resources: Sequence[ResourceView], _config: Mapping[str, str]
) -> Iterator[tuple[ResourceView, str]]:
    for function in (r for r in resources if r.type == FUNCTION):
        if get(function.props, "deadLetterConfig", "targetArn"):
            continue
        configs = children_of(function, EVENT_INVOKE_CONFIG, resources, "functionName")
        if not any(get(c.props, "destinationConfig", "onFailure", "destination") for c in configs):
            yield function, "failed asynchronous invocations are dropped: no on-failure destination"
