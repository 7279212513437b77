"""bootstrap/: the roles CI assumes. Trust exactly one OIDC subject each; the preview and drift
roles read and never write (checked against botocore's operations, and executed on moto with IAM
enforced); one deploy role per stack file, scoped to the program's names and its own state."""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pulumi.runtime.mocks
import pytest
import yaml
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from components.function import _LAMBDA_TRUST
from offline import ProgramError, ResourceGraph, run_stack
from offline.__main__ import main as offline_main
from offline.fake_cloud import FAKE_ACCOUNT_ID
from offline.project import stack_names
from tests.handlers.conftest import offline_aws_environment
from tests.handlers.iam_enforcement import ADMIN_POLICY, create_user, faithful_conditions

PROJECT_DIR = Path(__file__).resolve().parent.parent
BOOTSTRAP = PROJECT_DIR / "bootstrap"
REPOSITORY = "octo-org/serverless-uploads"
STATE_BUCKET = "example-org-serverless-uploads-state"
CONFIG = {"serverless-uploads-bootstrap:githubRepository": REPOSITORY}
"""The committed Pulumi.ci.yaml holds the example-org placeholder, which `pulumi up` refuses."""
PROVIDER_ARN = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"
ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
READ_ONLY_ROLES = ("github-preview", "github-drift")

BOTOCORE = botocore.session.get_session()
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
    "s3:GetBucketCORS": "GetBucketCors",
    "s3:PutBucketCORS": "PutBucketCors",
    "s3:GetBucketObjectLockConfiguration": "GetObjectLockConfiguration",
    "s3:GetBucketPublicAccessBlock": "GetPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock": "PutPublicAccessBlock",
    "s3:GetBucketNotification": "GetBucketNotificationConfiguration",
    "s3:PutBucketNotification": "PutBucketNotificationConfiguration",
}
"""IAM actions named differently from the API operation they authorise (Service Authorization
Reference)."""
S3_CONTROL = {"s3:ListTagsForResource", "s3:TagResource", "s3:UntagResource"}
"""S3 actions that authorise S3 Control's operations of the same names (Service Authorization
Reference, Amazon S3; the provider tags buckets through them: terraform-provider-aws
internal/service/s3/tags.go, see bootstrap/provider_calls.tsv)."""
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
    model = BOTOCORE.get_service_model("s3control" if action in S3_CONTROL else prefix)
    matched = fnmatch.filter(model.operation_names, RENAMED.get(action, name))
    assert matched, f"{action} names no {prefix} operation botocore knows"
    return matched


def is_read(action: str, operation: str) -> bool:
    if action.startswith("apigateway:"):
        return operation == "GET"
    return operation.startswith(READS) or action in NON_MUTATING


@pytest.fixture(scope="module")
def graph() -> ResourceGraph:
    return run_stack("ci", BOOTSTRAP, overrides=CONFIG)


def documents(graph: ResourceGraph, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(trust policy, permissions) of the role `name`."""
    role = graph.one(ROLE, name)
    policy = graph.one(ROLE_POLICY, name)
    assert policy.inputs["role"] == role.outputs["name"]
    return json.loads(role.inputs["assumeRolePolicy"]), json.loads(policy.inputs["policy"])


def actions(policy: dict[str, Any]) -> list[str]:
    return [a for s in policy["Statement"] for a in s["Action"]]


def test_the_oidc_provider_is_githubs_for_sts():
    provider = run_stack("ci", BOOTSTRAP, overrides=CONFIG).one(
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
    )
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


WORKFLOWS = f"{REPOSITORY}/.github/workflows"


def test_each_role_trusts_only_its_workflow_on_main_or_a_pull_requests_run(graph):
    """The subjects under the repository's customised template (repo, context,
    job_workflow_ref): deploy and drift roles trust a workflow file as it is on main."""
    on_main = f"job_workflow_ref:{WORKFLOWS}"
    subjects = {
        "github-preview": (
            "StringLike",
            f"repo:{REPOSITORY}:pull_request:{on_main}/ci.yml@refs/pull/*/merge",
        ),
        "github-drift": (
            "StringEquals",
            [
                f"repo:{REPOSITORY}:environment:drift-check:{on_main}/drift.yml@refs/heads/main",
                f"repo:{REPOSITORY}:environment:preview-prod:{on_main}/ci.yml@refs/heads/main",
            ],
        ),
        **{
            f"github-deploy-{s}": (
                "StringEquals",
                f"repo:{REPOSITORY}:environment:{s}:{on_main}/ci.yml@refs/heads/main",
            )
            for s in stack_names(PROJECT_DIR)
        },
    }
    assert {r.name for r in graph.of_type(ROLE)} == set(subjects)
    provider = graph.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    for name, (operator, subject) in subjects.items():
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
                            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
                        },
                        operator: {"token.actions.githubusercontent.com:sub": subject},
                    },
                }
            ],
        }, name


def test_the_placeholder_repository_is_refused_by_a_real_up_only(monkeypatch):
    """`make plan` shows what the committed example would create; `pulumi up` refuses it."""
    assert run_stack("ci", BOOTSTRAP).of_type(ROLE)
    # The engine's monitor is no longer "a mock" as the bootstrap tests it: a real engine's.
    real = type("OtherMonitor", (pulumi.runtime.mocks.MockMonitor,), {})
    monkeypatch.setattr("pulumi.runtime.mocks.MockMonitor", real)
    with pytest.raises(ProgramError, match="githubRepository is the placeholder"):
        run_stack("ci", BOOTSTRAP)
    assert run_stack("ci", BOOTSTRAP, overrides=CONFIG).of_type(ROLE)


def test_an_existing_provider_is_reused_not_created():
    graph = run_stack(
        "ci",
        BOOTSTRAP,
        overrides={**CONFIG, "serverless-uploads-bootstrap:oidcProviderArn": PROVIDER_ARN},
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
                allows_on_everything = (
                    statement["Effect"] == "Allow" and "*" in statement["Resource"]
                )
                assert not (action.startswith("iam:") and allows_on_everything), action


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


def test_the_bootstrap_plan_has_no_policy_violation(capsys, tmp_path):
    """The plan of a bootstrap whose committed config names a real repository."""
    project = tmp_path / "project"
    shutil.copytree(BOOTSTRAP, project / "bootstrap", ignore=shutil.ignore_patterns("__pycache__"))
    for stack in stack_names(PROJECT_DIR):
        shutil.copy(PROJECT_DIR / f"Pulumi.{stack}.yaml", project)
    committed = project / "bootstrap" / "Pulumi.ci.yaml"
    committed.write_text(
        committed.read_text(encoding="utf-8").replace("example-org/", "octo-org/"),
        encoding="utf-8",
    )
    assert offline_main(["plan", "ci", "--cwd", str(project / "bootstrap"), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["policy"]["violations"] == []


def test_deploy_roles_follow_the_stack_files(tmp_path):
    """A new Pulumi.<stack>.yaml gets its deploy role: the bootstrap reads the stack files."""
    project = tmp_path / "project"
    shutil.copytree(BOOTSTRAP, project / "bootstrap", ignore=shutil.ignore_patterns("__pycache__"))
    (project / "Pulumi.qa.yaml").write_text("config: {}\n", encoding="utf-8")
    graph = run_stack("ci", project / "bootstrap", overrides=CONFIG)
    assert {r.name for r in graph.of_type(ROLE)} == {
        "github-preview",
        "github-drift",
        "github-deploy-qa",
    }


# -- executed: moto with IAM enforced ----------------------------------------------------------

BUCKET = "uploads-bucket-bucket-0a1b2c3"


def state_key(stack: str) -> str:
    """Where the CLI keeps `stack`'s state under its backend URL `s3://<bucket>/<stack>` (the DIY
    backend prefixes every key: pulumi/pulumi pkg/backend/diy/backend.go:287-296)."""
    return f"{stack}/.pulumi/stacks/serverless-uploads/{stack}.json"


def _client(service: str, credentials: dict[str, str]) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    )


def _with_keys(policy: dict[str, Any], keys: dict[str, str]) -> str:
    """The role's policy with the offline key ARNs replaced by moto's keys of the same stack."""
    text = json.dumps(policy)
    for offline_arn, moto_arn in keys.items():
        text = text.replace(offline_arn, moto_arn)
    return text


@pytest.fixture
def account(graph, monkeypatch) -> Iterator[dict[str, Any]]:
    """A moto account with a stack's bucket, the state bucket holding every stack's state and a
    secret encrypted with each stack's key, and one IAM user per role holding exactly that
    role's policy; IAM enforced. Yields {role: {"s3": client, "kms": client}, "secrets": ...}."""
    offline_aws_environment(monkeypatch, session_token=False)
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        admin = create_user(iam, "admin", [ADMIN_POLICY])
        s3, kms = _client("s3", admin), _client("kms", admin)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=BUCKET, Key="uploads/someone/photo.png", Body=b"image")
        s3.create_bucket(Bucket=STATE_BUCKET)
        keys, secrets = {}, {}
        for stack, offline_arn in graph.outputs["secretsKeyArns"].items():
            s3.put_object(Bucket=STATE_BUCKET, Key=state_key(stack), Body=b"{}")
            moto_arn = kms.create_key()["KeyMetadata"]["Arn"]
            keys[offline_arn] = moto_arn
            secrets[stack] = kms.encrypt(KeyId=moto_arn, Plaintext=b"s3cr3t")["CiphertextBlob"]
        users: dict[str, Any] = {"secrets": secrets}
        for role in (*READ_ONLY_ROLES, "github-deploy-dev"):
            credentials = create_user(iam, role, [_with_keys(documents(graph, role)[1], keys)])
            users[role] = {"s3": _client("s3", credentials), "kms": _client("kms", credentials)}
        with enable_iam_authentication(), faithful_conditions():
            yield users


def _denied(call) -> bool:
    try:
        call()
    except ClientError as error:
        # moto answers a JSON protocol's denial (KMS) in XML, which botocore reads as code 403.
        found = error.response["Error"]
        return found["Code"] == "AccessDenied" or (
            found["Code"] == "403" and "<Code>AccessDenied</Code>" in found["Message"]
        )
    return False


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
def test_read_only_roles_read_the_stack_and_its_state_and_are_denied_writes(account, role):
    s3 = account[role]["s3"]
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert s3.get_object(Bucket=STATE_BUCKET, Key=state_key("dev"))["Body"].read() == b"{}"
    suspend = {"Status": "Suspended"}
    assert _denied(lambda: s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration=suspend))
    assert _denied(lambda: s3.delete_bucket(Bucket=BUCKET))
    assert _denied(lambda: s3.put_object(Bucket=STATE_BUCKET, Key=state_key("dev"), Body=b"[]"))
    assert _denied(lambda: s3.get_object(Bucket=BUCKET, Key="uploads/someone/photo.png"))


def test_a_pull_requests_role_can_neither_read_prods_state_nor_decrypt_prods_secrets(account):
    preview, secrets = account["github-preview"], account["secrets"]
    assert preview["kms"].decrypt(CiphertextBlob=secrets["dev"])["Plaintext"] == b"s3cr3t"
    assert _denied(lambda: preview["s3"].get_object(Bucket=STATE_BUCKET, Key=state_key("prod")))
    assert _denied(lambda: preview["s3"].list_objects_v2(Bucket=STATE_BUCKET, Prefix="prod/"))
    assert _denied(lambda: preview["s3"].list_objects_v2(Bucket=STATE_BUCKET))
    assert _denied(lambda: preview["kms"].decrypt(CiphertextBlob=secrets["prod"]))
    # The drift role (main only) reads prod: the pull request's denial is the policy, not moto.
    drift = account["github-drift"]
    assert drift["kms"].decrypt(CiphertextBlob=secrets["prod"])["Plaintext"] == b"s3cr3t"
    assert drift["s3"].get_object(Bucket=STATE_BUCKET, Key=state_key("prod"))


def test_a_deploy_role_writes_its_own_state_and_secrets_and_not_another_stacks(account):
    deploy, secrets = account["github-deploy-dev"], account["secrets"]
    s3 = deploy["s3"]
    s3.put_object(Bucket=STATE_BUCKET, Key=state_key("dev"), Body=b"{}")
    s3.put_object(Bucket=STATE_BUCKET, Key="dev/.pulumi/meta.yaml", Body=b"version: 1\n")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    assert deploy["kms"].decrypt(CiphertextBlob=secrets["dev"])["Plaintext"] == b"s3cr3t"
    assert _denied(lambda: s3.put_object(Bucket=STATE_BUCKET, Key=state_key("prod"), Body=b"[]"))
    assert _denied(lambda: s3.get_object(Bucket=STATE_BUCKET, Key=state_key("prod")))
    assert _denied(lambda: deploy["kms"].decrypt(CiphertextBlob=secrets["prod"]))
    assert _denied(lambda: s3.create_bucket(Bucket="someone-elses-bucket"))


# -- the permissions boundary: deploy roles cannot hand a function more than it -------------------

BOUNDARY_ARN = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:policy/uploads-permissions-boundary"


def roles(stack: str) -> str:
    return f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/uploads/{stack}/*"


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
        "WriteTelemetry",
        "UseObjects",
        "ListObjects",
        "UseBucketKeys",
    }
    assert allowed["UseObjects"]["Resource"] == ["arn:aws:s3:::uploads-*/*"]
    assert allowed["UseBucketKeys"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    }
    assert not any(a.startswith("iam:") for a in actions(json.loads(boundary.inputs["policy"])))


def test_a_boundary_role_s_credentials_work_only_from_the_program_s_functions(graph):
    """Whatever trust a role is given, the statements AWS tags with the calling function need a
    function of the program: credentials used elsewhere get nothing from them (the Lambda
    Developer Guide's "Using source function ARN" lists which calls carry the key)."""
    allowed = statements(json.loads(graph.one("aws:iam/policy:Policy").inputs["policy"]))
    function = "arn:aws:lambda:us-east-1:123456789012:function:uploads-*"
    for sid in ("WriteOwnLogs", "WriteTraces", "UseObjects", "ListObjects"):
        assert allowed[sid]["Condition"]["ArnLike"] == {"lambda:SourceFunctionArn": function}, sid
    for sid in ("UseObjects", "ListObjects"):
        assert allowed[sid]["Condition"]["StringEquals"] == {
            "aws:ResourceAccount": FAKE_ACCOUNT_ID
        }, sid


@pytest.mark.parametrize("stack", stack_names(PROJECT_DIR))
def test_deploy_roles_create_and_grant_only_their_stacks_roles_within_the_boundary(graph, stack):
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
        "Resource": [roles(stack)],
        "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}},
    }
    assert by_sid["KeepTheBoundary"] == {
        "Sid": "KeepTheBoundary",
        "Effect": "Deny",
        "Action": ["iam:DeleteRolePermissionsBoundary"],
        "Resource": [f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/*"],
    }
    assert by_sid["KeepTheBoundaryPolicy"]["Effect"] == "Deny"
    assert by_sid["KeepTheBoundaryPolicy"]["Resource"] == [BOUNDARY_ARN]
    assert by_sid["PassRolesToFunctions"]["Resource"] == [roles(stack)]
    assert by_sid["PassRolesToFunctions"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}
    }
    # No statement changes a trust policy, and no other one creates or grants a role.
    granting = {"CreateRole", "PutRolePolicy", "AttachRolePolicy", "PutRolePermissionsBoundary"}
    assert "iam:UpdateAssumeRolePolicy" not in actions(policy)
    for sid, statement in by_sid.items():
        if sid != "WriteRolesWithinBoundary" and statement["Effect"] == "Allow":
            assert not granting & {a.removeprefix("iam:") for a in statement["Action"]}, sid
        if sid == "ReadBoundary":  # the preflight reads the boundary, nothing more
            assert statement["Action"] == ["iam:GetPolicy", "iam:GetPolicyVersion"]
            assert statement["Resource"] == [BOUNDARY_ARN]
            continue
        if statement["Effect"] == "Allow":  # no managed policy, the boundary included, is editable
            assert not any(":policy/" in r for r in statement["Resource"]), sid
        if statement["Effect"] == "Allow" and any(
            a.startswith("iam:") for a in statement["Action"]
        ):
            assert statement["Resource"] == [roles(stack)], sid


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
        with enable_iam_authentication(), faithful_conditions():
            yield _client("iam", credentials), arn


DEV_ROLE = {
    "RoleName": "uploads-fn-role",
    "Path": "/uploads/dev/",
    "AssumeRolePolicyDocument": _LAMBDA_TRUST,
}


def test_a_deploy_role_creates_a_role_only_on_its_path_and_with_the_boundary(deployer):
    iam, boundary = deployer
    assert boundary == BOUNDARY_ARN
    assert _denied(lambda: iam.create_role(**DEV_ROLE))
    other = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:policy/AdministratorAccess"
    assert _denied(lambda: iam.create_role(**DEV_ROLE, PermissionsBoundary=other))
    for path in ("/", "/uploads/prod/"):  # another team's or another stack's roles
        elsewhere = {**DEV_ROLE, "Path": path}
        assert _denied(lambda e=elsewhere: iam.create_role(**e, PermissionsBoundary=boundary))
    role = iam.create_role(**DEV_ROLE, PermissionsBoundary=boundary)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert _denied(
        lambda: iam.update_assume_role_policy(
            RoleName="uploads-fn-role", PolicyDocument=ADMIN_POLICY
        )
    )


def test_a_deploy_role_cannot_lift_or_edit_the_boundary(deployer):
    iam, boundary = deployer
    iam.create_role(**DEV_ROLE, PermissionsBoundary=boundary)
    assert _denied(lambda: iam.delete_role_permissions_boundary(RoleName="uploads-fn-role"))
    assert _denied(lambda: iam.delete_policy(PolicyArn=boundary))
    assert _denied(
        lambda: iam.create_policy_version(
            PolicyArn=boundary, PolicyDocument=ADMIN_POLICY, SetAsDefault=True
        )
    )


# -- a fresh clone: the bootstrap installs its own dependencies, its config is committed ----------


def test_the_bootstrap_has_its_own_virtualenv_from_its_own_requirements():
    """The CLI creates a missing `virtualenv` and pip-installs `requirements.txt` of the project
    folder into it (pulumi/pulumi sdk/python/toolchain/pip.go, EnsureVenv and
    InstallDependencies): so the virtualenv must be the bootstrap's and the file must list every
    distribution the bootstrap imports, pinned."""
    project = yaml.safe_load((BOOTSTRAP / "Pulumi.yaml").read_text(encoding="utf-8"))
    venv = (BOOTSTRAP / project["runtime"]["options"]["virtualenv"]).resolve()
    assert venv.parent == BOOTSTRAP.resolve()
    pins = {}
    for line in (BOOTSTRAP / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = version
    local = {p.stem for p in BOOTSTRAP.glob("*.py")}
    imported = set()
    for source in BOOTSTRAP.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "level", 0) == 0:
                names = (
                    [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                )
                imported |= {n.split(".")[0] for n in names}
    third_party = imported - local - set(sys.stdlib_module_names)
    distributions = {module.replace("_", "-") for module in third_party}
    assert distributions == set(pins), (distributions, pins)
    for name, version in pins.items():
        assert importlib.metadata.version(name) == version, name


def test_the_committed_bootstrap_config_is_complete_and_holds_no_secret():
    project = yaml.safe_load((BOOTSTRAP / "Pulumi.yaml").read_text(encoding="utf-8"))
    committed = yaml.safe_load((BOOTSTRAP / "Pulumi.ci.yaml").read_text(encoding="utf-8"))
    values = committed["config"]
    required = {k for k, v in project["config"].items() if "default" not in v}
    assert {f"serverless-uploads-bootstrap:{k}" for k in required} <= set(values)
    assert not [k for k, v in values.items() if isinstance(v, dict) and "secure" in v]
    docs = (PROJECT_DIR / "docs" / "deploying.md").read_text(encoding="utf-8")
    assert "Edit `bootstrap/Pulumi.ci.yaml`" in docs
    assert "Commit it" in docs


# -- the GitHub side, the state bucket and the secrets keys, as code ---------------------------

GITHUB = "github:index/"


def test_the_oidc_subject_template_carries_the_workflow_and_its_ref(graph):
    template = graph.one(
        f"{GITHUB}actionsRepositoryOidcSubjectClaimCustomizationTemplate:"
        "ActionsRepositoryOidcSubjectClaimCustomizationTemplate"
    )
    assert template.inputs["repository"] == "serverless-uploads"
    assert template.inputs["useDefault"] is False
    assert template.inputs["includeClaimKeys"] == ["repo", "context", "job_workflow_ref"]


def _environments(graph) -> dict[str, Any]:
    return {
        r.inputs["environment"]: r
        for r in graph.of_type(f"{GITHUB}repositoryEnvironment:RepositoryEnvironment")
    }


def test_every_environment_deploys_from_main_only_and_prod_waits_for_a_reviewer(graph):
    environments = _environments(graph)
    assert set(environments) == {*stack_names(PROJECT_DIR), "drift-check", "preview-prod"}
    policies = {
        r.inputs["environment"]: r.inputs["branchPattern"]
        for r in graph.of_type(
            f"{GITHUB}repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
        )
    }
    assert policies == dict.fromkeys(environments, "main")
    for name, environment in environments.items():
        assert environment.inputs["deploymentBranchPolicy"] == {
            "customBranchPolicies": True,
            "protectedBranches": False,
        }, name
        assert environment.inputs["canAdminsBypass"] is False, name
        reviewed = environment.inputs.get("reviewers")
        if name == "prod":
            assert reviewed == [{"users": [1000001], "teams": []}]
            assert environment.inputs["preventSelfReview"] is True
        else:
            assert not reviewed, name


def test_the_variables_the_workflows_read_are_set_by_the_bootstrap(graph):
    repository = {
        r.inputs["variableName"]: r.inputs["value"]
        for r in graph.of_type(f"{GITHUB}actionsVariable:ActionsVariable")
    }
    assert repository == {
        "AWS_REGION": "us-east-1",
        "PULUMI_STATE_BUCKET": STATE_BUCKET,
        "AWS_PREVIEW_ROLE_ARN": graph.outputs["previewRoleArn"],
        "PULUMI_PREVIEW_STACKS": json.dumps(["dev", "staging"]),
    }
    per_environment = {
        (r.inputs["environment"], r.inputs["variableName"]): r.inputs["value"]
        for r in graph.of_type(f"{GITHUB}actionsEnvironmentVariable:ActionsEnvironmentVariable")
    }
    expected = {
        **{
            (stack, "AWS_DEPLOY_ROLE_ARN"): arn
            for stack, arn in graph.outputs["deployRoleArns"].items()
        },
        ("drift-check", "AWS_DRIFT_ROLE_ARN"): graph.outputs["driftRoleArn"],
        ("preview-prod", "AWS_DRIFT_ROLE_ARN"): graph.outputs["driftRoleArn"],
    }
    assert per_environment == expected


def test_a_protected_stack_without_reviewers_is_refused():
    with pytest.raises(ProgramError, match=r"protected stacks \['prod'\] need reviewers"):
        run_stack(
            "ci", BOOTSTRAP, overrides={**CONFIG, "serverless-uploads-bootstrap:reviewers": "[]"}
        )


def test_the_state_bucket_and_one_rotated_key_per_stack_outlive_the_bootstrap(graph):
    bucket = graph.one("aws:s3/bucket:Bucket", "state")
    assert bucket.inputs["bucket"] == STATE_BUCKET
    assert bucket.retain_on_delete
    assert graph.one("aws:s3/bucketVersioning:BucketVersioning").inputs[
        "versioningConfiguration"
    ] == {"status": "Enabled"}
    block = graph.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    aliases = {a.inputs["name"]: a for a in graph.of_type("aws:kms/alias:Alias")}
    assert set(aliases) == {f"alias/uploads-secrets-{s}" for s in stack_names(PROJECT_DIR)}
    for stack in stack_names(PROJECT_DIR):
        key = graph.one("aws:kms/key:Key", f"secrets-{stack}")
        assert key.inputs["enableKeyRotation"] is True
        assert key.retain_on_delete
        assert (
            aliases[f"alias/uploads-secrets-{stack}"].inputs["targetKeyId"] == key.outputs["keyId"]
        )
        assert graph.outputs["secretsKeyArns"][stack] == key.outputs["arn"]
