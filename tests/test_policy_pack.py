"""The CrossGuard pack as the Pulumi CLI runs it, without the CLI: the analyzer process is started
the way `pulumi-analyzer-policy-python` starts it (`python -m pulumi.policy ENGINE .` in the pack
directory, stack config in PULUMI_CONFIG), and driven over its gRPC Analyzer service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import proxy

from offline import Resource
from offline.project import load_stack_config
from policy.rules import RULES
from policy.rules.crossguard import stack_config

PROJECT_DIR = Path(__file__).resolve().parent.parent
LEVELS = {"mandatory": analyzer_pb2.MANDATORY, "advisory": analyzer_pb2.ADVISORY}


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack, started with the prod stack's config as the CLI would pass it."""
    env = {
        **os.environ,
        "PULUMI_CONFIG": json.dumps(load_stack_config(PROJECT_DIR, "prod")),
        "PULUMI_PROJECT": "serverless-uploads",
        "PULUMI_STACK": "prod",
        "PULUMI_DRY_RUN": "true",
    }
    with subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
        cwd=PROJECT_DIR / "policy",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            port = process.stdout.readline().strip()
            assert port.isdigit(), process.communicate()[1]
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield analyzer_pb2_grpc.AnalyzerStub(channel)
        finally:
            process.kill()
            process.communicate()


def test_the_pack_declares_every_rule_with_its_level_and_remediation(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    declared = [(p.name, p.enforcementLevel, p.remediation_steps) for p in info.policies]
    assert declared == [(r.id, LEVELS[r.level], r.remediation) for r in RULES]
    kinds = {p.name: p.policy_type for p in info.policies}
    for rule in RULES:
        resource_rule = analyzer_pb2.POLICY_TYPE_RESOURCE
        expected = resource_rule if rule.resource_types else analyzer_pb2.POLICY_TYPE_STACK
        assert kinds[rule.id] == expected, rule.id


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    """Inputs as JSON values (archives left out: no rule reads them)."""
    plain = json.loads(json.dumps(props, default=lambda _: None))
    return json_format.ParseDict(plain, struct_pb2.Struct())


def analyzer_resource(resource: Resource, **props: Any) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        urn=resource.urn,
        type=resource.type,
        name=resource.name,
        properties=struct({**resource.inputs, **props}),
        options=analyzer_pb2.AnalyzerResourceOptions(
            protect=resource.protect, parent=resource.parent or ""
        ),
        parent=resource.parent or "",
        dependencies=list(resource.dependencies),
    )


def analyze_stack(analyzer, resources: list[analyzer_pb2.AnalyzerResource]) -> dict[str, int]:
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    return {d.policyName: d.enforcementLevel for d in response.diagnostics}


def test_the_prod_stack_passes_the_pack(analyzer, stack_graphs):
    graph = stack_graphs("prod")
    resources = [analyzer_resource(r) for r in graph if r.custom]
    assert set(analyze_stack(analyzer, resources)) == set()


def test_the_pack_reads_protect_data_from_the_stack_config(analyzer, stack_graphs):
    """protectData reaches the pack through PULUMI_CONFIG: an unprotected bucket fails prod."""
    graph = stack_graphs("prod")
    bucket = graph.named("uploads-bucket-bucket")
    resources = [
        analyzer_resource(r)
        if r is not bucket
        else analyzer_resource(Resource(**{**vars(r), "protect": False}))
        for r in graph
        if r.custom
    ]
    found = analyze_stack(analyzer, resources)
    assert found["UPL-PROTECT-DATA"] == analyzer_pb2.MANDATORY


def analyze(analyzer, resource: Resource, **props: Any) -> dict[str, int]:
    request = analyzer_resource(resource, **props)
    response = analyzer.Analyze(
        analyzer_pb2.AnalyzeRequest(
            urn=request.urn,
            type=request.type,
            name=request.name,
            properties=request.properties,
            options=request.options,
        )
    )
    return {d.policyName: d.enforcementLevel for d in response.diagnostics}


def test_resource_validation_reports_a_violating_resource(analyzer, stack_graphs):
    queue = stack_graphs("prod").named("uploads-uploads-dead-letter-queue")
    assert analyze(analyzer, queue) == {}
    assert analyze(analyzer, queue, sqsManagedSseEnabled=False) == {"SQS.1": analyzer_pb2.MANDATORY}


def test_values_unknown_during_preview_are_not_violations(analyzer, stack_graphs):
    group = stack_graphs("prod").named("uploads-api-log-group")
    assert analyze(analyzer, group, retentionInDays=0) == {"CKV_AWS_66": analyzer_pb2.MANDATORY}
    assert analyze(analyzer, group, retentionInDays=proxy.UNKNOWN_NUMBER_VALUE) == {}


def test_stack_config_reads_the_clis_pulumi_config_in_wire_form():
    raw = {
        "serverless-uploads:protectData": True,
        "serverless-uploads:auth": "cognito",
        "aws:defaultTags": {"tags": {"stack": "prod"}},
    }
    assert stack_config({"PULUMI_CONFIG": json.dumps(raw)}) == {
        "serverless-uploads:protectData": "true",
        "serverless-uploads:auth": "cognito",
        "aws:defaultTags": '{"tags": {"stack": "prod"}}',
    }
    assert stack_config({}) == {}
