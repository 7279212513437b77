"""Cognito's public endpoint on loopback: the user pool API a browser page calls, in front of moto.

Cognito answers browsers' CORS preflights for its unauthenticated operations (`InitiateAuth`,
`RespondToAuthChallenge`, `GlobalSignOut`, ...), so a page served from any origin can sign users
in. moto's server answers an `OPTIONS` on `/` as S3 would (it cannot tell the service from a
preflight), so this small proxy answers the preflight itself and forwards every `POST` to moto,
adding the CORS header to the answer. Functions get its URL as `AWS_ENDPOINT_URL_COGNITO_IDP`.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_FORWARDED = ("content-type", "x-amz-target", "x-amz-user-agent", "authorization")
_CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "POST",
    "access-control-allow-headers": ", ".join(_FORWARDED),
    "access-control-max-age": "600",
}
_MAX_BODY = 1024 * 1024


class CognitoEndpoint:
    """A loopback HTTP server forwarding Cognito API calls to `target` (moto's URL)."""

    def __init__(self, target: str) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(target))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


def _handler(target: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_OPTIONS(self) -> None:
            self._answer(204, {}, b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > _MAX_BODY:
                self._answer(413, {}, b"")
                return
            headers = {k: v for k in _FORWARDED if (v := self.headers.get(k))}
            request = urllib.request.Request(  # noqa: S310 - moto on loopback
                target + "/", data=self.rfile.read(length), headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    status, body, kind = response.status, response.read(), response.headers
            except urllib.error.HTTPError as error:
                status, body, kind = error.code, error.read(), error.headers
            self._answer(status, {"content-type": kind.get("content-type", "")}, body)

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in {**_CORS, **headers, "content-length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
