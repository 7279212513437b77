"""HttpApi: routes, integrations, permissions, stage, CORS, authorization and domains, asserted on
what would reach AWS."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pulumi
import pytest

from components._wire import ArgumentError
from components.http_api import (
    ACCESS_LOG_FORMAT,
    PERMISSION_COLLAPSE_THRESHOLD,
    HttpApi,
    HttpApiArgs,
    Route,
)
from offline import ResourceGraph

API = "aws:apigatewayv2/api:Api"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
ROUTE = "aws:apigatewayv2/route:Route"
STAGE = "aws:apigatewayv2/stage:Stage"
AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
DOMAIN = "aws:apigatewayv2/domainName:DomainName"
MAPPING = "aws:apigatewayv2/apiMapping:ApiMapping"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
PERMISSION = "aws:lambda/permission:Permission"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"


@dataclass(frozen=True)
class FakeFunction:
    """Anything exposing a function's name, ARN and invoke ARN plugs into routes.

    The outputs are made when read, inside a test's Pulumi runtime. These fakes also fill
    parametrize lists, which run at import: an Output made then belongs to no deployment's event
    loop, and a later program's synchronous invoke (the preflight's) waits on it forever."""

    pulumi_resource_name: str

    @property
    def name(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input(self.pulumi_resource_name)

    @property
    def arn(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input(
            f"arn:aws:lambda:us-east-1:123456789012:function:{self.pulumi_resource_name}"
        )

    @property
    def invoke_arn(self) -> pulumi.Output[str]:
        return self.arn.apply(
            lambda arn: (
                f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"
            )
        )


def fake_function(name: str) -> FakeFunction:
    return FakeFunction(name)


def five_routes() -> dict:
    uploads, files = fake_function("uploads"), fake_function("files")
    return {
        "POST /uploads": uploads,
        "GET /uploads": uploads,
        "GET /uploads/{id}": uploads,
        "DELETE /uploads/{id}": uploads,
        "ANY /files/{proxy+}": files,
    }


def api_graph(build, routes=None, **kwargs) -> ResourceGraph:
    args = HttpApiArgs(routes=routes if routes is not None else five_routes(), **kwargs)
    return build(lambda: HttpApi("api", args))


def routes_by_key(graph: ResourceGraph) -> dict[str, dict]:
    return {r.inputs["routeKey"]: r.inputs for r in graph.of_type(ROUTE)}


def source_arns(graph: ResourceGraph, function: str) -> list[str]:
    return sorted(
        p.inputs["sourceArn"] for p in graph.of_type(PERMISSION) if p.inputs["function"] == function
    )


def execution_arn(graph: ResourceGraph) -> str:
    return graph.one(API).outputs["executionArn"]


# -- routes, integrations, permissions ---------------------------------------------------------


def test_component_type_token_and_children_named_after_it(build):
    graph = api_graph(build)
    component = graph.one("uploads:index:HttpApi", "api")
    assert len(graph.children(component)) == len(graph) - 1, "the component owns every resource"
    assert graph.misnamed() == []
    assert graph.one(API).inputs["protocolType"] == "HTTP"


def test_one_proxy_integration_per_function(build):
    graph = api_graph(build)
    integrations = graph.of_type(INTEGRATION)
    assert sorted(i.name for i in integrations) == [
        "api-integration-files",
        "api-integration-uploads",
    ]
    for integration in integrations:
        function = integration.name.removeprefix("api-integration-")
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
        assert integration.inputs["integrationType"] == "AWS_PROXY", integration.urn
        assert integration.inputs["integrationMethod"] == "POST", integration.urn
        assert integration.inputs["payloadFormatVersion"] == "2.0", integration.urn
        assert integration.inputs["timeoutMilliseconds"] == 30000, integration.urn
        assert integration.inputs["integrationUri"] == (
            f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"
        )
        assert integration.inputs["apiId"] == graph.one(API).outputs["id"]


def test_each_route_targets_its_own_functions_integration(build):
    graph = api_graph(build)
    target = {
        fn: "integrations/" + graph.one(INTEGRATION, f"api-integration-{fn}").outputs["id"]
        for fn in ("uploads", "files")
    }
    routes = routes_by_key(graph)
    assert routes.keys() == set(five_routes())
    for key, inputs in routes.items():
        expected = target["files" if key.startswith("ANY") else "uploads"]
        assert inputs["target"] == expected, key
        assert inputs["authorizationType"] == "NONE", key
        assert "authorizerId" not in inputs, key


def test_permission_per_route_with_exact_source_arns(build):
    graph = api_graph(build)
    arn = execution_arn(graph)
    assert arn.startswith("arn:aws:execute-api:us-east-1:123456789012:")
    assert source_arns(graph, "uploads") == sorted(
        [
            f"{arn}/*/POST/uploads",
            f"{arn}/*/GET/uploads",
            f"{arn}/*/GET/uploads/*",
            f"{arn}/*/DELETE/uploads/*",
        ]
    )
    assert source_arns(graph, "files") == [f"{arn}/*/*/files/*"]
    for permission in graph.of_type(PERMISSION):
        assert permission.inputs["principal"] == "apigateway.amazonaws.com", permission.urn
        assert permission.inputs["action"] == "lambda:InvokeFunction", permission.urn


def test_default_and_root_routes_get_their_own_source_arns(build):
    fn = fake_function("site")
    graph = api_graph(build, {"$default": fn, "GET /": fn})
    arn = execution_arn(graph)
    assert source_arns(graph, "site") == [f"{arn}/*/$default", f"{arn}/*/GET/"]
    assert set(routes_by_key(graph)) == {"$default", "GET /"}


def test_permissions_collapse_to_one_per_function_above_threshold(build):
    busy, quiet = fake_function("busy"), fake_function("quiet")
    routes = {f"GET /items/r{i}": busy for i in range(PERMISSION_COLLAPSE_THRESHOLD + 1)}
    routes["GET /health"] = quiet
    graph = api_graph(build, routes)
    arn = execution_arn(graph)
    assert source_arns(graph, "busy") == [f"{arn}/*/*"]
    assert source_arns(graph, "quiet") == [f"{arn}/*/GET/health"]
    assert len(graph.of_type(ROUTE)) == PERMISSION_COLLAPSE_THRESHOLD + 2


def test_permissions_stay_per_route_at_threshold(build):
    busy = fake_function("busy")
    routes = {f"GET /items/r{i}": busy for i in range(PERMISSION_COLLAPSE_THRESHOLD)}
    graph = api_graph(build, routes)
    assert len(source_arns(graph, "busy")) == PERMISSION_COLLAPSE_THRESHOLD
    assert f"{execution_arn(graph)}/*/*" not in source_arns(graph, "busy")


def test_route_names_stable_when_reordered(build):
    routes = five_routes()
    names = {}
    for order in (list(routes), list(reversed(routes))):
        graph = api_graph(build, {key: routes[key] for key in order})
        names[tuple(order)] = sorted(r.name for r in graph if r.type != "uploads:index:HttpApi")
    first, second = names.values()
    assert first == second
    assert "api-route-get-uploads-id" in first
    assert "api-permission-uploads-get-uploads-id" in first


def test_trailing_slash_is_normalised(build):
    graph = api_graph(build, {"GET /uploads/": fake_function("uploads")})
    assert set(routes_by_key(graph)) == {"GET /uploads"}


def test_integration_timeout_from_args(build):
    graph = api_graph(build, integration_timeout_seconds=10)
    assert {i.inputs["timeoutMilliseconds"] for i in graph.of_type(INTEGRATION)} == {10000}


# -- stage and logs ----------------------------------------------------------------------------


def test_default_stage_auto_deploys_with_json_access_logs(build):
    graph = api_graph(build)
    stage = graph.one(STAGE).inputs
    log_group = graph.one(LOG_GROUP)
    assert stage["name"] == "$default"
    assert stage["autoDeploy"] is True
    assert stage["apiId"] == graph.one(API).outputs["id"]
    settings = stage["accessLogSettings"]
    assert settings["destinationArn"] == log_group.outputs["arn"]
    assert settings["format"] == ACCESS_LOG_FORMAT
    log_format = json.loads(settings["format"])
    assert "\n" not in settings["format"]
    assert {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationErrorMessage": "$context.integrationErrorMessage",
    }.items() <= log_format.items()
    assert all(value.startswith("$context.") for value in log_format.values())


def test_log_group_retention_default_and_from_args(build):
    assert api_graph(build).one(LOG_GROUP).inputs["retentionInDays"] == 14
    graph = api_graph(build, log_retention_days=365)
    assert graph.one(LOG_GROUP).inputs["retentionInDays"] == 365
    assert "name" not in graph.one(LOG_GROUP).inputs, "auto-named, so stacks don't collide"


def test_access_log_group_is_a_vended_logs_group(build):
    log_group = api_graph(build).one(LOG_GROUP)
    assert log_group.inputs["namePrefix"] == "/aws/vendedlogs/apigateway/api-"
    assert log_group.outputs["name"].startswith("/aws/vendedlogs/apigateway/api-")


def test_default_throttling_from_args(build):
    stage = api_graph(build).one(STAGE).inputs
    assert stage["defaultRouteSettings"] == {
        "throttlingBurstLimit": 100,
        "throttlingRateLimit": 50,
        "detailedMetricsEnabled": False,
    }
    assert "routeSettings" not in stage
    args = {"throttling_burst_limit": 20, "throttling_rate_limit": 10, "detailed_metrics": True}
    stage = api_graph(build, **args).one(STAGE).inputs
    assert stage["defaultRouteSettings"] == {
        "throttlingBurstLimit": 20,
        "throttlingRateLimit": 10,
        "detailedMetricsEnabled": True,
    }


def test_per_route_throttling_in_route_settings_after_the_route(build):
    fn = fake_function("uploads")
    routes = {
        "POST /uploads": Route(fn, throttling_burst_limit=5, throttling_rate_limit=2),
        "GET /uploads": Route(fn, throttling_rate_limit=1),
        "GET /health": fn,
    }
    graph = api_graph(build, routes)
    stage = graph.one(STAGE)
    assert stage.inputs["routeSettings"] == [
        {
            "routeKey": "POST /uploads",
            "throttlingBurstLimit": 5,
            "throttlingRateLimit": 2,
            "detailedMetricsEnabled": False,
        },
        {
            "routeKey": "GET /uploads",
            "throttlingBurstLimit": 100,
            "throttlingRateLimit": 1,
            "detailedMetricsEnabled": False,
        },
    ]
    assert stage.depends_on(graph.one(ROUTE, "api-route-post-uploads"))
    assert stage.depends_on(graph.one(ROUTE, "api-route-get-uploads"))


def test_outputs_and_url_without_domain(build):
    seen = {}

    def program():
        api = HttpApi("api", HttpApiArgs(routes=five_routes()))
        for key in ("id", "name", "arn", "url", "execution_arn"):
            pulumi.export(key, getattr(api, key))
        seen.update(api=api.api, stage=api.stage, log_group=api.log_group)

    graph = build(program)
    api = graph.one(API)
    assert graph.outputs == {
        "id": api.outputs["id"],
        "name": api.outputs["name"],
        "arn": f"arn:aws:apigateway:us-east-1::/apis/{api.outputs['id']}",
        "url": f"https://{api.outputs['id']}.execute-api.us-east-1.amazonaws.com",
        "execution_arn": api.outputs["executionArn"],
    }
    assert api.outputs["name"].startswith("api-api-"), "auto-named per stack"
    assert seen["stage"].__class__.__name__ == "Stage"
    assert seen["log_group"].__class__.__name__ == "LogGroup"
    assert seen["api"].__class__.__name__ == "Api"


# -- CORS -------------------------------------------------------------------------------------


def test_no_cors_by_default(build):
    assert "corsConfiguration" not in api_graph(build).one(API).inputs


def test_cors_only_for_configured_origins(build):
    origins = ("https://app.example.com", "http://localhost:3000")
    graph = api_graph(build, cors_origins=origins, cors_methods=("GET", "POST"))
    assert graph.one(API).inputs["corsConfiguration"] == {
        "allowOrigins": list(origins),
        "allowMethods": ["GET", "POST"],
        "allowHeaders": ["authorization", "content-type"],
        "maxAge": 3600,
    }


# -- authorization ----------------------------------------------------------------------------


def test_jwt_authorizer_created_once_and_attached_only_to_jwt_routes(build):
    fn = fake_function("uploads")
    routes = {
        "POST /uploads": Route(fn, scopes=("uploads/write",)),
        "GET /uploads": fn,
        "GET /health": Route(fn, authorization="NONE"),
        "DELETE /uploads/{id}": Route(fn, authorization="AWS_IAM"),
    }
    graph = api_graph(
        build, routes, default_authorization="JWT", jwt_issuer=ISSUER, jwt_audience=("client",)
    )
    authorizer = graph.one(AUTHORIZER)
    assert authorizer.inputs["authorizerType"] == "JWT"
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"]
    assert authorizer.inputs["jwtConfiguration"] == {"issuer": ISSUER, "audiences": ["client"]}
    assert authorizer.inputs["apiId"] == graph.one(API).outputs["id"]
    by_key = routes_by_key(graph)
    for key in ("POST /uploads", "GET /uploads"):
        assert by_key[key]["authorizationType"] == "JWT", key
        assert by_key[key]["authorizerId"] == authorizer.outputs["id"], key
    assert by_key["POST /uploads"]["authorizationScopes"] == ["uploads/write"]
    assert "authorizationScopes" not in by_key["GET /uploads"]
    assert by_key["GET /health"]["authorizationType"] == "NONE"
    assert by_key["DELETE /uploads/{id}"]["authorizationType"] == "AWS_IAM"
    for key in ("GET /health", "DELETE /uploads/{id}"):
        assert "authorizerId" not in by_key[key], key


def test_jwt_only_on_routes_asking_when_default_is_none(build):
    fn = fake_function("uploads")
    routes = {"POST /uploads": Route(fn, authorization="JWT"), "GET /uploads": fn}
    graph = api_graph(
        build, routes, default_authorization="NONE", jwt_issuer=ISSUER, jwt_audience=("client",)
    )
    by_key = routes_by_key(graph)
    assert by_key["POST /uploads"]["authorizationType"] == "JWT"
    assert by_key["GET /uploads"]["authorizationType"] == "NONE"
    assert "authorizerId" not in by_key["GET /uploads"]


def test_iam_authorization_by_default_without_authorizer(build):
    graph = api_graph(build, default_authorization="AWS_IAM")
    assert {r["authorizationType"] for r in routes_by_key(graph).values()} == {"AWS_IAM"}
    assert AUTHORIZER not in graph.types()


# -- custom domain ----------------------------------------------------------------------------


def test_no_custom_domain_by_default(build):
    graph = api_graph(build)
    assert DOMAIN not in graph.types()
    assert MAPPING not in graph.types()
    assert graph.one(API).inputs["disableExecuteApiEndpoint"] is False


def test_custom_domain_mapped_to_default_stage(build):
    def program():
        api = HttpApi(
            "api",
            HttpApiArgs(
                routes=five_routes(),
                domain_name="api.example.com",
                certificate_arn=CERTIFICATE,
                disable_execute_api_endpoint=True,
            ),
        )
        pulumi.export("url", api.url)

    graph = build(program)
    domain = graph.one(DOMAIN)
    assert domain.inputs["domainName"] == "api.example.com"
    assert domain.inputs["domainNameConfiguration"] == {
        "certificateArn": CERTIFICATE,
        "endpointType": "REGIONAL",
        "securityPolicy": "TLS_1_2",
    }
    mapping = graph.one(MAPPING)
    assert mapping.inputs["apiId"] == graph.one(API).outputs["id"]
    assert mapping.inputs["domainName"] == "api.example.com"
    assert mapping.inputs["stage"] == "$default"
    assert mapping.depends_on(domain)
    assert mapping.depends_on(graph.one(STAGE))
    assert graph.one(API).inputs["disableExecuteApiEndpoint"] is True
    assert graph.outputs["url"] == "https://api.example.com"


# -- transforms -------------------------------------------------------------------------------


def test_transform_mapping_and_callable_per_child(build):
    def protect(props, opts):
        opts.protect = True

    transforms = {"route": {"operation_name": "op"}, "log_group": protect, "permission": protect}
    graph = api_graph(build, transforms=transforms)
    assert {r.inputs["operationName"] for r in graph.of_type(ROUTE)} == {"op"}
    assert graph.one(LOG_GROUP).protect
    assert all(p.protect for p in graph.of_type(PERMISSION))
    assert not graph.one(STAGE).protect


# -- bad arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("get /x", 'route "get /x" must look like "GET /path"'),
        ("FETCH /x", 'route "FETCH /x" must look like "GET /path"'),
        ("GET", 'route "GET" must look like "GET /path"'),
        ("", 'route "" must look like "GET /path"'),
        ("GET  /x", 'route "GET  /x" must look like "GET /path"'),
        ("GET x", 'route "GET x": the path must start with "/"'),
        ("GET /{proxy+}/x", 'route "GET /{proxy+}/x": greedy parameter {proxy+} must be the last'),
        ("GET /a b", 'route "GET /a b" must look like "GET /path"'),
        ("GET /a$b", 'route "GET /a$b": segment "a$b" may only hold'),
        ("GET /a//b", 'route "GET /a//b": segment "" may only hold'),
        ("GET /{a}/{a}", 'route "GET /{a}/{a}": path parameter names must be unique'),
        ("$DEFAULT", 'route "$DEFAULT" must look like "GET /path"'),
    ],
)
def test_bad_route_key_rejected_naming_component_and_key(build, key, message):
    with pytest.raises(Exception, match=re.escape(message)) as error:
        api_graph(build, {key: fake_function("uploads")})
    assert 'HttpApi "api"' in str(error.value)


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("GET /uploads", "GET /uploads/", "are the same route"),
        ("GET /uploads/{id}", "GET /uploads/{key}", "are the same route"),
        (
            "GET /uploads.x",
            "GET /uploads-x",
            'would share the resource name suffix "get-uploads-x"',
        ),
    ],
)
def test_duplicate_routes_rejected(build, first, second, message):
    fn = fake_function("uploads")
    expected = f'HttpApi "api": routes "{first}" and "{second}" {message}'
    with pytest.raises(Exception, match=re.escape(expected)):
        api_graph(build, {first: fn, second: fn})


def test_path_parameter_and_greedy_routes_are_distinct(build):
    fn = fake_function("uploads")
    graph = api_graph(build, {"GET /uploads/{id}": fn, "GET /uploads/{proxy+}": fn})
    assert set(routes_by_key(graph)) == {"GET /uploads/{id}", "GET /uploads/{proxy+}"}


def bad(**kwargs) -> dict:
    return {"routes": {"GET /x": fake_function("x")}, **kwargs}


JWT = {"jwt_issuer": ISSUER, "jwt_audience": ("client",)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (bad(integration_timeout_seconds=31), "integration_timeout_seconds: .* 30, got 31"),
        (bad(integration_timeout_seconds=0), "integration_timeout_seconds: .* 30, got 0"),
        (bad(log_retention_days=10), "log_retention_days: must be one of 1, 3, .*, got 10"),
        (bad(throttling_burst_limit=-1), "throttling_burst_limit: .* 0 and 5000, got -1"),
        (bad(throttling_burst_limit=5001), "throttling_burst_limit: .* 0 and 5000, got 5001"),
        (bad(throttling_rate_limit=-5), "throttling_rate_limit: .* 0 and 10000, got -5"),
        (bad(throttling_rate_limit="50"), "throttling_rate_limit: must be an integer, got '50'"),
        (bad(cors_origins=("*",)), r"cors_origins: \[0\] .* would let any site call"),
        (bad(cors_origins=("https://a.example.com/path",)), r"cors_origins: \[0\] must be"),
        (bad(cors_max_age_seconds=86401), "cors_max_age_seconds: .* 0 and 86400, got 86401"),
    ],
)
def test_bad_fields_are_refused_when_the_args_are_built(args, message):
    with pytest.raises(ArgumentError, match=f"^HttpApi: {message}"):
        HttpApiArgs(**args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (bad(routes={}), "routes must hold at least one route"),
        (bad(cors_origins=("https://a.example.com",), cors_methods=("FETCH",)), "FETCH"),
        (bad(default_authorization="JWT"), 'route "GET /x" uses JWT authorization'),
        (
            bad(routes={"GET /x": Route(fake_function("x"), authorization="JWT")}),
            'route "GET /x" uses JWT authorization, but jwt_issuer is not set',
        ),
        (bad(**JWT), "jwt_issuer is set, so choose default_authorization explicitly"),
        (
            bad(default_authorization="JWT", jwt_issuer="http://issuer.example.com"),
            "jwt_issuer 'http://issuer.example.com' must be an https:// URL",
        ),
        (
            bad(default_authorization="JWT", jwt_issuer=ISSUER),
            "jwt_audience must list at least one audience",
        ),
        (bad(default_authorization="jwt"), "default_authorization .* got 'jwt'"),
        (
            bad(routes={"GET /x": Route(fake_function("x"), authorization="IAM")}),
            "route \"GET /x\": authorization must be one of .* got 'IAM'",
        ),
        (
            bad(routes={"GET /x": Route(fake_function("x"), scopes=("read",))}),
            'route "GET /x": scopes need JWT authorization',
        ),
        (
            bad(routes={"GET /x": Route(fake_function("x"), throttling_rate_limit=-1)}),
            'route "GET /x": throttling_rate_limit must be >= 0',
        ),
        (bad(domain_name="api.example.com"), "domain_name and certificate_arn together"),
        (bad(certificate_arn=CERTIFICATE), "domain_name and certificate_arn together"),
        (
            bad(domain_name="https://api.example.com", certificate_arn=CERTIFICATE),
            "domain_name 'https://api.example.com' must be a lowercase DNS name",
        ),
        (
            bad(domain_name="api.example.com\n", certificate_arn=CERTIFICATE),
            "must be a lowercase DNS name",
        ),
        (bad(routes={"GET /x\n": fake_function("x")}), 'segment "x\n" may only hold'),
        (bad(disable_execute_api_endpoint=True), "unreachable"),
        (bad(routes={"GET /x": "not a function"}), 'route "GET /x" needs a function'),
        (bad(transforms={"routes": {}}), r"unknown transform keys \['routes'\]"),
    ],
)
def test_bad_arguments_raise_clear_errors(build, args, message):
    with pytest.raises(Exception, match=message) as error:
        build(lambda: HttpApi("api", HttpApiArgs(**args)))
    assert 'HttpApi "api"' in str(error.value)


def test_two_functions_with_one_name_rejected(build):
    routes = {"GET /a": fake_function("same"), "GET /b": fake_function("same")}
    with pytest.raises(Exception, match='HttpApi "api": route "GET /b": two different functions'):
        api_graph(build, routes)
