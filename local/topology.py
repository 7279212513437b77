"""What local mode serves, read from the program's resource graph (never a second copy).

Routes come from the HttpApi's `apigatewayv2` routes, their integrations and the functions those
integrations invoke; functions from `lambda.Function` (handler, archive, environment, limits) and
their `FunctionEventInvokeConfig` (retries, on-failure destination); the bucket from
`s3.Bucket` with its versioning, CORS and the `BucketNotification` subscriptions.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.user_pools import UserPoolSpec, read_user_pools
from offline.graph import Resource, ResourceGraph

_FUNCTION = "aws:lambda/function:Function"
_PERMISSION = "aws:lambda/permission:Permission"
_COMPONENT_ROLE = "-function"


class TopologyError(Exception):
    """The graph holds something local mode cannot serve; the message says what."""


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function as the program declares it."""

    label: str
    """Short name for logs and the banner: the PythonFunction component's name."""
    name: str
    """Physical function name (`AWS_LAMBDA_FUNCTION_NAME`)."""
    arn: str
    handler: str
    runtime: str
    architecture: str
    archive: Path
    """The zip `pulumi up` would upload."""
    memory_mb: int
    timeout_seconds: int
    environment: Mapping[str, str]
    log_group: str
    log_level: str = "INFO"
    """Application log level of the function's JSON logging."""
    retry_attempts: int = 2
    """Lambda's default for asynchronous invocations when no event invoke config says otherwise."""
    max_event_age_seconds: int = 21600
    on_failure: str | None = None
    """ARN of the on-failure destination (an SQS queue here) of asynchronous invocations."""
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class RouteSpec:
    """An HTTP API route and the integration behind it."""

    key: str
    """`"GET /uploads/{id}"` or `"$default"`."""
    function: FunctionSpec
    authorization_type: str = "NONE"
    authorizer: Mapping[str, Any] | None = None
    """The route's `apigatewayv2.Authorizer` inputs (JWT issuer/audience), if any."""
    scopes: tuple[str, ...] = ()
    timeout_ms: int = 30000
    payload_format: str = "2.0"
    permitted: bool = True
    """Whether a `lambda.Permission` lets API Gateway invoke the function for this route."""


@dataclass(frozen=True)
class CorsSpec:
    """An HttpApi's `cors_configuration`."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class ApiSpec:
    api_id: str
    endpoint: str
    """The URL the API would have on AWS (replaced by the local URL in functions' environment)."""
    routes: tuple[RouteSpec, ...]
    cors: CorsSpec | None
    execution_arn: str


@dataclass(frozen=True)
class Subscription:
    """A bucket notification entry: events under prefix/suffix -> function."""

    id: str
    function: FunctionSpec
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class BucketSpec:
    name: str
    versioning: bool = False
    cors_rules: tuple[Mapping[str, Any], ...] = ()
    subscriptions: tuple[Subscription, ...] = ()


@dataclass(frozen=True)
class Topology:
    """Everything local mode runs for one stack."""

    stack: str
    region: str
    functions: tuple[FunctionSpec, ...]
    apis: tuple[ApiSpec, ...]
    buckets: tuple[BucketSpec, ...]
    queues: tuple[str, ...] = field(default=())
    """Physical names of the program's SQS queues (dead-letter queues among them)."""
    outputs: Mapping[str, Any] = field(default_factory=dict)
    user_pools: tuple[UserPoolSpec, ...] = ()
    """Cognito user pools (with their app clients) that local mode creates in moto."""


def read_topology(graph: ResourceGraph, *, stack: str, region: str) -> Topology:
    """The local-mode view of `graph`; a TopologyError for what cannot be served."""
    functions = {f.name: f for f in _functions(graph)}
    return Topology(
        stack=stack,
        region=region,
        functions=tuple(functions.values()),
        apis=tuple(_apis(graph, functions)),
        buckets=tuple(_buckets(graph, functions)),
        queues=tuple(str(q.outputs["name"]) for q in graph.of_type("aws:sqs/queue:Queue")),
        outputs=dict(graph.outputs),
        user_pools=read_user_pools(graph),
    )


def _functions(graph: ResourceGraph) -> list[FunctionSpec]:
    invoke_configs = {
        str(r.inputs.get("functionName")): r.inputs
        for r in graph.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    }
    found = []
    for resource in graph.of_type(_FUNCTION):
        inputs, outputs = resource.inputs, resource.outputs
        name = str(outputs["name"])
        code = inputs.get("code")
        archive = getattr(code, "path", None)
        if archive is None:
            raise TopologyError(f"{resource.urn}: local mode runs zip-packaged functions only")
        config = invoke_configs.get(name, {})
        failure = ((config.get("destinationConfig") or {}).get("onFailure") or {}).get(
            "destination"
        )
        reserved = inputs.get("reservedConcurrentExecutions")
        logging_config = inputs.get("loggingConfig") or {}
        found.append(
            FunctionSpec(
                label=_label(graph, resource),
                name=name,
                arn=str(outputs["arn"]),
                handler=str(inputs.get("handler", "handler.handler")),
                runtime=str(inputs.get("runtime", "python3.13")),
                architecture=str((inputs.get("architectures") or ["x86_64"])[0]),
                archive=Path(str(archive)),
                memory_mb=int(inputs.get("memorySize", 128)),
                timeout_seconds=int(inputs.get("timeout", 3)),
                environment={
                    k: str(v)
                    for k, v in ((inputs.get("environment") or {}).get("variables") or {}).items()
                },
                log_group=str(logging_config.get("logGroup") or ""),
                log_level=str(logging_config.get("applicationLogLevel") or "INFO"),
                retry_attempts=int(config.get("maximumRetryAttempts", 2)),
                max_event_age_seconds=int(config.get("maximumEventAgeInSeconds", 21600)),
                on_failure=str(failure) if failure else None,
                reserved_concurrency=None if reserved in (None, -1) else int(reserved),
            )
        )
    return found


def _label(graph: ResourceGraph, function: Resource) -> str:
    """`uploads-on-upload` for the `uploads-on-upload-function` child of that component."""
    if function.parent:
        parent = next((r for r in graph if r.urn == function.parent), None)
        if parent is not None and not parent.custom:
            return parent.name
    return function.name.removesuffix(_COMPONENT_ROLE)


def _function_for(reference: str, functions: Mapping[str, FunctionSpec]) -> FunctionSpec | None:
    """The function a name, ARN or invoke ARN refers to."""
    for name, spec in functions.items():
        if reference in (name, spec.arn) or f"function:{name}/" in reference + "/":
            return spec
    return None


def _permissions(graph: ResourceGraph, principal: str) -> list[tuple[str, str]]:
    """(function reference, source ARN pattern) of each permission granted to `principal`."""
    return [
        (str(p.inputs.get("function")), str(p.inputs.get("sourceArn") or "*"))
        for p in graph.of_type(_PERMISSION)
        if p.inputs.get("principal") == principal
        and p.inputs.get("action") in ("lambda:InvokeFunction", "lambda:*")
    ]


def _apis(graph: ResourceGraph, functions: Mapping[str, FunctionSpec]) -> list[ApiSpec]:
    integrations = {
        str(r.outputs["id"]): r.inputs
        for r in graph.of_type("aws:apigatewayv2/integration:Integration")
    }
    authorizers = {
        str(r.outputs["id"]): r.inputs
        for r in graph.of_type("aws:apigatewayv2/authorizer:Authorizer")
    }
    grants = _permissions(graph, "apigateway.amazonaws.com")
    apis = []
    for api in graph.of_type("aws:apigatewayv2/api:Api"):
        if api.inputs.get("protocolType") != "HTTP":
            continue
        api_id, execution_arn = str(api.outputs["id"]), str(api.outputs["executionArn"])
        routes = []
        for route in graph.of_type("aws:apigatewayv2/route:Route"):
            if str(route.inputs.get("apiId")) != api_id:
                continue
            key = str(route.inputs["routeKey"])
            target = str(route.inputs.get("target", "")).removeprefix("integrations/")
            integration = integrations.get(target)
            if integration is None:
                raise TopologyError(f'route "{key}": no integration {target!r} in the program')
            function = _function_for(str(integration.get("integrationUri", "")), functions)
            if function is None:
                raise TopologyError(f'route "{key}": its integration invokes no Lambda function')
            source = f"{execution_arn}/$default/{_permission_path(key)}"
            routes.append(
                RouteSpec(
                    key=key,
                    function=function,
                    authorization_type=str(route.inputs.get("authorizationType", "NONE")),
                    authorizer=authorizers.get(str(route.inputs.get("authorizerId"))),
                    scopes=tuple(route.inputs.get("authorizationScopes") or ()),
                    timeout_ms=int(integration.get("timeoutMilliseconds", 30000)),
                    payload_format=str(integration.get("payloadFormatVersion", "1.0")),
                    permitted=any(
                        _function_for(ref, functions) is function
                        and fnmatch.fnmatchcase(source, pattern)
                        for ref, pattern in grants
                    ),
                )
            )
        apis.append(
            ApiSpec(
                api_id=api_id,
                endpoint=str(api.outputs.get("apiEndpoint", "")),
                routes=tuple(routes),
                cors=_cors(api.inputs.get("corsConfiguration")),
                execution_arn=execution_arn,
            )
        )
    return apis


def _permission_path(route_key: str) -> str:
    """What API Gateway puts after the stage in the source ARN when it invokes for `route_key`."""
    if route_key == "$default":
        return "$default"
    method, path = route_key.split(" ", 1)
    return f"{method}{re.sub(r'{[^}]+}', 'p', path)}"


def _cors(config: Mapping[str, Any] | None) -> CorsSpec | None:
    if not config:
        return None

    def strings(key: str) -> tuple[str, ...]:
        return tuple(str(v) for v in config.get(key) or ())

    max_age = config.get("maxAge")
    return CorsSpec(
        allow_origins=strings("allowOrigins"),
        allow_methods=strings("allowMethods"),
        allow_headers=strings("allowHeaders"),
        expose_headers=strings("exposeHeaders"),
        max_age=None if max_age is None else int(max_age),
        allow_credentials=bool(config.get("allowCredentials", False)),
    )


def _buckets(graph: ResourceGraph, functions: Mapping[str, FunctionSpec]) -> list[BucketSpec]:
    by_bucket: dict[str, list[Resource]] = {}
    for type_ in (
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
        "aws:s3/bucketNotification:BucketNotification",
    ):
        for resource in graph.of_type(type_):
            by_bucket.setdefault(str(resource.inputs.get("bucket")), []).append(resource)
    buckets = []
    for bucket in graph.of_type("aws:s3/bucket:Bucket"):
        name = str(bucket.outputs["bucket"])
        versioning, cors, subscriptions = False, [], []
        for resource in by_bucket.get(name, []):
            if resource.type.endswith(":BucketVersioning"):
                status = (resource.inputs.get("versioningConfiguration") or {}).get("status")
                versioning = status == "Enabled"
            elif resource.type.endswith(":BucketCorsConfiguration"):
                cors += list(resource.inputs.get("corsRules") or ())
            else:
                subscriptions += _subscriptions(resource, functions)
        buckets.append(BucketSpec(name, versioning, tuple(cors), tuple(subscriptions)))
    return buckets


def _subscriptions(
    notification: Resource, functions: Mapping[str, FunctionSpec]
) -> Sequence[Subscription]:
    found = []
    for index, entry in enumerate(notification.inputs.get("lambdaFunctions") or ()):
        function = _function_for(str(entry.get("lambdaFunctionArn")), functions)
        if function is None:
            raise TopologyError(
                f"{notification.urn}: notification target {entry.get('lambdaFunctionArn')} is "
                "not a function of the program"
            )
        found.append(
            Subscription(
                id=str(entry.get("id") or f"notification-{index}"),
                function=function,
                events=tuple(entry.get("events") or ()),
                prefix=str(entry.get("filterPrefix") or ""),
                suffix=str(entry.get("filterSuffix") or ""),
            )
        )
    return found
