"""IAM rules: no wildcard actions, no `*` resource except where AWS offers nothing narrower, every
function role under a permissions boundary; a malformed statement is a finding, never a crash."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ._model import ResourceView, policy_document, resource_rule, statements

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
        "logs:DescribeLogGroups",
        *("sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"),
        "kms:CreateKey",
        "cognito-idp:CreateUserPool",
        # The preflight's reads of Lambda's account (components/preflight.py).
        "lambda:GetAccountSettings",
        "lambda:ListFunctions",
    }
)
"""Actions that support no resource-level permissions, so `Resource: "*"` is the only way to
grant them (IAM Service Authorization Reference: AWS X-Ray, CloudWatch Logs, AWS KMS, Amazon
Cognito user pools, AWS Lambda, Amazon SNS subscriptions)."""
TAG_ON_CREATE_ACTIONS = frozenset({"kms:TagResource"})
"""Tagging a resource inside its create call is authorised against `*` (AWS KMS: tagging a key
in CreateKey needs kms:TagResource not restricted to particular keys): allowed on `*` only under
an `aws:RequestTag/...` condition, which limits it to the tags the caller may set."""
_WILDCARD = re.compile(r"[*?]")


def _malformed(statement: Any) -> str | None:
    """Why a statement cannot be evaluated as IAM would, or None."""
    if not isinstance(statement, Mapping):
        return f"statement {statement!r} is not an object"
    sid = f"statement {statement.get('Sid', '')!r}"
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key not in statement:
            continue
        value = statement[key]
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            return f"{sid}: {key} must be a string or a list of strings, not {value!r}"
    for one, other in (("Action", "NotAction"), ("Resource", "NotResource")):
        if not (one in statement) ^ (other in statement):
            return f"{sid} needs exactly one of {one} or {other}"
    return None


def _strings(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _allow_statements(resource: ResourceView) -> Iterator[Mapping[str, Any] | str]:
    """The document's Allow statements, or a one-line reason for each malformed statement."""
    document = policy_document(resource.props.get("policy"))
    if document is None:  # unknown during preview: checked once the document is known
        return
    raw = document.get("Statement")
    for statement in raw if isinstance(raw, list) else [raw]:
        problem = _malformed(statement)
        if problem:
            yield problem
        elif statement.get("Effect") == "Allow":
            yield statement


@resource_rule(
    "IAM.21",
    "mandatory",
    "No IAM policy allows a wildcard action (`*`, `service:*` or any pattern such as "
    "`s3:PutBucket*`) or uses NotAction, and every statement is well formed (also CKV_AWS_63).",
    "List the exact actions (StorageBucket grant helpers produce them); an Allow with NotAction "
    "grants every other action of every service.",
    *POLICY_TYPES,
)
def _no_wildcard_action(resource: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    for statement in _allow_statements(resource):
        if isinstance(statement, str):
            yield statement
            continue
        if "NotAction" in statement:
            excluded = _strings(statement["NotAction"])
            yield f"statement {statement.get('Sid', '')!r} allows every action but {excluded}"
            continue
        wild = [a for a in _strings(statement["Action"]) if _WILDCARD.search(a)]
        if wild:
            yield f"allows wildcard actions {wild}"


@resource_rule(
    "CKV_AWS_355",
    "mandatory",
    "No IAM policy allows `*` resources or NotResource, except for actions that support no "
    "resource-level permissions (X-Ray's, log delivery's, Logs Insights query definitions', "
    "listing log groups, SNS subscriptions', kms:CreateKey, cognito-idp:CreateUserPool, Lambda's "
    "account reads) and tagging in a "
    "create call under an aws:RequestTag condition.",
    "Name the resource ARNs (a bucket prefix, a log group, a queue), or move the actions that "
    "have no resource-level permissions into their own statement.",
    *POLICY_TYPES,
)
def _no_star_resource(resource: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    for statement in _allow_statements(resource):
        if isinstance(statement, str):
            continue  # reported once, by IAM.21
        if "NotResource" in statement:
            excluded = _strings(statement["NotResource"])
            yield f"statement {statement.get('Sid', '')!r} allows every resource but {excluded}"
            continue
        if "*" not in _strings(statement["Resource"]):
            continue
        actions = _strings(statement.get("Action", statement.get("NotAction")))
        scoped = [a for a in actions if not _unscopable(a, statement)]
        if scoped or "NotAction" in statement:
            yield f"allows {scoped or actions} on every resource (*)"


def _unscopable(action: str, statement: Mapping[str, Any]) -> bool:
    if action in NO_RESOURCE_LEVEL_ACTIONS:
        return True
    conditions = statement.get("Condition")
    return (
        action in TAG_ON_CREATE_ACTIONS
        and isinstance(conditions, Mapping)
        and any(
            isinstance(keys, Mapping) and any(str(k).startswith("aws:RequestTag/") for k in keys)
            for keys in conditions.values()
        )
    )


LAMBDA_PRINCIPAL = "lambda.amazonaws.com"


@resource_rule(
    "UPL-ROLE-BOUNDARY",
    "mandatory",
    "Every role a Lambda function can assume carries a permissions boundary (bootstrap/'s "
    "uploads-permissions-boundary): whatever its policy says, it can do no more.",
    "Leave permissionsBoundaryArn empty (the program derives the bootstrap's policy from the "
    "account) or set it; PythonFunctionArgs.permissions_boundary for library users.",
    "aws:iam/role:Role",
)
def _function_roles_have_a_boundary(
    resource: ResourceView, _config: Mapping[str, str]
) -> Iterator[str]:
    trust = policy_document(resource.props.get("assumeRolePolicy"))
    if trust is None:
        return
    principals = [
        s.get("Principal", {}).get("Service")
        for s in statements(trust)
        if isinstance(s.get("Principal"), Mapping)
    ]
    services = [p for value in principals for p in (value if isinstance(value, list) else [value])]
    if LAMBDA_PRINCIPAL in services and not resource.props.get("permissionsBoundary"):
        yield "a role Lambda may assume has no permissions boundary"
