"""API Gateway and CloudWatch Logs rules, and sign-in on every deployed stack."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from ._model import (
    UNKNOWN,
    ResourceView,
    get,
    resource_rule,
    setting,
    stack_rule,
)

HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
REST_STAGE = "aws:apigateway/stage:Stage"
HTTP_API = "aws:apigatewayv2/api:Api"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@resource_rule(
    "APIGateway.9",
    "mandatory",
    "Each API Gateway stage writes access logs.",
    "Set the stage's accessLogSettings (destinationArn of a log group, and a format); HttpApi "
    "does.",
    HTTP_STAGE,
    REST_STAGE,
)
def _access_logging(stage: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    for key in ("destinationArn", "format"):
        if not get(stage.props, "accessLogSettings", key):
            yield f"accessLogSettings.{key} is not set"


@resource_rule(
    "UPL-APIGW-THROTTLING",
    "mandatory",
    "Each HTTP API stage sets default throttling (burst and rate).",
    "Set defaultRouteSettings.throttlingBurstLimit and throttlingRateLimit (settings "
    "throttleBurstLimit, throttleRateLimit).",
    HTTP_STAGE,
)
def _throttling(stage: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    # 0 is a limit, the strictest one (API Gateway then answers 429 to every request), and the
    # settings accept it: only a missing or impossible value is a violation.
    for key in ("throttlingBurstLimit", "throttlingRateLimit"):
        value = get(stage.props, "defaultRouteSettings", key)
        if value is None:
            yield f"defaultRouteSettings.{key} is not set"
        elif value is not UNKNOWN and not _is_limit(value):
            yield f"defaultRouteSettings.{key} = {value!r} is not a limit (a number >= 0)"


def _is_limit(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


@resource_rule(
    "CKV_AWS_66",
    "mandatory",
    "Each CloudWatch log group has a retention (never forever).",
    "Set retentionInDays (setting logRetentionDays).",
    LOG_GROUP,
)
def _log_retention(group: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    days = group.props.get("retentionInDays")
    if days is not UNKNOWN and not (isinstance(days, int | float) and days > 0):
        yield "retentionInDays is not set: logs are kept forever"


@stack_rule(
    "UPL-AUTH-REQUIRED",
    "mandatory",
    "A stack's API requires sign-in (auth is not none): every stack file is a stack CI deploys, "
    "and an open API lets anyone list, read and delete every upload.",
    "Set serverless-uploads:auth to cognito or jwt. An open API on this machine only: make dev "
    "(local mode overrides auth to none for the dev stack).",
)
def _auth_required(
    resources: Sequence[ResourceView], stack_config: Mapping[str, str]
) -> Iterator[tuple[ResourceView, str]]:
    if setting(stack_config, "auth") != "none":
        return
    for api in (r for r in resources if r.type == HTTP_API):
        yield api, "auth is none: anyone can list, read and delete every upload"
