"""The HTTP API on loopback: API Gateway's request pipeline, behind `local.listener`.

Pipeline, in API Gateway's order: (in the listener: framing 400, body limit 413, throttling 429)
-> CORS preflight (answered by the gateway when the API has a CORS configuration) -> route
selection (404) ->
authorizer steps (401/403 before the function runs) -> the Lambda integration (permission, 6 MB
event, integration timeout 503, function error 500) -> CORS headers on the answer.

Authorizers are a list of `Authorizer` callables: each may answer (401, 403) or fill
`request.authorizer` (the event's `requestContext.authorizer`). `LocalService` passes
`local.jwt_authorizer.JwtAuthorizer`; without one, `require_unverifiable_jwt` answers 401 on JWT
routes, as API Gateway does without a valid token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from local.apigw import (
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
from local.listener import Log
from local.topology import ApiSpec, RouteSpec

Authorizer = Callable[[ApiRequest, RouteSpec], ApiResponse | None]
"""An authorization step: an answer to stop the request (401/403), or None to let it through
(having set `request.authorizer` if the route's authorizer yields a context)."""


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
