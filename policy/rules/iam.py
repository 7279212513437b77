"""IAM rules: no wildcard actions, no `*` resource except where AWS offers nothing narrower."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ._model import ResourceView, as_list, policy_document, resource_rule, statements

POLICY_TYPES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)

NO_RESOURCE_LEVEL_ACTIONS = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
        # Log delivery of HTTP API access logs, and creating a key or a user pool (bootstrap/'s
        # deploy roles): their ids do not exist before the call.
        *(f"logs:{verb}LogDelivery" for verb in ("Create", "Get", "Update", "Delete")),
        *("logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies"),
        *(f"logs:{verb}QueryDefinition" for verb in ("Put", "Delete")),
        "logs:DescribeQueryDefinitions",
        "kms:CreateKey",
        "cognito-idp:CreateUserPool",
    }
)
"""Actions that support no resource-level permissions, so `Resource: "*"` is the only way to
grant them (IAM Service Authorization Reference: AWS X-Ray, CloudWatch Logs, AWS KMS, Amazon
Cognito user pools)."""


def _allow_statements(resource: ResourceView) -> Iterator[Mapping[str, Any]]:
    document = policy_document(resource.props.get("policy"))
    if document is None:  # unknown during preview: checked once the document is known
        return
    yield from (s for s in statements(document) if s.get("Effect") == "Allow")


@resource_rule(
    "IAM.21",
    "mandatory",
    "No IAM policy allows a wildcard action (`*` or `service:*`) or uses NotAction "
    "(also CKV_AWS_63).",
    "List the exact actions (StorageBucket grant helpers produce them).",
    *POLICY_TYPES,
)
def _no_wildcard_action(resource: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    for statement in _allow_statements(resource):
        if "NotAction" in statement:
            yield f"statement {statement.get('Sid', '')!r} allows NotAction"
        wild = [a for a in as_list(statement.get("Action")) if a == "*" or str(a).endswith(":*")]
        if wild:
            yield f"allows wildcard actions {wild}"


@resource_rule(
    "CKV_AWS_355",
    "mandatory",
    "No IAM policy allows `*` resources, except for actions that support no resource-level "
    "permissions (X-Ray's, log delivery's, Logs Insights query definitions', kms:CreateKey, "
    "cognito-idp:CreateUserPool).",
    "Name the resource ARNs (a bucket prefix, a log group, a queue), or move the actions that "
    "have no resource-level permissions into their own statement.",
    *POLICY_TYPES,
)
def _no_star_resource(resource: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    for statement in _allow_statements(resource):
        if "NotResource" in statement:
            yield f"statement {statement.get('Sid', '')!r} allows NotResource"
        if "*" not in as_list(statement.get("Resource")):
            continue
        scoped = [a for a in as_list(statement.get("Action")) if a not in NO_RESOURCE_LEVEL_ACTIONS]
        if scoped:
            yield f"allows {scoped} on every resource (*)"
