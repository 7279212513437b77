"""The IAM documents of the roles CI assumes: who may assume each (trust) and what it may do.

Every action is one the Terraform AWS provider (which pulumi-aws bridges) calls for a resource
the program creates (bootstrap/provider_calls.tsv names the provider file and function of each),
spelled out: no action wildcard. Scoped by name where AWS allows it: the program names every
bucket, function, queue, topic, alarm and log group after its component (`uploads-...`); its
roles live under the IAM path `/uploads/<stack>/`, so a stack's deploy role reaches only its own
stack's roles. Every write whose resource type supports `aws:ResourceTag` is scoped by the
`stack` tag every resource gets (`aws:defaultTags`), and every create call by
`aws:RequestTag/stack`: functions, queues, topics, log groups, alarms, HTTP APIs, user pools and
KMS keys. The Pulumi state and secrets are per stack: one prefix of the state bucket
(`s3://<bucket>/<stack>`) and one KMS key (`alias/uploads-secrets-<stack>`) each. Stacks that
share an account still share the `uploads-` buckets (S3 evaluates bucket tags only with ABAC
enabled on the bucket), dashboards, query definitions and log delivery: put `prod` in its own
account for a hard boundary (docs/security.md). The preview role (any pull request) reads
functions and user pools only by the `stack` tag of the stacks it previews (OWN_ONLY_READS): a
function's configuration holds its environment variables and a link to its code, a user pool
client its secret if it has one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GITHUB_ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
PROJECT = "serverless-uploads"
PREFIX = "uploads-"
"""Physical names of the program's resources start with its component's name."""
ROLE_PATH = "/uploads/{stack}/"
"""IAM path of the roles the program creates for a stack (PythonFunctionArgs.role_path)."""
CI_ROLE_PATH = "/uploads-ci/"
"""IAM path of the roles CI assumes (this bootstrap's)."""
SECRETS_ALIAS = "alias/uploads-secrets-{stack}"
"""Alias of a stack's secrets key (its PULUMI_SECRETS_PROVIDER awskms:// URL)."""
BOUNDARY = f"{PREFIX}permissions-boundary"
"""The managed policy capping every role the program creates (its permissions boundary)."""
DRIFT_ENVIRONMENT = "drift-check"
PREVIEW_ENVIRONMENT = "preview-{stack}"
"""Environment of the job that previews a protected stack on `main` before its approval."""
CI_WORKFLOW = "ci.yml"
DRIFT_WORKFLOW = "drift.yml"
SUBJECT_CLAIMS = ("repo", "context", "job_workflow_ref")
"""The repository's OIDC subject template (GitHub docs, "OpenID Connect reference" >
"Customizing the subject claims for an organization or repository": with these keys a token's
`sub` is `repo:<owner/repo>:<context>:job_workflow_ref:<owner/repo>/.github/workflows/<file>@<ref>`,
where the context is `environment:<name>` in a job that names an environment, `pull_request` in a
pull request's job). The bootstrap sets it (pulumi-github), so the ref of the workflow file is part
of what a role trusts: a deploy role trusts only a workflow file as it is on `main`."""


@dataclass(frozen=True)
class Scope:
    account: str
    region: str
    state_bucket: str

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"

    @property
    def boundary_arn(self) -> str:
        return self.arn("iam", f"policy/{BOUNDARY}", region=False)

    def roles(self, stack: str) -> str:
        """The ARN pattern of the roles the program creates for `stack`."""
        return self.arn("iam", f"role{ROLE_PATH.format(stack=stack)}*", region=False)

    def state(self, stack: str) -> str:
        """The object prefix of `stack`'s Pulumi state (backend URL `s3://<bucket>/<stack>`)."""
        return f"{stack}/"


def subject(repository: str, context: str, workflow: str, ref: str) -> str:
    """A token's `sub` under SUBJECT_CLAIMS."""
    return (
        f"repo:{repository}:{context}:job_workflow_ref:"
        f"{repository}/.github/workflows/{workflow}@{ref}"
    )


MAIN = "refs/heads/main"
PULL_REQUEST_REF = "refs/pull/*/merge"
"""A pull_request run's workflow ref (GitHub: GITHUB_REF of the pull_request event)."""


def deploy_subject(repository: str, stack: str) -> str:
    return subject(repository, f"environment:{stack}", CI_WORKFLOW, MAIN)


def drift_subjects(repository: str, protected: Sequence[str]) -> list[str]:
    """The drift check, and the preview of each protected stack before its approval."""
    return [
        subject(repository, f"environment:{DRIFT_ENVIRONMENT}", DRIFT_WORKFLOW, MAIN),
        *(
            subject(
                repository, f"environment:{PREVIEW_ENVIRONMENT.format(stack=s)}", CI_WORKFLOW, MAIN
            )
            for s in protected
        ),
    ]


def preview_subject(repository: str) -> str:
    """Any pull request's run of the CI workflow (a pattern: the ref names the PR)."""
    return subject(repository, "pull_request", CI_WORKFLOW, PULL_REQUEST_REF)


def trust_policy(provider_arn: str, subjects: Sequence[str]) -> dict[str, Any]:
    """Only GitHub's tokens for STS whose subject is one of `subjects` may assume the role
    (`StringLike` when a subject is a pattern)."""
    operator = "StringLike" if any("*" in s for s in subjects) else "StringEquals"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{GITHUB_ISSUER}:aud": AUDIENCE},
                    operator: {
                        f"{GITHUB_ISSUER}:sub": subjects[0]
                        if len(subjects) == 1
                        else list(subjects)
                    },
                },
            }
        ],
    }


def _allow(sid: str, actions: Sequence[str], resources: Sequence[str], **condition: Any) -> dict:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": list(resources),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _deny(sid: str, actions: Sequence[str], resources: Sequence[str], **condition: Any) -> dict:
    return {**_allow(sid, actions, resources, **condition), "Effect": "Deny"}


def _tagged(stack: str | Sequence[str], key: str = "aws:ResourceTag/stack") -> dict[str, Any]:
    """The resource (or request) carries the `stack` tag of `stack`, or of one of the stacks."""
    return {"StringEquals": {key: stack if isinstance(stack, str) else list(stack)}}


def _created(stack: str) -> dict[str, Any]:
    """A create call (and the tagging inside it): the request carries the stack's tag, and a
    resource of that name that exists already (PutMetricAlarm overwrites one, CreateQueue returns
    one) carries it too. A resource without a `stack` tag may be created or tagged by any stack."""
    return {
        "StringEquals": {"aws:RequestTag/stack": stack},
        "StringEqualsIfExists": {"aws:ResourceTag/stack": stack},
    }


def _in_account(scope: Scope) -> dict[str, Any]:
    """S3 ARNs carry no account: pin them to this one."""
    return {"StringEquals": {"aws:ResourceAccount": scope.account}}


def _named(scope: Scope) -> dict[str, list[str]]:
    """The program's resources that carry their name in their ARN, per service."""
    return {
        "s3": [f"arn:aws:s3:::{PREFIX}*"],
        "lambda": [scope.arn("lambda", f"function:{PREFIX}*")],
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
        "cloudwatch": [scope.arn("cloudwatch", f"alarm:{PREFIX}*")],
        "dashboard": [scope.arn("cloudwatch", f"dashboard/{PREFIX}*", region=False)],
    }


# What the provider's read of each resource calls (bootstrap/provider_calls.py), as IAM actions.
BUCKET_READS = (
    "s3:ListBucket",  # HeadBucket
    "s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketCORS",
    "s3:GetBucketWebsite", "s3:GetBucketVersioning", "s3:GetAccelerateConfiguration",
    "s3:GetBucketRequestPayment", "s3:GetBucketLogging", "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration",
    "s3:GetBucketObjectLockConfiguration", "s3:ListTagsForResource",
    "s3:GetBucketPublicAccessBlock", "s3:GetBucketOwnershipControls", "s3:GetBucketNotification",
)  # fmt: skip
FUNCTION_READS = (
    "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionEventInvokeConfig", "lambda:GetPolicy", "lambda:ListVersionsByFunction",
    "lambda:ListTags",  # GetFunction returns the tags only with it
)  # fmt: skip
ROLE_READS = (
    "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
)  # fmt: skip
USER_POOL_READS = (
    "cognito-idp:DescribeUserPool", "cognito-idp:DescribeUserPoolClient",
    "cognito-idp:GetUserPoolMfaConfig",
)  # fmt: skip
OWN_ONLY_READS = (*FUNCTION_READS, *USER_POOL_READS)
"""The reads the preview role makes only of resources tagged with a stack it previews
(`aws:ResourceTag/stack`, which each of these actions supports: IAM Service Authorization
Reference, AWS Lambda's `function` and Amazon Cognito user pools' `userpool` resource types; every
resource carries the tag from the stack files' `aws:defaultTags`). GetFunction answers a
function's environment variables (configuration, a secret setting's value) and a presigned URL of
its code, ListVersionsByFunction each version's environment; DescribeUserPoolClient a client's
secret (the program's clients have none, other user pools of the account may). The other reads
answer settings, policies and tags, no secret, and stay scoped by name."""
ACCOUNT_SETTINGS = "lambda:GetAccountSettings"
FUNCTION_LISTING = "lambda:ListFunctions"
"""What the preflight reads (components/preflight.py) besides the functions: the account's
concurrency and what is left unreserved, and which functions are the stack's own. Lambda supports
no resource-level permissions for either, and ListFunctions answers every function's
configuration, environment variables included, so the preview role has not got it: a pull
request's preview warns that it cannot check the reservations, and the deploy job checks them."""


def _resource_reads(
    scope: Scope, stacks: Sequence[str], *, own_only: bool = False
) -> list[dict[str, Any]]:
    """Reads of the program's resources (`pulumi preview --refresh`); roles only of `stacks`, and
    with `own_only` functions and user pools only of `stacks` too (OWN_ONLY_READS)."""
    named = _named(scope)
    own = _tagged(stacks) if own_only else {}
    return [
        _allow("ReadBuckets", BUCKET_READS, named["s3"], **_in_account(scope)),
        _allow("ReadFunctions", FUNCTION_READS, named["lambda"], **own),
        _allow("ReadRoles", ROLE_READS, [scope.roles(s) for s in stacks]),
        _allow(
            "ReadQueues",
            ["sqs:GetQueueAttributes", "sqs:ListQueueTags"],
            named["sqs"],
        ),
        _allow("ReadLogGroups", ["logs:ListTagsForResource"], _named(scope)["logs"]),
        _allow("ReadApis", ["apigateway:GET"], named["apigateway"]),
        _allow("ReadUserPools", USER_POOL_READS, named["cognito-idp"], **own),
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
            ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
            named["cloudwatch"],
        ),
        _allow("ReadDashboards", ["cloudwatch:GetDashboard"], named["dashboard"]),
        _allow(
            "ReadTopics",
            ["sns:GetTopicAttributes", "sns:ListTagsForResource"],
            named["sns"],
        ),
        # The preflight checks that the boundary exists (the provider's aws_iam_policy data
        # source: GetPolicy, then GetPolicyVersion for its document).
        _allow("ReadBoundary", ["iam:GetPolicy", "iam:GetPolicyVersion"], [scope.boundary_arn]),
        # Listing log groups, Logs Insights query definitions, Lambda's account settings and
        # SNS subscriptions have no resource-level permissions (Service Authorization Reference).
        _allow(
            "ReadAccountWide",
            [
                "logs:DescribeLogGroups",
                "logs:DescribeQueryDefinitions",
                "sns:GetSubscriptionAttributes",
                ACCOUNT_SETTINGS,
                *([] if own_only else [FUNCTION_LISTING]),
            ],
            ["*"],
        ),
    ]


def _state_reads(scope: Scope, keys: Mapping[str, str]) -> list[dict[str, Any]]:
    """Read the state of, and decrypt the secrets of, exactly the stacks in `keys` (stack ->
    secrets key ARN)."""
    bucket = f"arn:aws:s3:::{scope.state_bucket}"
    return [
        _allow("ReadState", ["s3:GetObject"], [f"{bucket}/{scope.state(s)}*" for s in keys]),
        _allow(
            "ListState",
            ["s3:ListBucket"],
            [bucket],
            StringLike={"s3:prefix": [f"{scope.state(s)}*" for s in keys]},
        ),
        _allow("DecryptState", ["kms:Decrypt"], list(keys.values())),
    ]


def read_only_policy(
    scope: Scope, keys: Mapping[str, str], *, own_only: bool = False
) -> dict[str, Any]:
    """What `pulumi preview --refresh` of the stacks in `keys` reads: the program's resources,
    their state and secrets, Lambda's account settings. Nothing that creates, changes or deletes;
    no object contents; no other stack's state or secrets; with `own_only` (the preview role), no
    other stack's functions or user pools either (OWN_ONLY_READS). Without it (the drift role,
    which reads every stack) every `uploads-*` function and every user pool of the account."""
    statements = _resource_reads(scope, list(keys), own_only=own_only) + _state_reads(scope, keys)
    return {"Version": "2012-10-17", "Statement": statements}


def boundary_policy(scope: Scope) -> dict[str, Any]:
    """The permissions boundary of the program's function roles: the union of what they are
    granted (their own logs and dead-letter queue, X-Ray, objects and named object versions of
    the program's buckets, and those buckets' keys through S3; tests/test_boundary.py holds every
    grant of every stack to it). A role the deploy roles create can never do more, and
    whatever its trust policy says, its credentials work only from one of the program's
    functions: `lambda:SourceFunctionArn` is in every request a function's code makes and in the
    logs and X-Ray calls Lambda makes for it (AWS Lambda Developer Guide, "Using source function
    ARN to control function access behavior"). Lambda's on-failure delivery to the dead-letter
    queue and S3's calls to KMS do not carry it: those two stay scoped by resource and service."""
    named = _named(scope)
    from_function = {"ArnLike": {"lambda:SourceFunctionArn": named["lambda"][0]}}
    statements = [
        _allow(
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [scope.arn("logs", f"log-group:{PREFIX}*:*")],
            **from_function,
        ),
        _allow("SendFailedEvents", ["sqs:SendMessage"], named["sqs"]),
        # X-Ray's write actions support no resource-level permissions.
        _allow("WriteTraces", ["xray:PutTraceSegments"], ["*"], **from_function),
        _allow("WriteTelemetry", ["xray:PutTelemetryRecords"], ["*"]),
        _allow(
            "UseObjects",
            [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
            ],
            [f"arn:aws:s3:::{PREFIX}*/*"],
            **from_function,
            **_in_account(scope),
        ),
        _allow(
            "ListObjects", ["s3:ListBucket"], named["s3"], **from_function, **_in_account(scope)
        ),
        # A bucket key's ARN is generated (or given): only through S3, for the objects above.
        _allow(
            "UseBucketKeys",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            named["kms"],
            StringEquals={"kms:ViaService": f"s3.{scope.region}.amazonaws.com"},
        ),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


BUCKET_WRITES = (
    "s3:CreateBucket", "s3:DeleteBucket", "s3:TagResource", "s3:UntagResource",
    "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketOwnershipControls", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration", "s3:PutBucketCORS", "s3:PutBucketLogging",
    "s3:PutBucketNotification",
    "s3:ListBucketVersions",  # forceDestroy (dev) empties a bucket before deleting it
)  # fmt: skip
FUNCTION_CREATES = ("lambda:CreateFunction", "lambda:TagResource")
FUNCTION_WRITES = (
    "lambda:DeleteFunction", "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration", "lambda:PutFunctionConcurrency",
    "lambda:DeleteFunctionConcurrency", "lambda:AddPermission", "lambda:RemovePermission",
    "lambda:PutFunctionEventInvokeConfig", "lambda:DeleteFunctionEventInvokeConfig",
    "lambda:TagResource", "lambda:UntagResource",
)  # fmt: skip


def _role_writes(scope: Scope, stack: str) -> list[dict[str, Any]]:
    """Roles of the stack's own IAM path only, created and granted only with the boundary (the
    actions that support `iam:PermissionsBoundary`); no trust policy change after creation."""
    roles = [scope.roles(stack)]
    return [
        _allow(
            "WriteRolesWithinBoundary",
            [
                "iam:CreateRole",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:PutRolePermissionsBoundary",
            ],
            roles,
            StringEquals={"iam:PermissionsBoundary": scope.boundary_arn},
        ),
        # The provider deletes a role after removing it from its instance profiles (none here).
        _allow(
            "WriteRoles",
            ["iam:DeleteRole", "iam:TagRole", "iam:UntagRole", "iam:ListInstanceProfilesForRole"],
            roles,
        ),
        _deny(
            "KeepTheBoundary",
            ["iam:DeleteRolePermissionsBoundary"],
            [scope.arn("iam", "role/*", region=False)],
        ),
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
            roles,
            StringEquals={"iam:PassedToService": "lambda.amazonaws.com"},
        ),
    ]


def _key_writes(scope: Scope, stack: str) -> list[dict[str, Any]]:
    """KMS keys: created only with the stack's tag. The provider sends the tags inside CreateKey
    (terraform-provider-aws internal/service/kms/key.go, resourceKeyCreate), which needs
    kms:TagResource in an IAM policy not restricted to particular keys (AWS KMS Developer Guide,
    "Tagging keys": "Controlling access to tags"); it is limited to a key without a `stack` tag
    (the key being created) and to the stack's own tag value."""
    return [
        _allow(
            "CreateKeys",
            ["kms:CreateKey"],
            ["*"],
            **_tagged(stack, "aws:RequestTag/stack"),
        ),
        _allow(
            "TagKeysAsTheyAreCreated",
            ["kms:TagResource"],
            ["*"],
            StringEquals={"aws:RequestTag/stack": stack},
            Null={"aws:ResourceTag/stack": "true"},
        ),
        _allow("WriteKeys", KEY_WRITES, _named(scope)["kms"], **_tagged(stack)),
    ]


def _api_log_delivery(scope: Scope) -> list[dict[str, Any]]:
    """HTTP API access logs, as AWS's "Configuring logging for an HTTP API" (API Gateway
    Developer Guide, "Permissions to enable logging") lists them: the log group reads on the
    API's log groups, and log delivery, which supports no resource-level permissions."""
    return [
        _allow(
            "ReadApiLogGroups",
            ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
            [_named(scope)["logs"][1]],
        ),
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
    ]


def deploy_policy(scope: Scope, stack: str, secrets_keys: Mapping[str, str]) -> dict[str, Any]:
    """`pulumi up`/`destroy` of one stack: the reads of its resources, the writes this program's
    resources need, its own state objects and its own secrets key (`secrets_keys`: every stack's
    key ARN, by stack). The key only decrypts: the stack file's `encryptedkey` is a data key KMS
    made once at `pulumi stack init`; the CLI decrypts it and encrypts secret values locally with
    it (no KMS call)."""
    named = _named(scope)
    bucket = f"arn:aws:s3:::{scope.state_bucket}"
    writes = [
        _allow("WriteBuckets", BUCKET_WRITES, named["s3"], **_in_account(scope)),
        _allow(
            "EmptyBuckets",
            ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            [f"arn:aws:s3:::{PREFIX}*/*"],
            **_in_account(scope),
        ),
        _allow("CreateFunctions", FUNCTION_CREATES, named["lambda"], **_created(stack)),
        _allow("WriteFunctions", FUNCTION_WRITES, named["lambda"], **_tagged(stack)),
        *_role_writes(scope, stack),
        _allow(
            "CreateQueues", ["sqs:CreateQueue", "sqs:TagQueue"], named["sqs"], **_created(stack)
        ),
        _allow(
            "WriteQueues",
            ["sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue"],
            named["sqs"],
            **_tagged(stack),
        ),
        _allow(
            "CreateLogGroups",
            ["logs:CreateLogGroup", "logs:TagResource"],
            named["logs"],
            **_created(stack),
        ),
        _allow(
            "WriteLogGroups",
            [
                "logs:CreateLogGroup",  # API Gateway's check on the (existing) access log group
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:AssociateKmsKey",
                "logs:DisassociateKmsKey",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            named["logs"],
            **_tagged(stack),
        ),
        *_api_log_delivery(scope),
        # An API and a stage are created with the stack's tags (and their tags' path); routes,
        # integrations and authorizers are created in, and every later call acts on, a tagged
        # API or stage.
        _allow(
            "CreateApis",
            ["apigateway:POST"],
            [
                named["apigateway"][0],
                f"{named['apigateway'][1]}/stages",
                named["apigateway"][2],
            ],
            **_created(stack),
        ),
        _allow(
            "WriteApis",
            ["apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"],
            named["apigateway"][1:],
            **_tagged(stack),
        ),
        _allow(
            "CreateUserPools",
            ["cognito-idp:CreateUserPool"],
            ["*"],
            **_tagged(stack, "aws:RequestTag/stack"),
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
            **_tagged(stack),
        ),
        _allow(
            "CreateAlarms",
            ["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"],
            named["cloudwatch"],
            **_created(stack),
        ),
        _allow(
            "WriteAlarms",
            [
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            named["cloudwatch"],
            **_tagged(stack),
        ),
        _allow(
            "WriteDashboards",
            ["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"],
            named["dashboard"],
        ),
        _allow(
            "CreateTopics", ["sns:CreateTopic", "sns:TagResource"], named["sns"], **_created(stack)
        ),
        _allow(
            "WriteTopics",
            [
                "sns:DeleteTopic",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
                "sns:Subscribe",
            ],
            named["sns"],
            **_tagged(stack),
        ),
        # Dashboards support no condition key, subscriptions and query definitions no resource
        # (Service Authorization Reference): scoped by name, or not at all.
        _allow("WriteSubscriptions", ["sns:Unsubscribe"], ["*"]),
        _allow("WriteQueries", ["logs:PutQueryDefinition", "logs:DeleteQueryDefinition"], ["*"]),
        *_key_writes(scope, stack),
        _allow(
            "WriteOwnState",
            ["s3:PutObject", "s3:DeleteObject"],
            [f"{bucket}/{scope.state(stack)}*"],
        ),
    ]
    reads = _resource_reads(scope, [stack]) + _state_reads(scope, {stack: secrets_keys[stack]})
    denied = _keep_secrets_keys(secrets_keys) + _keep_stack_tags(scope)
    return {"Version": "2012-10-17", "Statement": reads + writes + denied}


KEY_WRITES = (
    "kms:TagResource", "kms:UntagResource", "kms:PutKeyPolicy", "kms:EnableKeyRotation",
    "kms:DisableKeyRotation", "kms:ScheduleKeyDeletion", "kms:UpdateKeyDescription",
)  # fmt: skip
"""Every KMS action a deploy role may take on a key other than decrypting."""


def _keep_secrets_keys(secrets_keys: Mapping[str, str]) -> list[dict[str, Any]]:
    """The bootstrap's secrets keys are no program key, whatever their tags: a deploy role could
    otherwise tag an untagged one with its own stack (`TagKeysAsTheyAreCreated`) and then rewrite
    its policy or delete it, `prod`'s from `dev`'s role included. An explicit Deny wins over
    every Allow (IAM User Guide, "Policy evaluation logic")."""
    return [_deny("KeepSecretsKeys", KEY_WRITES, sorted(secrets_keys.values()))]


UNTAG_ACTIONS = (
    "lambda:UntagResource", "sqs:UntagQueue", "sns:UntagResource", "logs:UntagResource",
    "cloudwatch:UntagResource", "kms:UntagResource", "cognito-idp:UntagResource", "iam:UntagRole",
    "s3:UntagResource",
)  # fmt: skip
"""The untagging actions a deploy role holds, besides API Gateway's DELETE on `/tags/...`."""


def _keep_stack_tags(scope: Scope) -> list[dict[str, Any]]:
    """No deploy role removes a `stack` tag: an untagged resource of the program's names may be
    claimed by any stack's create statements, so untagging its own would hand it to the others.
    Every untag action supports `aws:TagKeys` (Service Authorization Reference)."""
    stack_key = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["stack"]}}
    api_tags = [f"arn:aws:apigateway:{scope.region}::/tags/*"]
    return [
        _deny("KeepStackTags", UNTAG_ACTIONS, ["*"], **stack_key),
        _deny("KeepApiStackTags", ["apigateway:DELETE"], api_tags, **stack_key),
    ]
