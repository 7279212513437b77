"""The whole program per stack under the offline engine: resources, wiring, stack differences."""

from __future__ import annotations

import pytest

from offline.deprecations import deprecated_resource_types

STACKS = ["dev", "prod"]


@pytest.mark.parametrize("stack", STACKS)
def test_program_runs_and_exports(stack_graphs, stack):
    graph = stack_graphs(stack)
    bucket = graph.one("aws:s3/bucket:Bucket")
    assert graph.outputs["bucketName"] == bucket.outputs["bucket"]
    assert graph.outputs["bucketArn"] == bucket.outputs["arn"]


@pytest.mark.parametrize("stack", STACKS)
def test_no_registered_type_is_deprecated(stack_graphs, stack):
    used = stack_graphs(stack).types()
    assert not used & deprecated_resource_types()
    assert not any(t.endswith("V2") for t in used), sorted(used)


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_belongs_to_a_component_of_this_package(stack_graphs, stack):
    graph = stack_graphs(stack)
    for resource in graph:
        if resource.parent is None or resource.parent.endswith("pulumi:pulumi:Stack::"):
            continue
        top = resource
        while not top.parent.split("::")[-2].endswith("pulumi:pulumi:Stack"):
            top = graph.by_urn(top.parent)
        assert top.type.startswith("uploads:index:"), resource.urn


# Account-wide physical names: a fixed one would collide when dev and prod share an account.
NAMED = {
    "aws:s3/bucket:Bucket": "bucket",
    "aws:lambda/function:Function": "name",
    "aws:iam/role:Role": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:sqs/queue:Queue": "name",
    "aws:apigatewayv2/api:Api": "name",
}


def test_physical_names_differ_between_stacks(stack_graphs):
    def names(stack: str) -> set[tuple[str, str]]:
        graph = stack_graphs(stack)
        return {(r.type, r.outputs[NAMED[r.type]]) for r in graph if r.type in NAMED}

    assert names("dev")
    assert not names("dev") & names("prod")


def test_prod_protects_and_retains_data_dev_does_not(stack_graphs):
    dev = stack_graphs("dev").one("aws:s3/bucket:Bucket")
    prod = stack_graphs("prod").one("aws:s3/bucket:Bucket")
    assert prod.protect
    assert prod.retain_on_delete
    assert prod.inputs["forceDestroy"] is False
    assert not dev.protect
    assert not dev.retain_on_delete
    assert dev.inputs["forceDestroy"] is True


def test_prod_encrypts_with_its_own_kms_key(stack_graphs):
    prod = stack_graphs("prod")
    key = prod.one("aws:kms/key:Key")
    assert key.protect
    assert "aws:kms/key:Key" not in stack_graphs("dev").types()
