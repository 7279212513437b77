"""`plan --diff`: stacks compared by type and logical name, field by field."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pulumi
import pytest
from rich.console import Console

from components.function import PythonFunction, PythonFunctionArgs
from components.http_api import HttpApi, HttpApiArgs
from components.storage import StorageBucket
from offline import ResourceGraph, run_program, run_stack
from offline.diff import ABSENT, FieldChange, ResourceChange
from offline.diff_text import LINE_LIMIT, fit, fit_pair
from offline.preview import Plan, config_changes, document
from offline.project import ConfigValue
from offline.render import render_diff

PROJECT_DIR = Path(__file__).resolve().parent.parent


def fields(changes, name: str) -> dict[str, tuple]:
    found = [c for c in changes if c.name == name]
    assert len(found) == 1, f"{name} not changed once: {[c.name for c in changes]}"
    return {f.path: (f.before, f.after) for f in found[0].fields}


def test_dev_to_prod_reports_the_fields_that_really_differ(stack_graphs):
    changes = stack_graphs("dev").changes(stack_graphs("prod"))
    encrypted = {"retentionInDays": (7, 365), "kmsKeyId": (ABSENT, "${uploads-bucket-kms-key.arn}")}
    assert fields(changes, "uploads-api-log-group") == encrypted
    assert fields(changes, "uploads-uploads-log-group") == encrypted
    assert fields(changes, "uploads-bucket-bucket") == {
        "forceDestroy": (True, False),
        "options.protect": (False, True),
        "options.retainOnDelete": (False, True),
    }
    stage = fields(changes, "uploads-api-stage")
    assert stage["defaultRouteSettings.throttlingBurstLimit"] == (20, 200)
    assert stage["defaultRouteSettings.throttlingRateLimit"] == (10, 100)
    encryption = fields(changes, "uploads-bucket-encryption")
    sse = "rules[0].applyServerSideEncryptionByDefault"
    assert encryption[f"{sse}.sseAlgorithm"] == ("AES256", "aws:kms")
    assert encryption[f"{sse}.kmsMasterKeyId"] == (ABSENT, "${uploads-bucket-kms-key.arn}")
    added = [(c.type, c.name) for c in changes if c.kind == "added"]
    assert ("aws:kms/key:Key", "uploads-bucket-kms-key") in added
    assert not [c for c in changes if c.kind == "removed"]


def test_physical_names_and_arns_do_not_make_resources_differ(stack_graphs):
    """Environments, policies, routes and subscriptions hold per-stack names and ARNs; they
    must compare equal, and no reported value may be one of them."""
    dev, prod = stack_graphs("dev"), stack_graphs("prod")
    changes = dev.changes(prod)
    changed = {c.name for c in changes}
    for name in (
        "uploads-api-route-get",  # target: integrations/<integration id>
        "uploads-api-integration-uploads-uploads",  # the function's invoke ARN
        "uploads-bucket-notification",  # the function's ARN
        "uploads-uploads-event-invoke-config",  # function name, dead-letter queue ARN
        "uploads-api-permission-uploads-uploads-get-uploads",  # execution ARN
    ):
        assert name not in changed
    physical = {
        value
        for graph in (dev, prod)
        for r in graph
        if r.custom
        for key in ("id", "arn", "name", "bucket")
        if isinstance(value := r.outputs.get(key), str) and re.search(r"-[0-9a-f]{7}$", value)
    }
    assert len(physical) > 20
    reported = json.dumps([[f.before, f.after] for c in changes for f in c.fields])
    assert not [name for name in physical if name in reported]
    functions = [c for c in changes if c.type == "aws:lambda/function:Function"]
    assert len(functions) == 2
    for change in functions:  # role, log group, bucket name and user pool ids compare equal
        assert [f.path for f in change.fields] == ["reservedConcurrentExecutions"]


def test_a_changed_policy_statement_is_named_by_its_path(stack_graphs):
    policy = fields(stack_graphs("dev").changes(stack_graphs("prod")), "uploads-uploads-policy")
    assert policy  # prod adds the KMS grants
    for path, (before, after) in policy.items():
        assert path.startswith("policy.Statement[")
        assert before == ABSENT
        assert after["Resource"] == "${uploads-bucket-kms-key.arn}"
        assert all(action.startswith("kms:") for action in after["Action"])


def small_service() -> None:
    bucket = StorageBucket("files")
    handler = PythonFunction(
        "hello",
        PythonFunctionArgs(
            source=PROJECT_DIR / "examples" / "minimal" / "hello",
            environment={"BUCKET_NAME": bucket.name},
            statements=bucket.grant_read("uploads/"),
        ),
    )
    HttpApi("api", HttpApiArgs(routes={"GET /hello": handler, "POST /hello": handler}))
    pulumi.export("bucket", bucket.name)


def test_the_same_program_under_two_stack_names_differs_only_where_it_names_the_stack():
    one = run_program(small_service, stack="blue")
    two = run_program(small_service, stack="green")
    assert {r.outputs.get("arn") for r in one if r.custom} != {
        r.outputs.get("arn") for r in two if r.custom
    }, "the fake cloud gives each stack its own physical names"
    assert one.changes(two) == [
        ResourceChange(
            "aws:apigatewayv2/api:Api",
            "api-api",
            "changed",
            (FieldChange("description", "HttpApi api (blue)", "HttpApi api (green)"),),
        )
    ]
    assert one.changes(one) == []


def test_diff_output_lists_each_field_with_both_values(stack_plans):
    dev, prod = stack_plans("dev"), stack_plans("prod")
    out = io.StringIO()
    render_diff(
        Console(file=out, color_system=None, width=200), dev, prod, dev.graph.changes(prod.graph)
    )
    lines = [" ".join(line.split()) for line in out.getvalue().splitlines()]
    assert "~ uploads-api-log-group retentionInDays 7 -> 365" in lines
    assert "~ uploads-bucket-bucket options.protect false -> true" in lines
    assert "+ uploads-bucket-kms-key only in prod aws:kms/key:Key" in lines
    assert "~ serverless-uploads:logRetentionDays 7 -> 365" in lines
    assert '~ serverless-uploads:bucketKmsKey "" -> create' in lines
    assert "Policy (dev):" in out.getvalue()
    assert "Policy (prod):" in out.getvalue()


def test_diff_for_a_reviewer_config_first_then_resources_by_component(stack_plans):
    """`make plan STACK=prod ARGS="--diff dev"`: the config differences come first, then each
    resource's lines under the component that owns it, and no line is over 200 characters."""
    dev, prod = stack_plans("dev"), stack_plans("prod")
    out = io.StringIO()
    changes = prod.graph.changes(dev.graph)
    render_diff(Console(file=out, color_system=None, width=400), prod, dev, changes)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= LINE_LIMIT
    config, resources = (
        lines.index("Config: 14 differences, which cause those below"),
        next(i for i, line in enumerate(lines) if line.startswith("Resources:")),
    )
    assert config < resources
    assert all(line.startswith("    ~ ") for line in lines[config + 1 : resources - 1])
    headings = {i: line.strip() for i, line in enumerate(lines) if re.match(r"  \S", line)}
    owners = {
        "uploads-bucket-kms-key": "uploads-bucket (uploads:index:StorageBucket)",
        "uploads-api-log-group": "uploads-api (uploads:index:HttpApi)",
        "uploads-uploads-function": "uploads-uploads (uploads:index:PythonFunction)",
        "uploads-dashboard-dashboard": "uploads-dashboard (uploads:index:ServiceDashboard)",
    }
    for name, owner in owners.items():
        at = [i for i, line in enumerate(lines) if line.split()[1:2] == [name]]
        assert at, name
        assert all(headings[max(h for h in headings if h < i)] == owner for i in at), name
    # The dashboard's alarm list: the two alarms only prod has, one line each.
    alarms = [line for line in lines if ".properties.alarms[" in line]
    assert len(alarms) == 2
    assert all(
        re.search(r"\$\{uploads-alarms-alarm-\S+-concurrency\.arn\} -> \(none\)$", a)
        for a in alarms
    )


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("x" * 50, 30, "x" * 10 + "... (+40 characters)"),
        ([f"item-{i}" for i in range(1, 7)], 45, '["item-1", "item-2", ...] (+4 of 6 items)'),
    ],
)
def test_long_values_are_shortened_saying_what_was_left_out(value, limit, expected):
    shortened = fit(value, limit)
    assert shortened == expected
    assert len(shortened) <= limit


def test_a_long_shared_start_is_left_out_of_both_values():
    before = '{"tags": {"project": "serverless-uploads", "owner": "platform", "stack": "prod"}}'
    after = before.replace('"prod"', '"dev"')
    assert fit_pair(before, after, 80) == (
        '(+62 characters)..., "stack": "prod"}} -> (+62 characters)..., "stack": "dev"}}'
    )


def test_diff_in_the_json_document(stack_plans):
    dev, prod = stack_plans("dev"), stack_plans("prod")
    doc = json.loads(json.dumps(document(dev, dev.graph.changes(prod.graph), prod)))
    diff = doc["diff"]
    assert diff["other"] == "prod"
    assert {"type": "aws:kms/key:Key", "name": "uploads-bucket-kms-key"} in diff["onlyInOther"]
    only_in_prod = {c.name for c in dev.graph.changes(prod.graph) if c.kind == "added"}
    assert {c["name"] for c in diff["onlyInOther"]} == only_in_prod
    assert diff["onlyInStack"] == []  # prod adds to dev, never drops a resource
    log_group = next(c for c in diff["changed"] if c["name"] == "uploads-api-log-group")
    assert log_group == {
        "type": "aws:cloudwatch/logGroup:LogGroup",
        "name": "uploads-api-log-group",
        "fields": [
            {"path": "kmsKeyId", "stack": None, "other": "${uploads-bucket-kms-key.arn}"},
            {"path": "retentionInDays", "stack": 7, "other": 365},
        ],
    }
    assert {"key": "serverless-uploads:protectData", "stack": "false", "other": "true"} in diff[
        "config"
    ]


def test_config_differences_never_show_a_secret(tmp_path: Path):
    def plan(stack: str, secret: bool) -> Plan:
        config = {
            "aws:region": ConfigValue("us-east-1", "stack"),
            "app:token": ConfigValue(
                '{"secure": "v1:abc"}' if secret else "plain", "stack", secret
            ),
        }
        return Plan("app", stack, tmp_path, ResourceGraph(), config)

    assert config_changes(plan("a", secret=False), plan("b", secret=True)) == [
        ("app:token", "plain", "[secret]")
    ]
    assert config_changes(plan("a", secret=True), plan("b", secret=True)) == []


def test_ids_are_shown_as_ids(stack_graphs):
    """A route's authorizer is the authorizer's id, as `pulumi preview` would name it, and a
    route's target holds its integration's id, never a name."""
    dev = run_stack("dev", PROJECT_DIR, overrides={"serverless-uploads:auth": "none"})
    prod = stack_graphs("prod")
    route = fields(dev.changes(prod), "uploads-api-route-get-uploads")
    assert route["authorizerId"] == (ABSENT, "${uploads-api-authorizer.id}")
    assert "target" not in route
    authorizer = prod.named("uploads-api-authorizer")
    assert authorizer.outputs["id"] != authorizer.outputs["name"]
    integrations = {
        r.outputs["id"] for r in prod.of_type("aws:apigatewayv2/integration:Integration")
    }
    targets = {r.inputs["target"] for r in prod.of_type("aws:apigatewayv2/route:Route")}
    assert targets <= {f"integrations/{i}" for i in integrations}
    assert not integrations & {r.name for r in prod}


def test_fake_values_look_like_aws(stack_graphs):
    prod = stack_graphs("prod")

    def one(type_: str) -> str:
        [resource] = prod.of_type(type_)
        return resource.outputs["id"]

    shapes = {
        "aws:apigatewayv2/api:Api": r"[a-z0-9]{10}",
        "aws:apigatewayv2/authorizer:Authorizer": r"[a-z0-9]{6}",
        "aws:kms/key:Key": r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        "aws:cognito/userPool:UserPool": r"us-east-1_[A-Za-z0-9]{9}",
        "aws:cognito/userPoolClient:UserPoolClient": r"[a-z0-9]{26}",
    }
    for type_, shape in shapes.items():
        assert re.fullmatch(shape, one(type_)), (type_, one(type_))
    for route in prod.of_type("aws:apigatewayv2/route:Route"):
        assert re.fullmatch(r"[a-z0-9]{7}", route.outputs["id"]), route.name
    assert re.fullmatch(
        r"https://[a-z0-9]{10}\.execute-api\.us-east-1\.amazonaws\.com", prod.outputs["apiUrl"]
    )
