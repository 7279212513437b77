"""HTTP API routes: `"METHOD /path"` keys, per-route options and each route's Lambda permission."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pulumi
import pulumi_aws as aws

from ._component import InvokableFunction, slug
from ._wire import wire_as

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
AUTHORIZATIONS = ("NONE", "JWT", "AWS_IAM")
DEFAULT_ROUTE = "$default"
"""The catch-all route key: requests that match no other route."""

PERMISSION_COLLAPSE_THRESHOLD = 10
"""A function with more routes than this gets one `<executionArn>/*/*` permission instead of one
per route. A Lambda resource policy holds at most 20 KB and each route statement costs about
300-400 bytes; 10 statements (~4 KB) leave room for the function's other sources (S3 buckets,
other APIs, schedules) sharing the same policy."""

Authorization = Literal["NONE", "JWT", "AWS_IAM"]

_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]+\Z")
_PARAM = re.compile(r"^\{([A-Za-z0-9_]+)\}\Z")
_GREEDY = re.compile(r"^\{([A-Za-z0-9_]+)\+\}\Z")


class ApiFunction(InvokableFunction, Protocol):
    """A Lambda function an HTTP API can call: also exposes the ARN API Gateway invokes."""

    @property
    def invoke_arn(self) -> pulumi.Output[str]: ...


@dataclass(frozen=True)
class Route:
    """A route's function plus options; a bare function in `routes` means `Route(function)`."""

    function: ApiFunction = field(metadata=wire_as(aws.lambda_.Function))
    """The function called: a PythonFunction, or any Lambda function (other languages pass the
    `aws.lambda.Function`, e.g. a PythonFunction's `function` output)."""
    authorization: Authorization | None = None
    """"NONE", "JWT" or "AWS_IAM". Default None: the API's `default_authorization`."""
    scopes: Sequence[str] = ()
    """OAuth scopes the JWT must carry (any one of them); JWT routes only. Default: none."""
    throttling_burst_limit: int | None = None
    """Burst limit of this route. Default None: the API's default throttling."""
    throttling_rate_limit: int | None = None
    """Requests per second for this route. Default None: the API's default throttling."""

    @property
    def throttled(self) -> bool:
        return self.throttling_burst_limit is not None or self.throttling_rate_limit is not None


@dataclass(frozen=True)
class ParsedRoute:
    """A validated route: its normalised key and options."""

    key: str
    route: Route

    @property
    def function_name(self) -> str:
        return self.route.function.pulumi_resource_name

    @property
    def source_arn_suffix(self) -> str:
        """What follows the API's execution ARN in a Lambda permission for this route only:
        `/*/GET/uploads/*` (any stage; path parameters and `ANY` become `*`)."""
        if self.key == DEFAULT_ROUTE:
            return f"/*/{DEFAULT_ROUTE}"
        method, path = self.key.split(" ", 1)
        segments = ["*" if s.startswith("{") else s for s in path.split("/")[1:]]
        return f"/*/{'*' if method == 'ANY' else method}/" + "/".join(segments)


def normalize_route_key(owner: str, key: str) -> str:
    """`"GET /uploads/"` -> `"GET /uploads"`; a ValueError naming `owner` and `key` when the key
    is not `$default` or `"METHOD /path"` as API Gateway accepts it."""
    if key == DEFAULT_ROUTE:
        return key
    method, _, path = key.partition(" ") if isinstance(key, str) else ("", "", "")
    if method not in METHODS or not path or " " in path:
        raise ValueError(
            f'{owner}: route "{key}" must look like "GET /path" (methods: '
            f'{", ".join(METHODS)}) or be "{DEFAULT_ROUTE}"'
        )
    if not path.startswith("/"):
        raise ValueError(f'{owner}: route "{key}": the path must start with "/"')
    segments = path.rstrip("/").split("/")[1:]
    names = []
    for index, segment in enumerate(segments):
        param = _PARAM.match(segment) or _GREEDY.match(segment)
        if _GREEDY.match(segment) and index != len(segments) - 1:
            raise ValueError(
                f'{owner}: route "{key}": greedy parameter {segment} must be the last segment'
            )
        if not (param or _SEGMENT.match(segment)):
            raise ValueError(
                f'{owner}: route "{key}": segment "{segment}" may only hold letters, digits and '
                "-_.~, or be a {parameter} (a greedy {name+} last)"
            )
        names += [param.group(1)] if param else []
    if len(names) != len(set(names)):
        raise ValueError(f'{owner}: route "{key}": path parameter names must be unique')
    return f"{method} /{'/'.join(segments)}"


def parse_routes(owner: str, routes: Mapping[str, ApiFunction | Route]) -> list[ParsedRoute]:
    """Validate every key and option; reject two keys API Gateway would treat as one route, two
    keys whose resource names would collide, and two functions sharing a resource name."""
    parsed: list[ParsedRoute] = []
    shapes: dict[str, str] = {}
    slugs: dict[str, str] = {}
    functions: dict[str, ApiFunction] = {}
    for key, target in routes.items():
        normal = normalize_route_key(owner, key)
        route = target if isinstance(target, Route) else Route(target)
        _check_route(owner, key, route)
        shape = re.sub(r"\{[^}/+]+\}", "{}", re.sub(r"\{[^}/]+\+\}", "{+}", normal))
        if shape in shapes:
            raise ValueError(f'{owner}: routes "{shapes[shape]}" and "{key}" are the same route')
        if slug(normal) in slugs:
            raise ValueError(
                f'{owner}: routes "{slugs[slug(normal)]}" and "{key}" would share the resource '
                f'name suffix "{slug(normal)}"; rename one'
            )
        shapes[shape], slugs[slug(normal)] = key, key
        name = route.function.pulumi_resource_name
        if functions.setdefault(name, route.function) is not route.function:
            raise ValueError(f'{owner}: route "{key}": two different functions are named "{name}"')
        parsed.append(ParsedRoute(normal, route))
    return parsed


def _check_route(owner: str, key: str, route: Route) -> None:
    missing = [
        attribute
        for attribute in ("pulumi_resource_name", "name", "arn", "invoke_arn")
        if not hasattr(route.function, attribute)
    ]
    if missing:
        raise ValueError(
            f'{owner}: route "{key}" needs a function (with {", ".join(missing)}), '
            f"got {type(route.function).__name__}"
        )
    if route.authorization not in (None, *AUTHORIZATIONS):
        raise ValueError(
            f'{owner}: route "{key}": authorization must be one of {", ".join(AUTHORIZATIONS)} '
            f"or None, got {route.authorization!r}"
        )
    for label in ("throttling_burst_limit", "throttling_rate_limit"):
        value = getattr(route, label)
        if value is not None and value < 0:
            raise ValueError(f'{owner}: route "{key}": {label} must be >= 0, got {value}')


def permission_scopes(routes: list[ParsedRoute]) -> list[tuple[ApiFunction, str, str]]:
    """(function, child role, source ARN suffix) of each Lambda permission: one per route, or one
    for all of a function's routes when it has more than PERMISSION_COLLAPSE_THRESHOLD."""
    by_function: dict[str, list[ParsedRoute]] = {}
    for parsed in routes:
        by_function.setdefault(parsed.function_name, []).append(parsed)
    scopes = []
    for name, function_routes in by_function.items():
        function = function_routes[0].route.function
        if len(function_routes) > PERMISSION_COLLAPSE_THRESHOLD:
            scopes.append((function, f"permission-{name}-all-routes", "/*/*"))
        else:
            scopes += [
                (function, f"permission-{name}-{slug(r.key)}", r.source_arn_suffix)
                for r in function_routes
            ]
    return scopes


def route_settings(parsed: ParsedRoute, defaults: dict[str, Any]) -> dict[str, Any]:
    """A route's own throttling; a limit it leaves unset keeps the API's default."""
    route = parsed.route
    settings = {"route_key": parsed.key, **defaults}
    if route.throttling_burst_limit is not None:
        settings["throttling_burst_limit"] = route.throttling_burst_limit
    if route.throttling_rate_limit is not None:
        settings["throttling_rate_limit"] = route.throttling_rate_limit
    return settings
