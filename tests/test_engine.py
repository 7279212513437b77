"""The offline engine: what it records, that it fails on deprecated APIs, that it never hangs."""

from __future__ import annotations

import warnings
from importlib.metadata import version
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from offline import DeprecatedApiError, ProgramError, deprecations, index_cache, run_program
from offline.deprecations import deprecated_inputs, deprecated_resource_types


def small_program() -> None:
    component = pulumi.ComponentResource("uploads:index:Demo", "demo")
    child = pulumi.ResourceOptions(parent=component)
    bucket = aws.s3.Bucket(
        "demo-bucket", opts=pulumi.ResourceOptions(parent=component, protect=True)
    )
    aws.s3.BucketVersioning(
        "demo-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True)),
    )
    pulumi.export("bucket", bucket.bucket)


def test_records_type_name_parent_dependencies_options_and_inputs():
    graph = run_program(small_program)
    component = graph.one("uploads:index:Demo")
    bucket = graph.one("aws:s3/bucket:Bucket")
    versioning = graph.one("aws:s3/bucketVersioning:BucketVersioning")
    assert bucket.parent == component.urn
    assert graph.children(component) == [bucket, versioning]
    assert bucket.protect
    assert not bucket.retain_on_delete
    assert versioning.retain_on_delete
    assert not versioning.protect
    assert versioning.depends_on(bucket)
    assert versioning.explicit_dependencies == (), "the bucket comes through an input"
    assert versioning.inputs == {
        "bucket": bucket.outputs["bucket"],
        "versioningConfiguration": {"status": "Enabled"},
    }
    assert graph.outputs == {"bucket": bucket.outputs["bucket"]}


def test_explicit_depends_on_told_apart_from_input_dependencies():
    def program() -> None:
        first = aws.s3.Bucket("first")
        aws.s3.BucketVersioning(
            "second",
            bucket=first.id,
            versioning_configuration={"status": "Enabled"},
            opts=pulumi.ResourceOptions(depends_on=[aws.s3.Bucket("third")]),
        )

    graph = run_program(program)
    second = graph.named("second")
    assert set(second.dependencies) == {graph.named("first").urn, graph.named("third").urn}
    assert second.explicit_dependencies == (graph.named("third").urn,)


def test_misnamed_lists_children_not_named_after_their_parent():
    def program() -> None:
        component = pulumi.ComponentResource("uploads:index:Demo", "demo")
        aws.s3.Bucket("demo-good", opts=pulumi.ResourceOptions(parent=component))
        aws.s3.Bucket("stray", opts=pulumi.ResourceOptions(parent=component))

    assert [r.name for r in run_program(program).misnamed()] == ["stray"]


def test_runs_are_isolated_and_deterministic():
    first = run_program(small_program)
    second = run_program(small_program)
    assert [(r.urn, dict(r.inputs)) for r in first] == [(r.urn, dict(r.inputs)) for r in second]


def test_stack_name_changes_physical_names():
    dev = run_program(small_program, stack="dev").one("aws:s3/bucket:Bucket")
    prod = run_program(small_program, stack="prod").one("aws:s3/bucket:Bucket")
    assert dev.outputs["bucket"] != prod.outputs["bucket"]


def test_deprecated_resource_fails_the_run():
    def program() -> None:
        aws.s3.BucketVersioningV2("old", bucket="b", versioning_configuration={"status": "Enabled"})

    with pytest.raises(DeprecatedApiError, match="BucketVersioningV2 is deprecated"):
        run_program(program)


def test_deprecated_argument_fails_the_run_when_logged():
    def program() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            aws.s3.Bucket("old", aws.s3.BucketArgs(acl="private"))

    with pytest.raises(DeprecatedApiError, match="acl is deprecated: acl is deprecated"):
        run_program(program)


def test_deprecated_argument_fails_the_run_when_passed_as_keyword():
    """pulumi_aws logs nothing for a deprecated keyword argument; the engine still catches it."""

    def program() -> None:
        aws.s3.Bucket("old", versioning={"enabled": True})

    with pytest.raises(DeprecatedApiError, match="versioning is deprecated"):
        run_program(program)


def test_program_error_names_the_stack_and_cause():
    def program() -> None:
        raise ValueError("bucket name too long")

    with pytest.raises(ProgramError, match="serverless-uploads/test: bucket name too long"):
        run_program(program)


def test_known_deprecated_types_include_the_v2_s3_resources():
    deprecated = deprecated_resource_types()
    assert "aws:s3/bucketV2:BucketV2" in deprecated
    assert "aws:s3/bucketVersioningV2:BucketVersioningV2" in deprecated
    assert "aws:s3/bucket:Bucket" not in deprecated


def test_the_deprecation_index_is_cached_per_pulumi_aws_version(tmp_path, monkeypatch):
    monkeypatch.setenv("UPLOADS_BUILD_CACHE", str(tmp_path))
    fresh = deprecations._read_index()
    assert set(fresh["types"]) == deprecated_resource_types()
    assert fresh["inputs"] == deprecated_inputs()
    reads: list[str] = []

    def read() -> dict:
        reads.append("read")
        return fresh

    first = index_cache.cached_index("deps", "pulumi_aws", Path(deprecations.__file__), read)
    again = index_cache.cached_index("deps", "pulumi_aws", Path(deprecations.__file__), read)
    assert first == again == fresh
    assert reads == ["read"]  # the second run reads the cache, not pulumi_aws's sources
    [entry] = (tmp_path / "offline").iterdir()
    assert f"-{version('pulumi_aws')}-" in entry.name
    entry.write_text("{not json", encoding="utf-8")
    assert (
        index_cache.cached_index("deps", "pulumi_aws", Path(deprecations.__file__), read) == fresh
    )
    assert reads == ["read", "read"]  # a damaged entry is rebuilt


def test_many_runs_in_a_row_finish():
    """The SDK's mock runtime can hang at random (pulumi/pulumi#7663); the engine runs RPCs inline.
    50 runs of a program with dependent resources and an invoke all complete."""

    def program() -> None:
        small_program()
        pulumi.export("account", aws.get_caller_identity_output().account_id)

    outputs = [run_program(program).outputs["account"] for _ in range(50)]
    assert outputs == ["123456789012"] * 50
