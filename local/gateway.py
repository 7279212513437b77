"""The HTTP API on loopback: a threaded HTTP server running API Gateway's request pipeline.

Pipeline, in API Gateway's order: body limit (10 MB, before the body is read) -> CORS preflight
(answered by the gateway when the API has a CORS configuration) -> route selection (404) ->
authorizer steps (401/403 before the function runs) -> the Lambda integration (permission, 6 MB
event, integration timeout 503, function error 500) -> CORS headers on the answer.

Authorizers are a list of `Authorizer` callables: each may answer (401, 403) or fill
`request.authorizer` (the event's `requestContext.authorizer`). `LocalService` passes
`local.jwt_authorizer.JwtAuthorizer`; without one, `require_unverifiable_jwt` answers 401 on JWT
routes, as API Gateway does without a valid token.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local.apigw import (
    API_PAYLOAD_LIMIT,
    ApiRequest,
    ApiResponse,
    InvalidResponseError,
    MatchedRoute,
    add_cors_headers,
    build_event,
    gateway_error,
    match_route,
    parse_response,
    preflight,
)
from local.functions import FunctionRuntime, PayloadTooLargeError
from local.topology import ApiSpec, RouteSpec

_DRAIN_LIMIT = 64 * 1024 * 1024
Authorizer = Callable[[ApiRequest, RouteSpec], ApiResponse | None]
"""An authorization step: an answer to stop the request (401/403), or None to let it through
(having set `request.authorizer` if the route's authorizer yields a context)."""
Log = Callable[[str], None]


def require_unverifiable_jwt(request: ApiRequest, route: RouteSpec) -> ApiResponse | None:
    """JWT and IAM routes, while their authorizer is not emulated: what API Gateway answers to a
    request without valid credentials."""
    if route.authorization_type == "JWT":
        return gateway_error(401, "Unauthorized")
    if route.authorization_type == "AWS_IAM":
        return gateway_error(403, "Forbidden")
    return None


class Gateway:
    """Turns requests into invocations of the API's functions; thread-safe."""

    def __init__(
        self,
        api: ApiSpec,
        runtimes: Mapping[str, FunctionRuntime],
        log: Log,
        authorizers: list[Authorizer] | None = None,
    ) -> None:
        self.api = api
        self.authorizers = authorizers if authorizers is not None else [require_unverifiable_jwt]
        self._runtimes = runtimes
        self._log = log
        self._invocations = ThreadPoolExecutor(max_workers=16, thread_name_prefix="integration")

    def handle(self, request: ApiRequest) -> tuple[ApiResponse, str]:
        """The answer to `request` and the label of the function that served it ("-" if none)."""
        cors = self.api.cors
        if cors is not None:
            answer = preflight(cors, request)
            if answer is not None:
                return answer, "-"
        matched = match_route(self.api.routes, request.method, request.raw_path)
        if matched is None:
            return gateway_error(404, "Not Found"), "-"
        for authorize in self.authorizers:
            answer = authorize(request, matched.route)
            if answer is not None:
                return answer, "-"
        response, invoked = self._integrate(request, matched)
        if cors is not None:
            add_cors_headers(cors, request, response)
        return response, matched.route.function.label if invoked else "-"

    def _integrate(self, request: ApiRequest, matched: MatchedRoute) -> tuple[ApiResponse, bool]:
        """The integration's answer, and whether the function was invoked at all."""
        route = matched.route
        if not route.permitted:
            name = route.function.name
            self._log(f"{route.key}: no lambda.Permission lets API Gateway invoke {name}")
            return gateway_error(500, "Internal Server Error"), False
        runtime = self._runtimes[route.function.name]
        event = build_event(request, matched, self.api.api_id)
        future = self._invocations.submit(runtime.invoke, event)
        try:
            result = future.result(timeout=route.timeout_ms / 1000)
        except FutureTimeout:
            self._log(f"{route.key}: integration timeout after {route.timeout_ms} ms")
            return gateway_error(503, "Service Unavailable"), True
        except PayloadTooLargeError:
            return gateway_error(413, "Request Entity Too Large"), False
        if not result.ok:
            return gateway_error(500, "Internal Server Error"), True
        try:
            return parse_response(result.payload), True
        except InvalidResponseError as exc:
            self._log(f"{route.key}: malformed Lambda response: {exc}")
            return gateway_error(500, "Internal Server Error"), True

    def close(self) -> None:
        self._invocations.shutdown(wait=False, cancel_futures=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        started = time.monotonic()
        request_id = uuid.uuid4().hex[:24]
        length = self.headers.get("content-length")
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        elif length and length.isdigit() and int(length) > API_PAYLOAD_LIMIT:
            body = self._discard(int(length))
        else:
            body = self.rfile.read(int(length)) if length and length.isdigit() else b""
        split = urlsplit(self.path)
        if body is None:
            self.close_connection = True
            response, label = gateway_error(413, "Request Entity Too Large"), "-"
        else:
            request = ApiRequest(
                method=self.command,
                raw_path=split.path or "/",
                raw_query=split.query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                request_id=request_id,
                time_epoch_ms=int(time.time() * 1000),
                protocol=self.request_version,
            )
            response, label = self.server.gateway.handle(request)
        self._send(response, request_id)
        elapsed = (time.monotonic() - started) * 1000
        self.server.log(f"{self.command} {self.path} {response.status} {elapsed:.0f} ms {label}")

    def _discard(self, length: int) -> None:
        """Read (a bounded part of) a refused body, so that the client sees the answer rather
        than a reset connection; the connection is closed after the answer."""
        remaining = min(length, _DRAIN_LIMIT)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

    def _read_chunked(self) -> bytes | None:
        chunks, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            total += size
            if total > API_PAYLOAD_LIMIT:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, response: ApiResponse, request_id: str) -> None:
        self.send_response(response.status)
        sent = {k.lower() for k, _ in response.headers}
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "date", "transfer-encoding"):
                self.send_header(name, value)
        if "content-type" not in sent and response.body:
            self.send_header("content-type", "application/json")
        self.send_header("apigw-requestid", request_id)
        self.send_header("content-length", str(len(response.body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the base class's access log; `_serve` logs one line per request."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, log: Log) -> None:
        super().__init__(("127.0.0.1", port), _Handler, bind_and_activate=True)
        self.log = log
        self.gateway: Gateway


def bind(port: int, log: Log) -> _Server:
    """Bind 127.0.0.1:`port` now (OSError if busy), serve once `serve(server, gateway)` runs."""
    return _Server(port, log)


def attach(server: _Server, gateway: Gateway) -> None:
    server.gateway = gateway
