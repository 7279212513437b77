"""API Gateway HTTP API semantics, without I/O: route selection, payload format 2.0 events, the
interpretation of a Lambda's response, CORS, and the gateway's own error answers.

References: "Create AWS Lambda proxy integrations for HTTP APIs" (payload format 2.0, response
inference), "Working with routes for HTTP APIs" (most specific match first, `$default` last),
"Configure CORS for HTTP APIs" (preflight answered by API Gateway, integration CORS headers
ignored when CORS is configured).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.topology import CorsSpec, RouteSpec

API_PAYLOAD_LIMIT = 10 * 1024 * 1024
"""API Gateway's limit for a request body (10 MB)."""
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|javascript|xml|[\w.+-]+\+(json|xml)))$", re.IGNORECASE
)
_CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-expose-headers",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
)


@dataclass
class ApiRequest:
    """A request as it reached the gateway."""

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    request_id: str
    time_epoch_ms: int
    protocol: str = "HTTP/1.1"
    authorizer: dict[str, Any] | None = None
    """Set by an authorizer step; becomes `requestContext.authorizer`."""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name]
        return ",".join(values) if values else None


@dataclass
class ApiResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def gateway_error(status: int, message: str) -> ApiResponse:
    """API Gateway's own JSON error answer, e.g. 404 `{"message":"Not Found"}`."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return ApiResponse(status, [("content-type", "application/json")], body)


@dataclass(frozen=True)
class MatchedRoute:
    route: RouteSpec
    path_parameters: dict[str, str]


def match_route(routes: Sequence[RouteSpec], method: str, raw_path: str) -> MatchedRoute | None:
    """The most specific route for the request: literal segments beat `{param}`, which beats
    `{greedy+}`; a method beats `ANY`; `$default` catches the rest."""
    segments = [unquote(s) for s in raw_path.split("/")[1:]]
    best: tuple[tuple[int, ...], MatchedRoute] | None = None
    default = None
    for route in routes:
        if route.key == "$default":
            default = MatchedRoute(route, {})
            continue
        route_method, path = route.key.split(" ", 1)
        if route_method not in (method, "ANY"):
            continue
        found = _match_path(path, segments)
        if found is None:
            continue
        score, params = found
        rank = (*score, int(route_method != "ANY"))
        if best is None or rank > best[0]:
            best = (rank, MatchedRoute(route, params))
    return best[1] if best else default


def _match_path(path: str, segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """(specificity per segment, path parameters) if `segments` match the route's `path`."""
    pattern = path.split("/")[1:] if path != "/" else [""]
    greedy = pattern[-1].endswith("+}")
    fixed = pattern[:-1] if greedy else pattern
    rest = segments[len(fixed) :]
    if (
        (greedy and (not rest or rest == [""]))
        or (not greedy and rest)
        or len(segments) < len(fixed)
    ):
        return None
    params: dict[str, str] = {}
    score = []
    for part, segment in zip(fixed, segments, strict=False):
        if part.startswith("{"):
            params[part[1:-1]] = segment
            score.append(1)
        elif part == segment:
            score.append(2)
        else:
            return None
    if "" in params.values():
        return None
    if greedy:
        params[pattern[-1][1:-2]] = "/".join(rest)
        score.append(0)
    return tuple(score), params


def build_event(request: ApiRequest, matched: MatchedRoute, api_id: str) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway sends to the Lambda integration."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    host = headers.get("host", "localhost")
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-forwarded-port", host.rpartition(":")[2] if ":" in host else "80")
    headers["x-amzn-trace-id"] = f"Root=1-{request.time_epoch_ms // 1000:08x}-{request.request_id}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": matched.route.key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
    }
    if cookies:
        event["cookies"] = cookies
    if request.raw_query:
        query: dict[str, str] = {}
        for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": "123456789012",
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".")[0].split(":")[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request.request_id,
        "routeKey": matched.route.key,
        "stage": "$default",
        "time": datetime.fromtimestamp(request.time_epoch_ms / 1000, UTC).strftime(
            "%d/%b/%Y:%H:%M:%S +0000"
        ),
        "timeEpoch": request.time_epoch_ms,
    }
    if request.authorizer is not None:
        event["requestContext"]["authorizer"] = request.authorizer
    if matched.path_parameters:
        event["pathParameters"] = matched.path_parameters
    if request.body:
        text = _as_text(request.body, headers.get("content-type"))
        event["body"] = text if text is not None else base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


def _as_text(body: bytes, content_type: str | None) -> str | None:
    """The body as text when API Gateway passes it as text (a text media type, valid UTF-8)."""
    media = (content_type or "").split(";")[0].strip()
    if not _TEXT_TYPES.match(media):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


class InvalidResponseError(Exception):
    """The function's answer is not a valid payload format 2.0 response."""


def parse_response(payload: Any) -> ApiResponse:
    """The HTTP response API Gateway makes of a function's 2.0 answer. Without `statusCode` it
    assumes 200, JSON, and the whole answer as the body."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return ApiResponse(
            200, [("content-type", "application/json")], json.dumps(payload).encode()
        )
    status = payload["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidResponseError(f"statusCode {status!r} is not an HTTP status")
    headers = []
    for name, value in (payload.get("headers") or {}).items():
        if isinstance(value, (dict, list)):
            raise InvalidResponseError(f"header {name!r} must be a string")
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        headers.append((str(name).lower(), text))
    headers += [("set-cookie", str(c)) for c in payload.get("cookies") or ()]
    body = payload.get("body")
    if body is None:
        data = b""
    elif payload.get("isBase64Encoded"):
        try:
            data = base64.b64decode(str(body), validate=True)
        except binascii.Error as exc:
            raise InvalidResponseError("isBase64Encoded but the body is not base64") from exc
    else:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
    return ApiResponse(status, headers, data)


def _origin_allowed(cors: CorsSpec, origin: str) -> bool:
    return "*" in cors.allow_origins or origin in cors.allow_origins


def preflight(cors: CorsSpec, request: ApiRequest) -> ApiResponse | None:
    """API Gateway's own answer to a CORS preflight (None if the request is not one)."""
    origin = request.header("origin")
    method = request.header("access-control-request-method")
    if request.method != "OPTIONS" or not origin or not method:
        return None
    response = ApiResponse(204)
    requested = [
        h.strip().lower()
        for h in (request.header("access-control-request-headers") or "").split(",")
        if h.strip()
    ]
    allowed_headers = {h.lower() for h in cors.allow_headers}
    if (
        not _origin_allowed(cors, origin)
        or not ("*" in cors.allow_methods or method.upper() in cors.allow_methods)
        or not ("*" in allowed_headers or set(requested) <= allowed_headers)
    ):
        return response
    response.headers += [
        (
            "access-control-allow-origin",
            "*" if "*" in cors.allow_origins and not cors.allow_credentials else origin,
        ),
        ("access-control-allow-methods", ",".join(cors.allow_methods)),
    ]
    if cors.allow_headers:
        response.headers.append(("access-control-allow-headers", ",".join(cors.allow_headers)))
    if cors.max_age is not None:
        response.headers.append(("access-control-max-age", str(cors.max_age)))
    if cors.allow_credentials:
        response.headers.append(("access-control-allow-credentials", "true"))
    return response


def add_cors_headers(cors: CorsSpec, request: ApiRequest, response: ApiResponse) -> None:
    """Replace the integration's CORS headers with the configured ones (API Gateway ignores what
    the backend sends once the API has a CORS configuration)."""
    response.headers = [(k, v) for k, v in response.headers if k.lower() not in _CORS_HEADERS]
    origin = request.header("origin")
    if not origin or not _origin_allowed(cors, origin):
        return
    wildcard = "*" in cors.allow_origins and not cors.allow_credentials
    response.headers.append(("access-control-allow-origin", "*" if wildcard else origin))
    if cors.allow_credentials:
        response.headers.append(("access-control-allow-credentials", "true"))
    if cors.expose_headers:
        response.headers.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
