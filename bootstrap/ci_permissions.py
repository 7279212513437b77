"""The IAM documents of the roles CI assumes: who may assume each (trust) and what it may do.

Scoped by name where AWS allows it: the program names every bucket, function, role, queue and log
group after its component (`uploads-...`); user pools, KMS keys and HTTP APIs carry generated ids
instead, so their write statements are scoped by the `stack` tag every resource gets
(`aws:defaultTags`) where the service supports tag conditions. The Pulumi state is scoped to the
stack's own objects. Environments that share an account share the `uploads-` names: put `prod` in
its own account for a hard boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GITHUB_ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
PROJECT = "serverless-uploads"
PREFIX = "uploads-"
"""Physical names of the program's resources start with its component's name."""
QUOTA = "lambda/L-B99A9384"
"""Lambda's concurrent executions quota, which the program's preflight reads."""
PULL_REQUEST = "pull_request"
"""The OIDC subject of a pull request's workflow run (after `repo:<owner>/<repo>:`)."""
DRIFT_ENVIRONMENT = "drift-check"
BOUNDARY = f"{PREFIX}permissions-boundary"
"""The managed policy capping every role the program creates (its permissions boundary)."""


@dataclass(frozen=True)
class Scope:
    account: str
    region: str
    state_bucket: str
    secrets_key_arn: str

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"

    @property
    def boundary_arn(self) -> str:
        return self.arn("iam", f"policy/{BOUNDARY}", region=False)


def trust_policy(provider_arn: str, repository: str, subject: str) -> dict[str, Any]:
    """Only GitHub's tokens for this repository with exactly this subject may assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_ISSUER}:aud": AUDIENCE,
                        f"{GITHUB_ISSUER}:sub": f"repo:{repository}:{subject}",
                    }
                },
            }
        ],
    }


def _allow(sid: str, actions: list[str], resources: list[str], **condition: Any) -> dict:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _deny(sid: str, actions: list[str], resources: list[str]) -> dict:
    return {**_allow(sid, actions, resources), "Effect": "Deny"}


def _stack_tag(stack: str, key: str = "aws:ResourceTag/stack") -> dict[str, Any]:
    return {"StringEquals": {key: stack}}


def _named(scope: Scope) -> dict[str, list[str]]:
    """The program's resources that carry their name in their ARN, per service."""
    return {
        "s3": [f"arn:aws:s3:::{PREFIX}*"],
        "lambda": [scope.arn("lambda", f"function:{PREFIX}*")],
        "iam": [scope.arn("iam", f"role/{PREFIX}*", region=False)],
        "sqs": [scope.arn("sqs", f"{PREFIX}*")],
        "logs": [
            scope.arn("logs", f"log-group:{PREFIX}*"),
            scope.arn("logs", f"log-group:/aws/vendedlogs/apigateway/{PREFIX}*"),
        ],
        "apigateway": [
            f"arn:aws:apigateway:{scope.region}::/apis",
            f"arn:aws:apigateway:{scope.region}::/apis/*",
            f"arn:aws:apigateway:{scope.region}::/tags/*",
        ],
        "cognito-idp": [scope.arn("cognito-idp", "userpool/*")],
        "kms": [scope.arn("kms", "key/*")],
        "sns": [scope.arn("sns", f"{PREFIX}*")],
        "cloudwatch": [
            scope.arn("cloudwatch", f"alarm:{PREFIX}*"),
            scope.arn("cloudwatch", f"dashboard/{PREFIX}*", region=False),
        ],
    }


def read_only_policy(scope: Scope) -> dict[str, Any]:
    """What `pulumi preview --refresh` reads: the program's resources, the state, its secrets,
    the concurrency quota. Nothing that creates, changes or deletes; no object contents."""
    named = _named(scope)
    statements = [
        _allow(
            "ReadBuckets",
            [
                "s3:GetBucket*",
                "s3:GetAccelerateConfiguration",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:GetReplicationConfiguration",
                "s3:ListBucket",
            ],
            named["s3"],
        ),
        _allow(
            "ReadFunctions",
            [
                "lambda:GetFunction*",
                "lambda:GetPolicy",
                "lambda:ListVersionsByFunction",
                "lambda:ListTags",
            ],
            named["lambda"],
        ),
        _allow(
            "ReadRoles",
            [
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListRoleTags",
            ],
            named["iam"],
        ),
        _allow(
            "ReadQueues",
            ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"],
            named["sqs"],
        ),
        _allow(
            "ReadLogGroups",
            ["logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:ListTagsLogGroup"],
            [scope.arn("logs", "log-group:*")],
        ),
        _allow("ReadApis", ["apigateway:GET"], named["apigateway"]),
        _allow(
            "ReadUserPools",
            [
                "cognito-idp:DescribeUserPool",
                "cognito-idp:DescribeUserPoolClient",
                "cognito-idp:GetUserPoolMfaConfig",
                "cognito-idp:ListTagsForResource",
            ],
            named["cognito-idp"],
        ),
        _allow(
            "ReadKeys",
            [
                "kms:DescribeKey",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
            ],
            named["kms"],
        ),
        _allow(
            "ReadAlarms",
            [
                "cloudwatch:DescribeAlarms",
                "cloudwatch:GetDashboard",
                "cloudwatch:ListTagsForResource",
            ],
            named["cloudwatch"],
        ),
        _allow("ReadTopics", ["sns:GetTopicAttributes", "sns:ListTagsForResource"], named["sns"]),
        # Logs Insights query definitions have no resource-level permissions.
        _allow("ReadQueries", ["logs:DescribeQueryDefinitions"], ["*"]),
        _allow("ReadQuota", ["servicequotas:GetServiceQuota"], [scope.arn("servicequotas", QUOTA)]),
        _allow("ReadState", ["s3:GetObject"], [f"arn:aws:s3:::{scope.state_bucket}/.pulumi/*"]),
        _allow("ListState", ["s3:ListBucket"], [f"arn:aws:s3:::{scope.state_bucket}"]),
        _allow("DecryptState", ["kms:Decrypt"], [scope.secrets_key_arn]),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def boundary_policy(scope: Scope) -> dict[str, Any]:
    """The permissions boundary of the program's function roles: the union of what they are
    granted (their own logs and dead-letter queue, X-Ray, objects of the program's buckets and
    those buckets' keys through S3). A role the deploy roles create can never do more."""
    named = _named(scope)
    statements = [
        _allow(
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [scope.arn("logs", f"log-group:{PREFIX}*:*")],
        ),
        _allow("SendFailedEvents", ["sqs:SendMessage"], named["sqs"]),
        # X-Ray's write actions support no resource-level permissions.
        _allow("WriteTraces", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], ["*"]),
        _allow(
            "UseObjects",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            [f"arn:aws:s3:::{PREFIX}*/*"],
        ),
        _allow("ListObjects", ["s3:ListBucket"], named["s3"]),
        # A bucket key's ARN is generated (or given): only through S3, for the objects above.
        _allow(
            "UseBucketKeys",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            named["kms"],
            StringEquals={"kms:ViaService": f"s3.{scope.region}.amazonaws.com"},
        ),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def deploy_policy(scope: Scope, stack: str) -> dict[str, Any]:
    """`pulumi up` of one stack: the reads above, the writes this program's resources need, and
    the stack's own state objects."""
    named = _named(scope)
    state = f"arn:aws:s3:::{scope.state_bucket}/.pulumi"
    writes = [
        _allow(
            "WriteBuckets",
            [
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:PutBucket*",
                "s3:DeleteBucketPolicy",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
                "s3:ListBucketVersions",
            ],
            named["s3"],
        ),
        # forceDestroy (dev) empties a bucket before deleting it.
        _allow(
            "EmptyBuckets",
            ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            [f"arn:aws:s3:::{PREFIX}*/*"],
        ),
        _allow(
            "WriteFunctions",
            [
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                "lambda:AddPermission",
                "lambda:RemovePermission",
                "lambda:PutFunctionEventInvokeConfig",
                "lambda:UpdateFunctionEventInvokeConfig",
                "lambda:DeleteFunctionEventInvokeConfig",
                "lambda:TagResource",
                "lambda:UntagResource",
            ],
            named["lambda"],
        ),
        # Roles the deploy role creates or grants to carry the boundary (the actions that support
        # the iam:PermissionsBoundary key): it cannot hand a function more than the boundary.
        _allow(
            "WriteRolesWithinBoundary",
            [
                "iam:CreateRole",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:PutRolePermissionsBoundary",
            ],
            named["iam"],
            StringEquals={"iam:PermissionsBoundary": scope.boundary_arn},
        ),
        _allow(
            "WriteRoles",
            [
                "iam:DeleteRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateRole",
                "iam:UpdateAssumeRolePolicy",
            ],
            named["iam"],
        ),
        _deny("KeepTheBoundary", ["iam:DeleteRolePermissionsBoundary"], named["iam"]),
        _deny(
            "KeepTheBoundaryPolicy",
            [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            [scope.boundary_arn],
        ),
        _allow(
            "PassRolesToFunctions",
            ["iam:PassRole"],
            named["iam"],
            StringEquals={"iam:PassedToService": "lambda.amazonaws.com"},
        ),
        _allow(
            "WriteQueues",
            [
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue",
            ],
            named["sqs"],
        ),
        _allow(
            "WriteLogGroups",
            [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:AssociateKmsKey",
                "logs:DisassociateKmsKey",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:TagLogGroup",
                "logs:UntagLogGroup",
            ],
            named["logs"],
        ),
        # HTTP API access logs: log delivery has no resource-level permissions.
        _allow(
            "DeliverApiLogs",
            [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
            ],
            ["*"],
        ),
        _allow(
            "WriteApis",
            ["apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"],
            named["apigateway"],
        ),
        _allow(
            "CreateUserPools",
            ["cognito-idp:CreateUserPool"],
            ["*"],
            **_stack_tag(stack, "aws:RequestTag/stack"),
        ),
        _allow(
            "WriteUserPools",
            [
                "cognito-idp:DeleteUserPool",
                "cognito-idp:UpdateUserPool",
                "cognito-idp:CreateUserPoolClient",
                "cognito-idp:UpdateUserPoolClient",
                "cognito-idp:DeleteUserPoolClient",
                "cognito-idp:SetUserPoolMfaConfig",
                "cognito-idp:TagResource",
                "cognito-idp:UntagResource",
            ],
            named["cognito-idp"],
            **_stack_tag(stack),
        ),
        _allow(
            "WriteAlarms",
            [
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:PutDashboard",
                "cloudwatch:DeleteDashboards",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            named["cloudwatch"],
        ),
        _allow(
            "WriteTopics",
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
            ],
            named["sns"],
        ),
        _allow("WriteQueries", ["logs:PutQueryDefinition", "logs:DeleteQueryDefinition"], ["*"]),
        _allow("CreateKeys", ["kms:CreateKey"], ["*"], **_stack_tag(stack, "aws:RequestTag/stack")),
        _allow(
            "WriteKeys",
            [
                "kms:PutKeyPolicy",
                "kms:EnableKeyRotation",
                "kms:DisableKeyRotation",
                "kms:ScheduleKeyDeletion",
                "kms:UpdateKeyDescription",
                "kms:TagResource",
                "kms:UntagResource",
            ],
            named["kms"],
            **_stack_tag(stack),
        ),
        _allow(
            "WriteOwnState",
            ["s3:PutObject", "s3:DeleteObject"],
            [
                f"{state}/stacks/{PROJECT}/{stack}.json*",
                f"{state}/history/{PROJECT}/{stack}/*",
                f"{state}/backups/{PROJECT}/{stack}/*",
                f"{state}/locks/*/{PROJECT}/{stack}/*",
            ],
        ),
        _allow("EncryptState", ["kms:Encrypt", "kms:GenerateDataKey"], [scope.secrets_key_arn]),
    ]
    return {"Version": "2012-10-17", "Statement": read_only_policy(scope)["Statement"] + writes}
