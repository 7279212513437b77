"""UploadService on its own: defaults build the whole service; settings map onto its arguments."""

from __future__ import annotations

import pulumi

from components.config import StackSettings
from components.upload_service import UploadService, UploadServiceArgs


def test_defaults_build_the_service_and_expose_its_url(build):
    def program():
        service = UploadService("svc")
        pulumi.export("url", service.url)

    graph = build(program)
    api = graph.one("aws:apigatewayv2/api:Api")
    assert graph.outputs == {"url": api.outputs["apiEndpoint"]}
    memory = {f.name: f.inputs["memorySize"] for f in graph.of_type("aws:lambda/function:Function")}
    assert memory == {"svc-uploads-function": 256, "svc-on-upload-function": 1024}
    for function in graph.of_type("aws:lambda/function:Function"):
        assert function.inputs.get("reservedConcurrentExecutions") is None, function.urn
    assert graph.misnamed() == []


def test_settings_map_onto_the_components():
    settings = StackSettings(
        log_retention_days=30,
        function_memory_mb=512,
        throttle_burst_limit=7,
        cors_origins=("https://app.example.com",),
        bucket_kms_key="create",
        protect_data=True,
        retain_data=True,
        thumbnail_max_px=128,
    )
    args = UploadServiceArgs.from_settings(settings)
    assert args.function.log_retention_days == 30
    assert args.function.memory_mb == 512
    assert args.api.log_retention_days == 30
    assert args.api.throttling_burst_limit == 7
    assert args.api.cors_origins == ("https://app.example.com",)
    assert args.bucket.cors_origins == ("https://app.example.com",)
    assert args.bucket.kms_key == "create"
    assert args.bucket.protect is True
    assert args.bucket.retain is True
    assert UploadServiceArgs.from_settings(StackSettings()).bucket.retain is False
    assert args.thumbnail_max_px == 128
    assert UploadServiceArgs.from_settings(StackSettings()).bucket.kms_key is None


def test_each_function_gets_its_own_reserved_concurrency(build):
    args = UploadServiceArgs(uploads_reserved_concurrency=200, on_upload_reserved_concurrency=50)
    graph = build(lambda: UploadService("svc", args))
    reserved = {
        f.name: f.inputs["reservedConcurrentExecutions"]
        for f in graph.of_type("aws:lambda/function:Function")
    }
    assert reserved == {"svc-uploads-function": 200, "svc-on-upload-function": 50}


def test_reserved_concurrency_settings_map_minus_one_to_none():
    unset = UploadServiceArgs.from_settings(StackSettings())
    assert (unset.uploads_reserved_concurrency, unset.on_upload_reserved_concurrency) == (
        None,
        None,
    )
    both = UploadServiceArgs.from_settings(
        StackSettings(uploads_reserved_concurrency=120, on_upload_reserved_concurrency=30)
    )
    assert (both.uploads_reserved_concurrency, both.on_upload_reserved_concurrency) == (120, 30)
