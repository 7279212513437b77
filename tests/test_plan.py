"""`plan`'s human output and its JSON document, from the session's run of each stack."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from offline.archives import FUNCTION_TYPE
from offline.preview import document
from offline.project import stack_names
from offline.render import render_plan

PROJECT_DIR = Path(__file__).resolve().parent.parent
STACKS = stack_names(PROJECT_DIR)


def rendered(plan, *, quiet: bool = False) -> str:
    out = io.StringIO()
    render_plan(Console(file=out, color_system=None, width=200), plan, quiet=quiet)
    return out.getvalue()


def resource_line(text: str, type_: str, name: str) -> int:
    """Index of the tree line `+ <type>  <name>`; the line after it holds the properties."""
    lines = text.splitlines()
    found = [i for i, line in enumerate(lines) if line.endswith(f"+ {type_}  {name}")]
    assert len(found) == 1, f"{type_} {name} not in the tree once:\n{text}"
    return found[0]


def properties(text: str, type_: str, name: str) -> str:
    return text.splitlines()[resource_line(text, type_, name) + 1]


@pytest.mark.parametrize("stack", STACKS)
def test_tree_shows_the_stack_every_component_and_resource_under_its_parent(stack_plans, stack):
    plan = stack_plans(stack)
    text = rendered(plan)
    assert f"+ pulumi:pulumi:Stack  serverless-uploads-{stack}" in text.splitlines()[2]
    lines = text.splitlines()
    row = {r.urn: resource_line(text, r.type, r.name) for r in plan.graph}
    for resource in plan.graph:
        indent = lines[row[resource.urn]].index("+ ")
        if resource.parent in row:  # below its component, one level deeper
            assert row[resource.urn] > row[resource.parent], resource.urn
            assert indent > lines[row[resource.parent]].index("+ "), resource.urn
        else:  # the program's top-level component, right under the stack
            assert indent == lines[2].index("+ ") + 4, resource.urn


def test_tree_shows_what_a_reviewer_checks(stack_plans):
    dev, prod = rendered(stack_plans("dev")), rendered(stack_plans("prod"))
    fn = properties(dev, "aws:lambda/function:Function", "uploads-uploads-function")
    for fact in ("runtime=python3.13", "memory=256", "architecture=arm64", "timeout=30"):
        assert fact in fn
    assert "tracing=Active" in fn
    logs = "aws:cloudwatch/logGroup:LogGroup", "uploads-api-log-group"
    assert properties(dev, *logs).strip().endswith("retentionInDays=7")
    assert "retentionInDays=365  kmsKey=arn:aws:kms:" in properties(prod, *logs)
    stage = properties(dev, "aws:apigatewayv2/stage:Stage", "uploads-api-stage")
    assert "throttlingBurstLimit=20  throttlingRateLimit=10" in stage
    route = properties(dev, "aws:apigatewayv2/route:Route", "uploads-api-route-get-uploads-id")
    assert "route=GET /uploads/{id}  authorization=JWT" in route
    sse = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    assert "encryption=AES256" in properties(dev, sse, "uploads-bucket-encryption")
    assert "encryption=aws:kms" in properties(prod, sse, "uploads-bucket-encryption")
    bucket = properties(prod, "aws:s3/bucket:Bucket", "uploads-bucket-bucket")
    assert "protect=true  retainOnDelete=true" in bucket
    assert "protect=" not in properties(dev, "aws:s3/bucket:Bucket", "uploads-bucket-bucket")


def test_config_in_effect_with_each_values_source(stack_plans):
    text = rendered(stack_plans("dev"))
    config = text[text.index("\nConfig:") : text.index("\nOutputs:")]
    rows = {line.split()[0]: line.split(None, 1)[1] for line in config.splitlines()[2:]}
    assert rows["serverless-uploads:logRetentionDays"] == "7  (Pulumi.dev.yaml)"
    assert rows["serverless-uploads:functionMemoryMb"] == "256  (declared default)"
    assert rows["serverless-uploads:bucketKmsKey"] == '""  (declared default)'
    assert rows["aws:region"] == "us-east-1  (Pulumi.dev.yaml)"
    assert len(rows) == len(stack_plans("dev").config)


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_and_summary_count_every_resource_and_the_stack(stack_plans, stack):
    plan = stack_plans(stack)
    text = rendered(plan)
    unknown = plan.graph.unknown_outputs()
    for key, value in plan.graph.outputs.items():
        shown = (
            rf"output<string>  \(unknown until created; offline: {re.escape(value)}\)"
            if key in unknown
            else re.escape(value)
        )
        assert re.search(rf"^    {key} +{shown}$", text, re.MULTILINE), key
    components = [r for r in plan.graph if not r.custom]
    assert {r.type for r in components} >= {"uploads:index:UploadService", "uploads:index:HttpApi"}
    expected = len(plan.graph) + 1  # the stack, its components and their resources
    assert f"Resources:\n    + {expected} to create\n" in text


def test_quiet_prints_only_the_stack_the_summary_and_the_policy_report(stack_plans):
    plan = stack_plans("dev")
    text = rendered(plan, quiet=True)
    created = len(plan.graph) + 1
    assert text.startswith(
        f"Stack dev of serverless-uploads (offline)\n\nResources:\n    + {created} to create"
    )
    assert "\nPolicy:" in text
    assert "aws:" not in text.split("\nPolicy:")[0]
    assert "Config:" not in text


def test_a_policy_violation_is_printed_with_resource_rule_level_and_fix(stack_plans):
    plan = stack_plans("dev")
    text = rendered(plan)
    report = text[text.index("\nPolicy:") :]
    for violation in plan.violations:
        assert f"{violation.level:<9}  {violation.rule_id}  {violation.resource_name}" in report
        assert f"fix: {violation.remediation}" in report


# --- the JSON document (docs/plan-json.md) ----------------------------------------------------


@pytest.fixture(scope="module")
def dev_document(stack_plans) -> dict:
    return json.loads(json.dumps(document(stack_plans("dev"))))  # as a consumer reads it


def test_document_top_level_shape(dev_document, stack_plans):
    assert set(dev_document) == {
        "version", "project", "stack", "summary", "resources", "config", "outputs",
        "unknownOutputs", "archives", "policy",
    }  # fmt: skip
    assert dev_document["version"] == 1
    assert (dev_document["project"], dev_document["stack"]) == ("serverless-uploads", "dev")
    assert dev_document["summary"] == {"create": len(stack_plans("dev").graph) + 1}
    assert dev_document["outputs"] == stack_plans("dev").graph.outputs
    assert len(dev_document["resources"]) == len(stack_plans("dev").graph)


def test_document_resources_carry_type_name_parent_inputs_and_options(dev_document):
    resources = {r["name"]: r for r in dev_document["resources"]}
    for resource in resources.values():
        assert set(resource) == {"urn", "type", "name", "parent", "custom", "inputs", "options"}
        assert set(resource["options"]) == {"protect", "retainOnDelete", "dependsOn"}
        assert resource["parent"] is None or resource["parent"] in resources
    log_group = resources["uploads-api-log-group"]
    assert log_group["type"] == "aws:cloudwatch/logGroup:LogGroup"
    assert log_group["parent"] == "uploads-api"
    assert log_group["inputs"]["retentionInDays"] == 7
    function = resources["uploads-uploads-function"]
    assert function["inputs"]["memorySize"] == 256
    assert function["inputs"]["architectures"] == ["arm64"]
    archive = function["inputs"]["code"]["fileArchive"]
    assert re.fullmatch(r"\.build/archives/[0-9a-f]{64}\.zip", archive), archive
    assert resources["uploads"]["parent"] is None
    assert resources["uploads"]["custom"] is False


def test_document_archives_name_each_functions_zip_by_its_hash(dev_document, stack_plans):
    functions = {r["name"]: r for r in dev_document["resources"] if r["type"] == FUNCTION_TYPE}
    archives = {a["function"]: a for a in dev_document["archives"]}
    assert set(archives) == set(functions) == {
        "uploads-uploads-function", "uploads-on-upload-function",
    }  # fmt: skip
    root = stack_plans("dev").root
    for name, archive in archives.items():
        inputs = functions[name]["inputs"]
        assert archive["path"] == inputs["code"]["fileArchive"]
        assert (
            base64.b64encode(bytes.fromhex(archive["sha256"])).decode()
            == (inputs["sourceCodeHash"])
        )
        zipped = (root / archive["path"]).read_bytes()
        assert hashlib.sha256(zipped).hexdigest() == archive["sha256"]
        assert (archive["runtime"], archive["architecture"]) == ("python3.13", "arm64")


def test_document_options_and_policy_in_prod(stack_plans):
    doc = json.loads(json.dumps(document(stack_plans("prod"))))
    bucket = next(r for r in doc["resources"] if r["name"] == "uploads-bucket-bucket")
    assert bucket["options"]["protect"] is True
    assert bucket["options"]["retainOnDelete"] is True
    policy = doc["policy"]
    assert policy["mandatory"] == 0
    assert policy["advisory"] == len(policy["violations"])
    for violation in policy["violations"]:
        assert set(violation) == {"ruleId", "level", "resource", "urn", "message", "remediation"}


def test_document_config_values_and_sources(dev_document):
    config = dev_document["config"]
    assert config["serverless-uploads:logRetentionDays"] == {
        "value": "7",
        "source": "stack",
        "secret": False,
        "checked": True,
    }
    assert config["serverless-uploads:tracing"] == {
        "value": "true",
        "source": "default",
        "secret": False,
        "checked": True,
    }


def test_every_key_of_the_document_is_documented(dev_document):
    docs = (PROJECT_DIR / "docs" / "plan-json.md").read_text(encoding="utf-8")
    resource = dev_document["resources"][0]
    keys = [*dev_document, *(f"resources[].{k}" for k in resource)]
    keys += [f"resources[].options.{k}" for k in resource["options"]]
    keys += [f"config.*.{k}" for k in next(iter(dev_document["config"].values()))]
    missing = [k for k in keys if f"`{k}" not in docs]  # `key`, or `key.sub` for an object
    assert missing == []
