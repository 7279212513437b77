"""The policy rules: they pass on the project's real stacks and fail on a minimal violation."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from components.upload_service import UploadService, UploadServiceArgs
from offline import run_stack
from offline.project import config_schema, load_stack_config, stack_names
from policy.rules import RULES, UNKNOWN, ResourceView, evaluate
from policy.rules._model import SETTING_DEFAULTS
from tests.policy_support import drop, edit, rule_ids, views, violations_after

PROJECT_DIR = Path(__file__).resolve().parent.parent


def config(stack: str) -> dict[str, str]:
    return load_stack_config(PROJECT_DIR, stack)


SHAPES = ["inputs", "outputs"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("stack", stack_names(PROJECT_DIR))
def test_real_stacks_pass_every_rule(stack_graphs, stack, shape):
    assert evaluate(views(stack_graphs(stack), shape), config(stack)) == []


def test_outputs_carry_what_aws_assigns_and_inputs_do_not(stack_graphs):
    """The two shapes differ where the stack rules match resources: names and ARNs."""
    graph = stack_graphs("dev")
    by_shape = {shape: {v.name: v for v in views(graph, shape)} for shape in SHAPES}
    topic = "uploads-alarms-topic"
    assert "arn" not in by_shape["inputs"][topic].props
    assert by_shape["outputs"][topic].props["arn"].startswith("arn:aws:sns:us-east-1:")
    assert "name" not in by_shape["inputs"]["uploads-uploads-function"].props


@pytest.mark.parametrize("stack", stack_names(PROJECT_DIR))
def test_stack_rules_hold_on_outputs_without_dependencies(stack_graphs, stack):
    """On outputs, the rules match by the names and ARNs AWS assigned, not by dependencies."""
    bare = [replace(v, dependencies=()) for v in views(stack_graphs(stack), "outputs")]
    assert evaluate(bare, config(stack)) == []
    unsubscribed = [r for r in bare if r.type != "aws:sns/topicSubscription:TopicSubscription"]
    assert rule_ids(evaluate(unsubscribed, config(stack))) <= {
        "UPL-ALARM-SUBSCRIBERS",
        "UPL-ALARM-SUBSCRIBERS-PROD",
    }


def policy_without_tls_floor(document: str) -> str:
    parsed = json.loads(document)
    parsed["Statement"] = [s for s in parsed["Statement"] if s.get("Sid") != "DenyOutdatedTls"]
    return json.dumps(parsed)


def with_statement(statement: dict):
    def change(document: str) -> str:
        parsed = json.loads(document)
        parsed["Statement"].append({"Effect": "Allow", **statement})
        return json.dumps(parsed)

    return change


def edit_policy(name: str, change):
    """Rewrite the JSON policy document of resource `name`."""

    def mutate(resources: list[ResourceView]) -> list[ResourceView]:
        document = next(r for r in resources if r.name == name).props["policy"]
        return edit(name, props={"policy": change(document)})(resources)

    return mutate


# (stack, mutation, extra config) -> the rule ids it must trigger, and no others.
CASES = {
    "S3.8 flag off": (
        "dev",
        edit("uploads-bucket-public-access-block", props={"blockPublicPolicy": False}),
        {},
        {"S3.8"},
    ),
    "S3.8 no block": ("dev", drop("uploads-bucket-public-access-block"), {}, {"S3.8"}),
    "S3.12": (
        "dev",
        edit(
            "uploads-bucket-ownership-controls", props={"rule": {"objectOwnership": "ObjectWriter"}}
        ),
        {},
        {"S3.12"},
    ),
    "CKV_AWS_19": ("dev", drop("uploads-bucket-encryption"), {}, {"CKV_AWS_19"}),
    "S3.5 no TLS floor": (
        "dev",
        edit_policy("uploads-bucket-policy", policy_without_tls_floor),
        {},
        {"S3.5"},
    ),
    "S3.5 no policy": ("dev", drop("uploads-bucket-policy"), {}, {"S3.5"}),
    "S3.14": (
        "dev",
        edit(
            "uploads-bucket-versioning", props={"versioningConfiguration": {"status": "Suspended"}}
        ),
        {},
        {"S3.14"},
    ),
    "S3.13": (
        "dev",
        edit(
            "uploads-bucket-lifecycle",
            props={"rules": [{"status": "Enabled", "filter": {}, "id": "x"}]},
        ),
        {},
        {"S3.13"},
    ),
    "UPL-PROTECT-DATA protect": (
        "prod",
        edit("uploads-bucket-bucket", protect=False),
        {},
        {"UPL-PROTECT-DATA"},
    ),
    "UPL-PROTECT-DATA retain": (
        "prod",
        edit("uploads-bucket-bucket", retain_on_delete=False),
        {},
        {"UPL-PROTECT-DATA"},
    ),
    "Lambda.2": (
        "dev",
        edit("uploads-uploads-function", props={"runtime": "python3.9"}),
        {},
        {"Lambda.2"},
    ),
    "Lambda.7": (
        "dev",
        edit("uploads-uploads-function", props={"tracingConfig": {"mode": "PassThrough"}}),
        {},
        {"Lambda.7"},
    ),
    "UPL-LAMBDA-LOG-GROUP": (
        "dev",
        edit("uploads-uploads-function", props={"loggingConfig": {"logFormat": "JSON"}}),
        {},
        {"UPL-LAMBDA-LOG-GROUP"},
    ),
    "CKV_AWS_116": (
        "dev",
        drop("uploads-on-upload-event-invoke-config"),
        {},
        {"CKV_AWS_116"},
    ),
    "APIGateway.9": (
        "dev",
        edit("uploads-api-stage", props={"accessLogSettings": None}),
        {},
        {"APIGateway.9"},
    ),
    "UPL-APIGW-THROTTLING": (
        "dev",
        edit(
            "uploads-api-stage", props={"defaultRouteSettings": {"detailedMetricsEnabled": False}}
        ),
        {},
        {"UPL-APIGW-THROTTLING"},
    ),
    "UPL-APIGW-THROTTLING negative": (
        "dev",
        edit(
            "uploads-api-stage",
            props={"defaultRouteSettings": {"throttlingBurstLimit": -1, "throttlingRateLimit": 1}},
        ),
        {},
        {"UPL-APIGW-THROTTLING"},
    ),
    "CKV_AWS_66": (
        "dev",
        edit("uploads-api-log-group", props={"retentionInDays": 0}),
        {},
        {"CKV_AWS_66"},
    ),
    "CKV_AWS_66 function log group": (
        "dev",
        edit("uploads-uploads-log-group", props={"retentionInDays": None}),
        {},
        {"CKV_AWS_66", "UPL-LAMBDA-LOG-GROUP"},
    ),
    "IAM.21": (
        "dev",
        edit_policy(
            "uploads-uploads-policy",
            with_statement({"Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}),
        ),
        {},
        {"IAM.21"},
    ),
    "IAM.21 partial wildcard": (
        "dev",
        edit_policy(
            "uploads-uploads-policy",
            with_statement({"Action": "s3:PutBucket*", "Resource": "arn:aws:s3:::b"}),
        ),
        {},
        {"IAM.21"},
    ),
    "IAM.21 NotAction": (
        "dev",
        edit_policy(
            "uploads-uploads-policy",
            with_statement({"NotAction": "iam:PassRole", "Resource": "arn:aws:s3:::b/*"}),
        ),
        {},
        {"IAM.21"},
    ),
    "IAM.21 NotAction on everything": (
        "dev",
        edit_policy(
            "uploads-uploads-policy", with_statement({"NotAction": "iam:PassRole", "Resource": "*"})
        ),
        {},
        {"IAM.21", "CKV_AWS_355"},
    ),
    "IAM.21 malformed Action": (
        "dev",
        edit_policy("uploads-uploads-policy", with_statement({"Action": 5, "Resource": "*"})),
        {},
        {"IAM.21"},
    ),
    "IAM.21 statement not an object": (
        "dev",
        edit_policy(
            "uploads-uploads-policy", lambda d: d.replace('"Statement": [', '"Statement": [7, ', 1)
        ),
        {},
        {"IAM.21"},
    ),
    "CKV_AWS_355 NotResource": (
        "dev",
        edit_policy(
            "uploads-uploads-policy",
            with_statement({"Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/*"}),
        ),
        {},
        {"CKV_AWS_355"},
    ),
    "UPL-ROLE-BOUNDARY": (
        "dev",
        edit("uploads-uploads-role", props={"permissionsBoundary": None}),
        {},
        {"UPL-ROLE-BOUNDARY"},
    ),
    "CKV_AWS_355": (
        "dev",
        edit_policy(
            "uploads-uploads-policy",
            with_statement({"Action": ["s3:GetObject", "xray:PutTraceSegments"], "Resource": "*"}),
        ),
        {},
        {"CKV_AWS_355"},
    ),
    "SQS.1": (
        "dev",
        edit("uploads-on-upload-dead-letter-queue", props={"sqsManagedSseEnabled": False}),
        {},
        {"SQS.1"},
    ),
    "KMS.4": (
        "prod",
        edit("uploads-bucket-kms-key", props={"enableKeyRotation": False}),
        {},
        {"KMS.4"},
    ),
    "UPL-ALARMS no error alarm": (
        "dev",
        drop("uploads-alarms-alarm-uploads-on-upload-errors"),
        {},
        {"UPL-ALARMS"},
    ),
    "UPL-ALARMS error alarm without action": (
        "dev",
        edit("uploads-alarms-alarm-uploads-uploads-errors", props={"alarmActions": []}),
        {},
        {"UPL-ALARMS"},
    ),
    "UPL-ALARMS no dead-letter age alarm": (
        "prod",
        drop("uploads-alarms-alarm-uploads-on-upload-dead-letter-age"),
        {},
        {"UPL-ALARMS"},
    ),
    "UPL-AUTH-REQUIRED": (
        "dev",
        lambda resources: resources,
        {"serverless-uploads:auth": "none"},
        {"UPL-AUTH-REQUIRED"},
    ),
    "UPL-ALARM-SUBSCRIBERS-PROD": (
        "prod",
        drop("uploads-alarms-subscription-ops-example-com"),
        {},
        {"UPL-ALARM-SUBSCRIBERS-PROD"},
    ),
    "UPL-ALARM-SUBSCRIBERS": (
        "dev",
        drop("uploads-alarms-subscription-ops-example-com"),
        {},
        {"UPL-ALARM-SUBSCRIBERS"},
    ),
    "UPL-ALARM-RUNBOOK": (
        "dev",
        edit(
            "uploads-alarms-alarm-uploads-uploads-errors",
            props={"alarmDescription": "Errors. Runbook: docs/operations.md#function-errors"},
        ),
        {},
        {"UPL-ALARM-RUNBOOK"},
    ),
    "UPL-ALARM-SUBSCRIBERS subscribed elsewhere": (
        "staging",
        edit(
            "uploads-alarms-subscription-ops-example-com",
            props={"topic": "arn:aws:sns:us-east-1:123456789012:another-topic"},
            dependencies=("urn:pulumi:staging::other::aws:sns/topic:Topic::another-topic",),
        ),
        {},
        {"UPL-ALARM-SUBSCRIBERS"},
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", CASES)
def test_a_minimal_violation_fails_its_rule_and_only_it(stack_graphs, case, shape):
    stack, mutation, extra, expected = CASES[case]
    found = violations_after(stack_graphs(stack), mutation, {**config(stack), **extra}, shape)
    assert rule_ids(found) == expected


def test_an_alarm_topic_without_subscribers_is_advisory_in_dev_and_mandatory_in_prod(
    stack_graphs,
):
    levels = {}
    for stack in ("dev", "prod"):
        found = violations_after(
            stack_graphs(stack), drop("uploads-alarms-subscription-ops-example-com"), config(stack)
        )
        [violation] = found
        assert violation.resource_name == "uploads-alarms-topic"
        levels[stack] = violation.level
    assert levels == {"dev": "advisory", "prod": "mandatory"}


def test_the_alarm_rule_names_what_lacks_an_alarm(stack_graphs):
    mutation = drop("uploads-alarms-alarm-uploads-on-upload-dead-letter-age")
    found = violations_after(stack_graphs("dev"), mutation, config("dev"))
    assert [(v.rule_id, v.resource_name) for v in found] == [
        ("UPL-ALARMS", "uploads-on-upload-dead-letter-queue")
    ]


def test_a_program_without_alarms_fails_the_alarm_rule(build):
    graph = build(lambda: UploadService("svc", UploadServiceArgs(auth="none", alarms=None)))
    found = [v for v in evaluate(views(graph), {}) if v.rule_id == "UPL-ALARMS"]
    assert sorted(v.resource_name for v in found) == [
        "svc-on-upload-dead-letter-queue",
        "svc-on-upload-function",
        "svc-uploads-dead-letter-queue",
        "svc-uploads-function",
    ]
    assert all(v.level == "mandatory" for v in found)


def test_every_rule_has_a_violation_case():
    covered = {rule_id for *_, expected in CASES.values() for rule_id in expected}
    assert covered == {rule.id for rule in RULES}


def test_rule_ids_are_unique_and_every_rule_documented():
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.level in ("mandatory", "advisory")
        assert rule.description, rule.id
        assert rule.remediation, rule.id


def test_violations_carry_resource_level_and_remediation(stack_graphs):
    found = violations_after(stack_graphs("dev"), drop("uploads-bucket-encryption"), config("dev"))
    [violation] = found
    bucket = stack_graphs("dev").named("uploads-bucket-bucket")
    rule = next(r for r in RULES if r.id == "CKV_AWS_19")
    assert (violation.urn, violation.resource_name) == (bucket.urn, "uploads-bucket-bucket")
    assert (violation.level, violation.remediation) == ("mandatory", rule.remediation)


def test_star_resource_is_allowed_for_xray_only(stack_graphs):
    xray = with_statement({"Action": ["xray:GetSamplingRules"], "Resource": "*"})
    found = violations_after(
        stack_graphs("dev"), edit_policy("uploads-uploads-policy", xray), config("dev")
    )
    assert found == []


def test_an_open_api_is_a_mandatory_violation_on_every_stack(stack_graphs):
    for stack in stack_names(PROJECT_DIR):
        open_api = {**config(stack), "serverless-uploads:auth": "none"}
        [violation] = evaluate(views(stack_graphs(stack)), open_api)
        assert (violation.rule_id, violation.level) == ("UPL-AUTH-REQUIRED", "mandatory")
        assert violation.resource_name == "uploads-api-api"


def test_unknown_values_during_preview_are_not_violations(stack_graphs):
    """`pulumi preview` of a new stack cannot know ARNs, so documents that embed them are unknown:
    the rules skip them instead of failing the preview."""
    resources = views(stack_graphs("dev"))
    unknown = [
        edit(name, props={"policy": UNKNOWN})
        for name in ("uploads-bucket-policy", "uploads-uploads-policy", "uploads-on-upload-policy")
    ]
    for mutation in unknown:
        resources = mutation(resources)
    assert evaluate(resources, config("dev")) == []


def test_unknown_retain_on_delete_is_not_a_violation(stack_graphs):
    """The CrossGuard protocol does not carry retainOnDelete: the pack passes None."""
    found = violations_after(
        stack_graphs("prod"), edit("uploads-bucket-bucket", retain_on_delete=None), config("prod")
    )
    assert "UPL-PROTECT-DATA" not in rule_ids(found)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rules_relate_resources_by_component_when_dependencies_are_unknown(stack_graphs, stack):
    """A source without dependencies (CrossGuard resource validation, an adapter that omits
    them) still finds each bucket's and function's own children: those in the same component."""
    bare = [replace(r, dependencies=()) for r in views(stack_graphs(stack))]
    assert rule_ids(evaluate(bare, config(stack))) == set()
    without_block = drop("uploads-bucket-public-access-block")(bare)
    assert "S3.8" in rule_ids(evaluate(without_block, config(stack)))


def test_settings_the_rules_read_default_as_the_project_declares():
    schema = config_schema(PROJECT_DIR)
    declared = {key: json.dumps(schema[key]["default"]).strip('"') for key in SETTING_DEFAULTS}
    assert declared == SETTING_DEFAULTS


def test_a_stack_that_leaves_auth_out_signs_in_and_is_not_flagged(stack_graphs):
    settings = {k: v for k, v in config("prod").items() if k != "serverless-uploads:auth"}
    assert "UPL-AUTH-REQUIRED" not in rule_ids(evaluate(views(stack_graphs("prod")), settings))


def test_zero_throttling_is_a_limit_for_config_plan_and_policy():
    """`throttleBurstLimit: 0` is in the settings' range: the plan shows it on the stage and the
    policy counts it as set (API Gateway then refuses every request with 429)."""
    zero = {
        "serverless-uploads:throttleBurstLimit": "0",
        "serverless-uploads:throttleRateLimit": "0",
    }
    graph = run_stack("dev", PROJECT_DIR, overrides=zero)
    settings = graph.named("uploads-api-stage").inputs["defaultRouteSettings"]
    assert (settings["throttlingBurstLimit"], settings["throttlingRateLimit"]) == (0, 0)
    assert "UPL-APIGW-THROTTLING" not in rule_ids(evaluate(views(graph), {**config("dev"), **zero}))
