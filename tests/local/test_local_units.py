"""Local mode's parts without a server: what it reads from the graph, API Gateway's rules, and the
S3 event moto delivers."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from local.apigw import (
    ApiRequest,
    ApiResponse,
    InvalidResponseError,
    add_cors_headers,
    build_event,
    match_route,
    parse_response,
    preflight,
)
from local.functions import InvokeResult
from local.gateway import Gateway
from local.storage import LocalStorage
from local.topology import (
    ApiSpec,
    BucketSpec,
    CorsSpec,
    FunctionSpec,
    RouteSpec,
    Subscription,
    read_topology,
)

FUNCTION = FunctionSpec(
    label="fn",
    name="fn-123",
    arn="arn:aws:lambda:us-east-1:123456789012:function:fn-123",
    handler="handler.handler",
    runtime="python3.13",
    architecture="arm64",
    archive=Path("fn.zip"),
    memory_mb=128,
    timeout_seconds=3,
    environment={},
    log_group="fn-logs",
)


def _routes(*keys: str) -> list[RouteSpec]:
    return [RouteSpec(key, FUNCTION) for key in keys]


def _request(method: str = "GET", path: str = "/", **kwargs) -> ApiRequest:
    defaults = {
        "raw_query": "",
        "headers": [("Host", "127.0.0.1:8000")],
        "body": b"",
        "source_ip": "127.0.0.1",
        "request_id": "req-1",
        "time_epoch_ms": 1_700_000_000_000,
    }
    return ApiRequest(method, path, **{**defaults, **kwargs})


@pytest.fixture(scope="module")
def dev_topology(stack_graphs):
    return read_topology(stack_graphs("dev"), stack="dev", region="us-east-1")


def test_topology_serves_every_route_of_the_program_with_its_function(dev_topology, stack_graphs):
    graph = stack_graphs("dev")
    (api,) = dev_topology.apis
    route_keys = {r.inputs["routeKey"] for r in graph.of_type("aws:apigatewayv2/route:Route")}

    assert {r.key for r in api.routes} == route_keys
    assert {r.function.label for r in api.routes} == {"uploads-uploads"}
    assert all(r.permitted for r in api.routes)
    assert all(r.payload_format == "2.0" for r in api.routes)
    assert api.cors is not None
    assert "http://localhost:5173" in api.cors.allow_origins


def test_topology_reads_functions_bucket_and_subscriptions_from_the_graph(dev_topology):
    functions = {f.label: f for f in dev_topology.functions}
    (bucket,) = dev_topology.buckets
    (subscription,) = bucket.subscriptions

    assert functions["uploads-uploads"].environment["BUCKET_NAME"] == bucket.name
    assert functions["uploads-on-upload"].archive.is_file()
    assert functions["uploads-on-upload"].retry_attempts == 2
    assert "dead-letter-queue" in functions["uploads-on-upload"].on_failure
    assert bucket.versioning
    assert bucket.cors_rules
    assert subscription.function is functions["uploads-on-upload"]
    assert (subscription.prefix, subscription.events) == ("uploads/", ("s3:ObjectCreated:*",))


def test_most_specific_route_wins_and_default_catches_the_rest():
    routes = _routes("ANY /files/{path+}", "GET /files/{id}", "GET /files/readme", "$default")

    assert match_route(routes, "GET", "/files/readme").route.key == "GET /files/readme"
    assert match_route(routes, "GET", "/files/7").path_parameters == {"id": "7"}
    greedy = match_route(routes, "POST", "/files/a/b%20c")
    assert (greedy.route.key, greedy.path_parameters) == ("ANY /files/{path+}", {"path": "a/b c"})
    assert match_route(routes, "GET", "/other").route.key == "$default"
    assert match_route(_routes("GET /files"), "GET", "/files/") is None


def test_event_is_payload_format_2_0():
    request = _request(
        "POST",
        "/files/7",
        raw_query="a=1&a=2&b=x%20y",
        headers=[
            ("Host", "127.0.0.1:8000"),
            ("X-Custom", "one"),
            ("x-custom", "two"),
            ("Cookie", "s=1; t=2"),
            ("Content-Type", "application/json"),
        ],
        body=b'{"k": 1}',
    )
    matched = match_route(_routes("POST /files/{id}"), "POST", "/files/7")

    event = build_event(request, matched, "api123")

    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /files/{id}"
    assert (event["rawPath"], event["rawQueryString"]) == ("/files/7", "a=1&a=2&b=x%20y")
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["headers"]["x-custom"] == "one,two"
    assert "cookie" not in event["headers"]
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["pathParameters"] == {"id": "7"}
    assert (event["body"], event["isBase64Encoded"]) == ('{"k": 1}', False)
    context = event["requestContext"]
    assert context["http"]["method"] == "POST"
    assert (context["requestId"], context["timeEpoch"]) == ("req-1", 1_700_000_000_000)
    assert context["stage"] == "$default"


def test_binary_body_is_base64_encoded():
    data = b"\x89PNG\r\n\x1a\n\x00\xff"
    request = _request("POST", "/x", headers=[("Content-Type", "image/png")], body=data)
    matched = match_route(_routes("POST /x"), "POST", "/x")

    event = build_event(request, matched, "api")

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data


def test_response_without_status_code_is_json_200():
    response = parse_response({"hello": "world"})

    assert response.status == 200
    assert ("content-type", "application/json") in response.headers
    assert json.loads(response.body) == {"hello": "world"}


def test_response_body_is_decoded_and_cookies_become_set_cookie():
    response = parse_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png"},
            "cookies": ["a=1", "b=2"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )

    assert (response.status, response.body) == (201, b"\x00\x01")
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1", "b=2"]


@pytest.mark.parametrize("status", ["200", 99, True, None])
def test_invalid_status_code_is_an_invalid_response(status):
    with pytest.raises(InvalidResponseError):
        parse_response({"statusCode": status})


def test_cors_replaces_the_integrations_headers_with_the_configured_ones():
    cors = CorsSpec(("https://app.example",), ("GET",), ("content-type",), ("x-total",), 60)
    response = ApiResponse(200, [("access-control-allow-origin", "*"), ("x-a", "1")])

    add_cors_headers(cors, _request(headers=[("Origin", "https://app.example")]), response)

    assert ("access-control-allow-origin", "https://app.example") in response.headers
    assert ("access-control-expose-headers", "x-total") in response.headers
    assert ("access-control-allow-origin", "*") not in response.headers


def test_preflight_refuses_a_method_or_header_outside_the_configuration():
    cors = CorsSpec(("https://app.example",), ("GET",), ("content-type",), (), 60)
    asked = [("Origin", "https://app.example"), ("Access-Control-Request-Method", "DELETE")]

    refused = preflight(cors, _request("OPTIONS", headers=asked))
    allowed = preflight(
        cors, _request("OPTIONS", headers=[asked[0], ("Access-Control-Request-Method", "GET")])
    )

    assert refused.status == 204
    assert refused.headers == []
    assert ("access-control-allow-methods", "GET") in allowed.headers
    assert preflight(cors, _request("OPTIONS")) is None  # not a preflight: routed as usual


def test_s3_event_has_the_real_shape():
    storage = LocalStorage("us-east-1")
    storage.start()
    try:
        subscription = Subscription("on-png", FUNCTION, ("s3:ObjectCreated:*",), "in/", ".png")
        storage.create_bucket(BucketSpec("shape-bucket", True, (), (subscription,)))
        s3, sqs = storage.client("s3"), storage.client("sqs")
        put = s3.put_object(Bucket="shape-bucket", Key="in/a b+c.png", Body=b"12345")
        s3.put_object(Bucket="shape-bucket", Key="in/skip.txt", Body=b"x")  # suffix filtered out
        (queue,) = storage.event_queues
        bodies = [
            json.loads(m["Body"])
            for m in sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
        ]
    finally:
        storage.stop()

    records = [b["Records"][0] for b in bodies if "Records" in b]
    assert len(records) == 1
    record = records[0]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["configurationId"] == "on-png"
    obj = record["s3"]["object"]
    assert obj["key"] == "in/a+b%2Bc.png"
    assert obj["size"] == 5
    assert obj["eTag"] == put["ETag"].strip('"')
    assert obj["versionId"] == put["VersionId"]
    assert obj["sequencer"]


class _SlowRuntime:
    """Stands in for a FunctionRuntime whose handler takes `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0

    def invoke(self, event):
        self.calls += 1
        time.sleep(self.seconds)
        return InvokeResult("req", payload={"statusCode": 200, "body": "late"})


def _gateway(route: RouteSpec, runtime: _SlowRuntime) -> Gateway:
    api = ApiSpec("api", "https://api.example", (route,), None, "arn:aws:execute-api:x")
    return Gateway(api, {FUNCTION.name: runtime}, log=lambda _: None)


def test_integration_timeout_answers_503():
    runtime = _SlowRuntime(0.5)
    gateway = _gateway(RouteSpec("GET /slow", FUNCTION, timeout_ms=100), runtime)

    response, label = gateway.handle(_request("GET", "/slow"))

    assert response.status == 503
    assert json.loads(response.body) == {"message": "Service Unavailable"}
    assert (label, runtime.calls) == ("fn", 1)
    gateway.close()


def test_route_without_lambda_permission_answers_500_without_invoking():
    runtime = _SlowRuntime(0)
    gateway = _gateway(RouteSpec("GET /x", FUNCTION, permitted=False), runtime)

    response, label = gateway.handle(_request("GET", "/x"))

    assert response.status == 500
    assert json.loads(response.body) == {"message": "Internal Server Error"}
    assert (label, runtime.calls) == ("-", 0)
    gateway.close()


def test_jwt_route_answers_401_before_the_function_runs():
    runtime = _SlowRuntime(0)
    gateway = _gateway(RouteSpec("GET /x", FUNCTION, authorization_type="JWT"), runtime)

    response, _ = gateway.handle(_request("GET", "/x"))

    assert response.status == 401
    assert json.loads(response.body) == {"message": "Unauthorized"}
    assert runtime.calls == 0
    gateway.close()
