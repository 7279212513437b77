"""UploadService on its own: defaults build the whole service; settings map onto its arguments."""

from __future__ import annotations

import dataclasses

import pulumi
import pytest

from components.http_api import HttpApiArgs
from components.storage import StorageBucketArgs
from components.upload_service import UploadService, UploadServiceArgs
from tests.settings_support import stack

CORS = "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration"


def test_defaults_build_the_service_and_expose_its_url(build):
    def program():
        service = UploadService("svc")
        pulumi.export("url", service.url)

    graph = build(program)
    api = graph.one("aws:apigatewayv2/api:Api")
    assert graph.outputs == {"url": api.outputs["apiEndpoint"]}
    memory = {f.name: f.inputs["memorySize"] for f in graph.of_type("aws:lambda/function:Function")}
    assert memory == {"svc-uploads-function": 256, "svc-on-upload-function": 512}
    for function in graph.of_type("aws:lambda/function:Function"):
        assert function.inputs.get("reservedConcurrentExecutions") is None, function.urn
    assert graph.misnamed() == []


def test_settings_map_onto_the_components():
    args = stack(
        logRetentionDays=30,
        functionMemoryMb=512,
        throttleBurstLimit=7,
        corsOrigins=("https://app.example.com",),
        bucketKmsKey="create",
        protectData=True,
        retainData=True,
        thumbnailMaxPx=128,
    )
    assert args.function.log_retention_days == 30
    assert args.function.memory_mb == 512
    assert args.api.log_retention_days == 30
    assert args.api.throttling_burst_limit == 7
    assert args.api.cors_origins == ("https://app.example.com",)
    assert args.bucket.cors_origins == ("https://app.example.com",)
    assert args.bucket.kms_key == "create"
    assert args.bucket.protect is True
    assert args.bucket.retain is True
    assert stack().bucket.retain is False
    assert args.thumbnail_max_px == 128
    assert stack().bucket.kms_key is None


def test_auth_settings_map_onto_the_user_pool_and_the_api():
    args = stack(
        auth="cognito",
        authSelfSignUp=True,
        authAccessTokenMinutes=15,
        authIdTokenMinutes=30,
        authRefreshTokenDays=7,
        retainData=True,
    )
    assert args.auth == "cognito"
    pool = args.user_pool
    assert (pool.self_sign_up, pool.access_token_minutes, pool.id_token_minutes) == (True, 15, 30)
    assert pool.refresh_token_days == 7
    assert (pool.protect, pool.retain) == (False, True)
    assert stack(protectData=True).user_pool.protect
    jwt = stack(auth="jwt", authIssuer="https://id.example.com", authAudience=("api",))
    assert (jwt.auth, jwt.jwt_issuer, tuple(jwt.jwt_audience)) == (
        "jwt",
        "https://id.example.com",
        ("api",),
    )


def test_bad_auth_arguments_are_refused():
    with pytest.raises(ValueError, match='auth "jwt" needs jwt_issuer and jwt_audience'):
        UploadServiceArgs(auth="jwt", jwt_issuer="https://id.example.com")
    with pytest.raises(ValueError, match='read only with auth "jwt"'):
        UploadServiceArgs(auth="cognito", jwt_audience=("x",))
    with pytest.raises(ValueError, match="auth: must be one of none, cognito, jwt, got 'oauth'"):
        UploadServiceArgs(auth="oauth")  # type: ignore[arg-type]


def test_each_function_gets_its_own_reserved_concurrency(build):
    args = UploadServiceArgs(uploads_reserved_concurrency=200, on_upload_reserved_concurrency=50)
    graph = build(lambda: UploadService("svc", args))
    reserved = {
        f.name: f.inputs["reservedConcurrentExecutions"]
        for f in graph.of_type("aws:lambda/function:Function")
    }
    assert reserved == {"svc-uploads-function": 200, "svc-on-upload-function": 50}


def test_reserved_concurrency_settings_map_minus_one_to_none():
    unset = stack()
    assert (unset.uploads_reserved_concurrency, unset.on_upload_reserved_concurrency) == (
        None,
        None,
    )
    both = stack(uploadsReservedConcurrency=120, onUploadReservedConcurrency=30)
    assert (both.uploads_reserved_concurrency, both.on_upload_reserved_concurrency) == (120, 30)


def cors_rules(graph):
    return graph.one(CORS).inputs["corsRules"]


def test_bucket_cors_allows_the_pages_own_origin_to_post(build):
    graph = build(lambda: UploadService("svc"))
    endpoint = graph.one("aws:apigatewayv2/api:Api").outputs["apiEndpoint"]
    [rule] = cors_rules(graph)
    assert rule["allowedOrigins"] == [endpoint]
    assert "POST" in rule["allowedMethods"]
    assert graph.one(CORS).inputs["bucket"] == graph.one("aws:s3/bucket:Bucket").outputs["bucket"]
    assert graph.misnamed() == []


def test_bucket_cors_keeps_configured_origins_and_adds_post(build):
    args = UploadServiceArgs(
        bucket=StorageBucketArgs(cors_origins=("https://app.example.com",), cors_methods=("GET",))
    )
    graph = build(lambda: UploadService("svc", args))
    endpoint = graph.one("aws:apigatewayv2/api:Api").outputs["apiEndpoint"]
    [rule] = cors_rules(graph)
    assert rule["allowedOrigins"] == ["https://app.example.com", endpoint]
    assert rule["allowedMethods"] == ["GET", "POST"]


@pytest.mark.parametrize("disable_endpoint", [False, True])
def test_bucket_cors_follows_a_custom_domain(build, disable_endpoint):
    api = HttpApiArgs(
        routes={},
        domain_name="uploads.example.com",
        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
        disable_execute_api_endpoint=disable_endpoint,
    )
    graph = build(lambda: UploadService("svc", UploadServiceArgs(api=api)))
    endpoint = graph.one("aws:apigatewayv2/api:Api").outputs["apiEndpoint"]
    [rule] = cors_rules(graph)
    expected = ["https://uploads.example.com"] + ([] if disable_endpoint else [endpoint])
    assert rule["allowedOrigins"] == expected


def test_the_page_route_stays_public_when_the_api_wants_jwts(build):
    api = HttpApiArgs(
        routes={},
        default_authorization="JWT",
        jwt_issuer="https://issuer.example.com",
        jwt_audience=["client"],
    )
    graph = build(lambda: UploadService("svc", UploadServiceArgs(api=api)))
    kinds = {
        r.inputs["routeKey"]: r.inputs["authorizationType"]
        for r in graph.of_type("aws:apigatewayv2/route:Route")
    }
    assert kinds.pop("GET /") == "NONE"
    assert set(kinds.values()) == {"JWT"}


def test_image_limits_follow_on_upload_memory_and_reach_both_functions(build):
    def program():
        UploadService("svc", UploadServiceArgs(on_upload_memory_mb=1024))

    graph = build(program)
    functions = {f.name: f.inputs for f in graph.of_type("aws:lambda/function:Function")}
    limits = UploadServiceArgs(on_upload_memory_mb=1024).image_limits()
    smaller = UploadServiceArgs().image_limits()
    assert functions["svc-on-upload-function"]["memorySize"] == 1024
    assert smaller.max_pixels < limits.max_pixels
    for inputs in functions.values():
        env = inputs["environment"]["variables"]
        assert env["IMAGE_MAX_PIXELS"] == str(limits.max_pixels)
        assert env["IMAGE_MAX_FRAMES"] == str(limits.max_frames)
        assert env["JPEG_MAX_SCANS"] == str(limits.max_jpeg_scans)


def test_on_upload_too_small_to_decode_anything_is_a_clear_error():
    function = dataclasses.replace(UploadServiceArgs().function, timeout_seconds=1)
    with pytest.raises(ValueError, match=r"UploadService: on_upload_memory_mb: .*1-megapixel"):
        UploadServiceArgs(on_upload_memory_mb=256, function=function)


def test_on_upload_memory_comes_from_its_own_setting():
    args = stack(functionMemoryMb=512, onUploadMemoryMb=640)

    assert (args.function.memory_mb, args.on_upload_memory_mb) == (512, 640)
