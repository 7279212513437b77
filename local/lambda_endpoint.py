"""Lambda's Invoke API on loopback, for local mode's functions: what `python -m ops.redrive` (and
any boto3 `lambda` client given this endpoint) calls to replay a failed event.

Only `POST /2015-03-31/functions/<name or ARN>/invocations` with `InvocationType`
`RequestResponse` (the default): the function runs in its local worker and the answer is Lambda's,
with `X-Amz-Function-Error: Unhandled` when the handler raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote

from local.functions import SYNC_PAYLOAD_LIMIT, FunctionRuntime
from local.loopback import LoopbackServer, send

_INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")


class LambdaEndpoint(LoopbackServer):
    """A loopback HTTP server answering Lambda Invoke for `runtimes` (physical name -> runtime)."""

    def __init__(self, runtimes: Mapping[str, FunctionRuntime]) -> None:
        super().__init__(_handler(runtimes))


def _runtime(runtimes: Mapping[str, FunctionRuntime], path: str) -> FunctionRuntime | None:
    match = _INVOKE.match(path.split("?", 1)[0])
    if match is None:
        return None
    wanted = unquote(match.group(1))
    for name, runtime in runtimes.items():
        if wanted in (name, runtime.spec.arn):
            return runtime
    return None


def _handler(runtimes: Mapping[str, FunctionRuntime]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            runtime = _runtime(runtimes, self.path)
            if runtime is None:
                self._error(404, "ResourceNotFoundException", f"Function not found: {self.path}")
                return
            if self.headers.get("x-amz-invocation-type", "RequestResponse") != "RequestResponse":
                self._error(400, "InvalidParameterValueException", "only RequestResponse here")
                return
            length = int(self.headers.get("content-length") or 0)
            if length > SYNC_PAYLOAD_LIMIT:
                self._error(413, "RequestTooLargeException", "request payload over 6 MB")
                return
            try:
                event = json.loads(self.rfile.read(length) or b"{}")
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
