"""bootstrap/: the roles CI assumes. Trust exactly one OIDC subject each; the preview and drift
roles read and never write (checked against botocore's operations, and executed on moto with IAM
enforced); one deploy role per stack file, scoped to the program's names and its own state."""

from __future__ import annotations

import fnmatch
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from components.function import _LAMBDA_TRUST
from offline import ResourceGraph, run_stack
from offline.__main__ import main as offline_main
from offline.fake_cloud import FAKE_ACCOUNT_ID
from offline.project import stack_names
from tests.handlers.conftest import offline_aws_environment
from tests.handlers.iam_enforcement import ADMIN_POLICY, create_user, faithful_conditions

PROJECT_DIR = Path(__file__).resolve().parent.parent
BOOTSTRAP = PROJECT_DIR / "bootstrap"
REPOSITORY = "example-org/serverless-uploads"
STATE_BUCKET = "example-org-pulumi-state"
PROVIDER_ARN = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"
ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
READ_ONLY_ROLES = ("github-preview", "github-drift")

BOTOCORE = botocore.session.get_session()
SERVICE = {"servicequotas": "service-quotas"}
"""IAM prefixes whose botocore service name differs."""
RENAMED = {
    "s3:ListBucket": "ListObjectsV2",
    "s3:ListBucketVersions": "ListObjectVersions",
    "s3:DeleteObjectVersion": "DeleteObject",
    "s3:GetAccelerateConfiguration": "GetBucketAccelerateConfiguration",
    "s3:GetEncryptionConfiguration": "GetBucketEncryption",
    "s3:PutEncryptionConfiguration": "PutBucketEncryption",
    "s3:GetLifecycleConfiguration": "GetBucketLifecycleConfiguration",
    "s3:PutLifecycleConfiguration": "PutBucketLifecycleConfiguration",
    "s3:GetReplicationConfiguration": "GetBucketReplication",
}
"""IAM actions named differently from the API operation they authorise (Service Authorization
Reference)."""
PERMISSION_ONLY = {
    "iam:PassRole",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
}
"""IAM actions with no API operation of their own."""
READS = ("Get", "List", "Describe", "Head")
NON_MUTATING = {"kms:Decrypt"}
"""Not named like a read, yet changes nothing: decrypting the state's secrets."""


def operations(action: str) -> list[str]:
    """The botocore operations an IAM action (or pattern) authorises; fails on a name that
    authorises none, so a typo cannot pass as "read-only"."""
    prefix, name = action.split(":")
    if prefix == "apigateway":  # API Gateway's IAM actions are HTTP verbs
        assert name in {"GET", "POST", "PUT", "PATCH", "DELETE"}, action
        return [name]
    if action in PERMISSION_ONLY:
        return []
    model = BOTOCORE.get_service_model(SERVICE.get(prefix, prefix))
    matched = fnmatch.filter(model.operation_names, RENAMED.get(action, name))
    assert matched, f"{action} names no {prefix} operation botocore knows"
    return matched


def is_read(action: str, operation: str) -> bool:
    if action.startswith("apigateway:"):
        return operation == "GET"
    return operation.startswith(READS) or action in NON_MUTATING


@pytest.fixture(scope="module")
def graph() -> ResourceGraph:
    return run_stack("ci", BOOTSTRAP)


def documents(graph: ResourceGraph, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(trust policy, permissions) of the role `name`."""
    role = graph.one(ROLE, name)
    policy = graph.one(ROLE_POLICY, name)
    assert policy.inputs["role"] == role.outputs["name"]
    return json.loads(role.inputs["assumeRolePolicy"]), json.loads(policy.inputs["policy"])


def actions(policy: dict[str, Any]) -> list[str]:
    return [a for s in policy["Statement"] for a in s["Action"]]


def test_the_oidc_provider_is_githubs_for_sts():
    provider = run_stack("ci", BOOTSTRAP).one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_each_role_trusts_exactly_one_subject_of_this_repository(graph):
    subjects = {
        "github-preview": "pull_request",
        "github-drift": "environment:drift-check",
        **{f"github-deploy-{s}": f"environment:{s}" for s in stack_names(PROJECT_DIR)},
    }
    assert {r.name for r in graph.of_type(ROLE)} == set(subjects)
    provider = graph.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    for name, subject in subjects.items():
        trust, _ = documents(graph, name)
        assert trust == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider.outputs["arn"]},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                            "token.actions.githubusercontent.com:sub": (
                                f"repo:{REPOSITORY}:{subject}"
                            ),
                        }
                    },
                }
            ],
        }, name


def test_an_existing_provider_is_reused_not_created():
    graph = run_stack(
        "ci", BOOTSTRAP, overrides={"serverless-uploads-bootstrap:oidcProviderArn": PROVIDER_ARN}
    )
    assert not graph.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    trust, _ = documents(graph, "github-preview")
    assert trust["Statement"][0]["Principal"] == {"Federated": PROVIDER_ARN}


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
def test_read_only_roles_hold_no_mutating_action(graph, role):
    _, policy = documents(graph, role)
    for action in actions(policy):
        writes = [op for op in operations(action) if not is_read(action, op)]
        assert writes == [], f"{role}: {action} allows {writes}"


def test_the_read_only_check_can_fail():
    assert not is_read("s3:PutBucket*", operations("s3:PutBucket*")[0])
    assert not all(is_read("s3:*Bucket", op) for op in operations("s3:*Bucket"))
    with pytest.raises(AssertionError, match="names no s3 operation"):
        operations("s3:GetBuckett")


def test_deploy_roles_name_real_actions_and_no_wildcard_on_everything(graph):
    for stack in stack_names(PROJECT_DIR):
        _, policy = documents(graph, f"github-deploy-{stack}")
        for statement in policy["Statement"]:
            for action in statement["Action"]:
                operations(action)
                assert not action.endswith("*") or action.split(":")[1] not in ("", "*"), action
                assert not (action.startswith("iam:") and "*" in statement["Resource"]), action


CREATES = {
    "aws:s3/": "s3:CreateBucket",
    "aws:lambda/": "lambda:CreateFunction",
    "aws:iam/": "iam:CreateRole",
    "aws:sqs/": "sqs:CreateQueue",
    "aws:sns/": "sns:CreateTopic",
    "aws:cloudwatch/logGroup:": "logs:CreateLogGroup",
    "aws:cloudwatch/queryDefinition:": "logs:PutQueryDefinition",
    "aws:cloudwatch/metricAlarm:": "cloudwatch:PutMetricAlarm",
    "aws:cloudwatch/dashboard:": "cloudwatch:PutDashboard",
    "aws:kms/": "kms:CreateKey",
    "aws:apigatewayv2/": "apigateway:POST",
    "aws:cognito/": "cognito-idp:CreateUserPool",
}
"""Each kind of resource the program registers -> the IAM action creating it."""


@pytest.mark.parametrize("stack", stack_names(PROJECT_DIR))
def test_each_deploy_role_can_create_every_kind_of_resource_its_stack_has(
    graph, stack_graphs, stack
):
    _, policy = documents(graph, f"github-deploy-{stack}")
    for type_ in (t for t in stack_graphs(stack).types() if t.startswith("aws:")):
        [create] = [action for kind, action in CREATES.items() if type_.startswith(kind)] or [type_]
        assert create in actions(policy), (stack, type_)


def test_the_bootstrap_plan_has_no_policy_violation(capsys):
    assert offline_main(["plan", "ci", "--cwd", str(BOOTSTRAP), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["policy"]["violations"] == []


def test_deploy_roles_follow_the_stack_files(tmp_path):
    """A new Pulumi.<stack>.yaml gets its deploy role: the bootstrap reads the stack files."""
    project = tmp_path / "project"
    shutil.copytree(BOOTSTRAP, project / "bootstrap", ignore=shutil.ignore_patterns("__pycache__"))
    (project / "Pulumi.qa.yaml").write_text("config: {}\n", encoding="utf-8")
    graph = run_stack("ci", project / "bootstrap")
    assert {r.name for r in graph.of_type(ROLE)} == {
        "github-preview",
        "github-drift",
        "github-deploy-qa",
    }


# -- executed: moto with IAM enforced ----------------------------------------------------------

BUCKET = "uploads-bucket-bucket-0a1b2c3"
STATE_KEY = ".pulumi/stacks/serverless-uploads/prod.json"


def _s3(credentials: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def account(graph, monkeypatch) -> Iterator[dict[str, Any]]:
    """A moto account with a stack's bucket and the state bucket, and one IAM user per role
    holding exactly that role's policy; IAM enforced."""
    offline_aws_environment(monkeypatch, session_token=False)
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        admin = _s3(create_user(iam, "admin", [ADMIN_POLICY]))
        admin.create_bucket(Bucket=BUCKET)
        admin.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        admin.put_object(Bucket=BUCKET, Key="uploads/someone/photo.png", Body=b"image")
        admin.create_bucket(Bucket=STATE_BUCKET)
        admin.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=b"{}")
        users = {
            role: _s3(create_user(iam, role, [json.dumps(documents(graph, role)[1])]))
            for role in (*READ_ONLY_ROLES, "github-deploy-dev")
        }
        with enable_iam_authentication(), faithful_conditions():
            yield users


def _denied(call) -> bool:
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"] == "AccessDenied"
    return False


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
def test_read_only_roles_read_the_stack_and_its_state_and_are_denied_writes(account, role):
    s3 = account[role]
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert s3.get_object(Bucket=STATE_BUCKET, Key=STATE_KEY)["Body"].read() == b"{}"
    suspend = {"Status": "Suspended"}
    assert _denied(lambda: s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration=suspend))
    assert _denied(lambda: s3.delete_bucket(Bucket=BUCKET))
    assert _denied(lambda: s3.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=b"[]"))
    assert _denied(lambda: s3.get_object(Bucket=BUCKET, Key="uploads/someone/photo.png"))


def test_a_deploy_role_writes_its_own_state_and_not_another_stacks(account):
    s3 = account["github-deploy-dev"]
    dev_state = ".pulumi/stacks/serverless-uploads/dev.json"
    s3.put_object(Bucket=STATE_BUCKET, Key=dev_state, Body=b"{}")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    assert _denied(lambda: s3.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=b"[]"))
    assert _denied(lambda: s3.create_bucket(Bucket="someone-elses-bucket"))


# -- the permissions boundary: deploy roles cannot hand a function more than it -------------------

BOUNDARY_ARN = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:policy/uploads-permissions-boundary"
ROLES = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/uploads-*"


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def test_the_bootstrap_creates_and_exports_the_boundary_policy(graph):
    boundary = graph.one("aws:iam/policy:Policy", "permissions-boundary")
    assert boundary.inputs["name"] == "uploads-permissions-boundary"
    assert graph.outputs["permissionsBoundaryArn"] == boundary.outputs["arn"]
    allowed = statements(json.loads(boundary.inputs["policy"]))
    assert set(allowed) == {
        "WriteOwnLogs",
        "SendFailedEvents",
        "WriteTraces",
        "UseObjects",
        "ListObjects",
        "UseBucketKeys",
    }
    assert allowed["UseObjects"]["Resource"] == ["arn:aws:s3:::uploads-*/*"]
    assert allowed["UseBucketKeys"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    }
    assert not any(a.startswith("iam:") for a in actions(json.loads(boundary.inputs["policy"])))


@pytest.mark.parametrize("stack", stack_names(PROJECT_DIR))
def test_deploy_roles_create_and_grant_roles_only_within_the_boundary(graph, stack):
    _, policy = documents(graph, f"github-deploy-{stack}")
    by_sid = statements(policy)
    assert by_sid["WriteRolesWithinBoundary"] == {
        "Sid": "WriteRolesWithinBoundary",
        "Effect": "Allow",
        "Action": [
            "iam:CreateRole",
            "iam:DeleteRolePolicy",
            "iam:PutRolePermissionsBoundary",
            "iam:PutRolePolicy",
        ],
        "Resource": [ROLES],
        "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}},
    }
    assert by_sid["KeepTheBoundary"] == {
        "Sid": "KeepTheBoundary",
        "Effect": "Deny",
        "Action": ["iam:DeleteRolePermissionsBoundary"],
        "Resource": [ROLES],
    }
    assert by_sid["KeepTheBoundaryPolicy"]["Effect"] == "Deny"
    assert by_sid["KeepTheBoundaryPolicy"]["Resource"] == [BOUNDARY_ARN]
    assert by_sid["PassRolesToFunctions"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}
    }
    # No other statement allows an action that creates a role or changes what it may do.
    granting = {"CreateRole", "PutRolePolicy", "AttachRolePolicy", "PutRolePermissionsBoundary"}
    for sid, statement in by_sid.items():
        if sid != "WriteRolesWithinBoundary" and statement["Effect"] == "Allow":
            assert not granting & {a.removeprefix("iam:") for a in statement["Action"]}, sid
        if statement["Effect"] == "Allow":  # no managed policy, the boundary included, is editable
            assert not any(":policy/" in r for r in statement["Resource"]), sid


@pytest.fixture
def deployer(graph, monkeypatch) -> Iterator[tuple[Any, str]]:
    """(IAM client of the dev deploy role's policy, the boundary's ARN) in a moto account holding
    the bootstrap's boundary policy; IAM enforced."""
    offline_aws_environment(monkeypatch, session_token=False)
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        boundary = graph.one("aws:iam/policy:Policy", "permissions-boundary")
        arn = iam.create_policy(
            PolicyName=boundary.inputs["name"], PolicyDocument=boundary.inputs["policy"]
        )["Policy"]["Arn"]
        credentials = create_user(
            iam, "deploy", [json.dumps(documents(graph, "github-deploy-dev")[1])]
        )
        client = boto3.client(
            "iam",
            region_name="us-east-1",
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        )
        with enable_iam_authentication(), faithful_conditions():
            yield client, arn


def test_a_deploy_role_creates_a_role_only_with_the_boundary(deployer):
    iam, boundary = deployer
    assert boundary == BOUNDARY_ARN
    create = {"RoleName": "uploads-fn-role", "AssumeRolePolicyDocument": _LAMBDA_TRUST}
    assert _denied(lambda: iam.create_role(**create))
    other = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:policy/AdministratorAccess"
    assert _denied(lambda: iam.create_role(**create, PermissionsBoundary=other))
    assert _denied(
        lambda: iam.create_role(
            RoleName="not-ours",
            AssumeRolePolicyDocument=_LAMBDA_TRUST,
            PermissionsBoundary=boundary,
        )
    )
    role = iam.create_role(**create, PermissionsBoundary=boundary)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary


def test_a_deploy_role_cannot_lift_or_edit_the_boundary(deployer):
    iam, boundary = deployer
    create = {"RoleName": "uploads-fn-role", "AssumeRolePolicyDocument": _LAMBDA_TRUST}
    iam.create_role(**create, PermissionsBoundary=boundary)
    assert _denied(lambda: iam.delete_role_permissions_boundary(RoleName="uploads-fn-role"))
    assert _denied(lambda: iam.delete_policy(PolicyArn=boundary))
    assert _denied(
        lambda: iam.create_policy_version(
            PolicyArn=boundary, PolicyDocument=ADMIN_POLICY, SetAsDefault=True
        )
    )
