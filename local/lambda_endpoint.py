"""Lambda's Invoke API on loopback, for local mode's functions: what `python -m ops.redrive` (and
any boto3 `lambda` client given this endpoint) calls to replay a failed event.

Only `POST /2015-03-31/functions/<name or ARN>/invocations` with `InvocationType`
`RequestResponse` (the default): the function runs in its local worker and the answer is Lambda's,
with `X-Amz-Function-Error: Unhandled` when the handler raised.

As the real Invoke API, every call must be signed (SigV4, service `lambda`) with local mode's
credentials, checked before the function runs: no Authorization is 403
`MissingAuthenticationTokenException`, another key 403 `UnrecognizedClientException`, a changed
request or body 403 `InvalidSignatureException` (the error types botocore reports for Lambda). So a
web page cannot invoke a function with a cross-site `text/plain` POST, nor anyone hand the
uploads function an event with another user's claims. Malformed framing is 400, a body over 6 MB
413 `RequestTooLargeException`.

References: Lambda API Reference "Invoke" (path, `X-Amz-Function-Error`, 413
`RequestTooLargeException`, also botocore's lambda/2015-03-31 service-2.json) and "Common
Errors" (`UnrecognizedClientException` 403); the other two codes are not on that page.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from local.framing import FramingError
from local.functions import SYNC_PAYLOAD_LIMIT, FunctionRuntime
from local.loopback import BodyTooLargeError, LoopbackServer, read_body, send
from local.sigv4 import AuthError, Credentials, verify_header_auth

_INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
_ERROR_TYPES = {
    "InvalidAccessKeyId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
}
_UNRECOGNIZED = "The security token included in the request is invalid."


class LambdaEndpoint(LoopbackServer):
    """A loopback HTTP server answering Lambda Invoke for `runtimes` (physical name -> runtime),
    to requests signed with `credentials`."""

    def __init__(
        self,
        runtimes: Mapping[str, FunctionRuntime],
        credentials: Credentials,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(_handler(runtimes, credentials, now))


def _runtime(runtimes: Mapping[str, FunctionRuntime], path: str) -> FunctionRuntime | None:
    match = _INVOKE.match(path.split("?", 1)[0])
    if match is None:
        return None
    wanted = unquote(match.group(1))
    for name, runtime in runtimes.items():
        if wanted in (name, runtime.spec.arn):
            return runtime
    return None


def _environ(handler: BaseHTTPRequestHandler) -> dict[str, Any]:
    """The request as `local.sigv4` reads it (WSGI's names)."""
    path, _, query = handler.path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": handler.command,
        "RAW_URI": path,
        "QUERY_STRING": query,
    }
    for name, value in handler.headers.items():
        key = name.upper().replace("-", "_")
        key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _authenticate(
    handler: BaseHTTPRequestHandler, body: bytes, credentials: Credentials, now: datetime
) -> None:
    """AuthError (with Lambda's error type as its code) unless the call is signed for Lambda
    with `credentials`."""
    environ = _environ(handler)
    if not environ.get("HTTP_AUTHORIZATION"):
        raise AuthError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    try:
        scope = verify_header_auth(environ, hashlib.sha256(body).hexdigest(), credentials, now)
    except AuthError as error:
        kind = _ERROR_TYPES.get(error.code, "InvalidSignatureException")
        message = _UNRECOGNIZED if kind == "UnrecognizedClientException" else error.message
        raise AuthError(403, kind, message) from None
    if scope.service != "lambda":
        message = "Credential should be scoped to correct service: 'lambda'."
        raise AuthError(403, "InvalidSignatureException", message)


def _handler(
    runtimes: Mapping[str, FunctionRuntime],
    credentials: Credentials,
    now: Callable[[], datetime],
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 20

        def do_POST(self) -> None:
            try:
                body = read_body(self, SYNC_PAYLOAD_LIMIT)
                _authenticate(self, body, credentials, now())
            except FramingError:
                self.close_connection = True
                self._error(400, "InvalidRequestContentException", "malformed request framing")
                return
            except BodyTooLargeError:
                self.close_connection = True
                self._error(413, "RequestTooLargeException", "request payload over 6 MB")
                return
            except AuthError as refused:
                self._error(refused.status, refused.code, refused.message)
                return
            runtime = _runtime(runtimes, self.path)
            if runtime is None:
                self._error(404, "ResourceNotFoundException", f"Function not found: {self.path}")
                return
            if self.headers.get("x-amz-invocation-type", "RequestResponse") != "RequestResponse":
                self._error(400, "InvalidParameterValueException", "only RequestResponse here")
                return
            try:
                event = json.loads(body or b"{}")
            except ValueError:
                self._error(400, "InvalidRequestContentException", "payload is not JSON")
                return
            result = runtime.invoke(event)
            headers = {"x-amz-executed-version": "$LATEST", "x-amzn-requestid": result.request_id}
            if result.ok:
                self._answer(200, headers, json.dumps(result.payload).encode())
            else:
                headers["x-amz-function-error"] = "Unhandled"
                self._answer(200, headers, json.dumps(dict(result.error or {})).encode())

        def _error(self, status: int, kind: str, message: str) -> None:
            body = json.dumps({"Type": "User", "message": message}).encode()
            self._answer(status, {"x-amzn-errortype": kind}, body)

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            send(self, status, body, headers | {"content-type": "application/json"})

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
