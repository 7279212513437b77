"""A small HTTP server of local mode's own on 127.0.0.1 (any free port), in a daemon thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from local.framing import FramingError, body_length


class LoopbackServer:
    """Serves `handler` on loopback between `start()` and `stop()`; its address is `url`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
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


def send(
    handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
) -> None:
    """Answer `handler`'s request: status, headers (with the body's length), body."""
    handler.send_response(status)
    for name, value in {**headers, "content-length": str(len(body))}.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


class BodyTooLargeError(Exception):
    """The request's body is over the server's limit (it was not read)."""


def read_body(handler: BaseHTTPRequestHandler, limit: int) -> bytes:
    """The request's body, framed as `local.framing` decides (FramingError; a chunked body too,
    which these servers' clients never send), at most `limit` bytes (BodyTooLargeError)."""
    length = body_length(
        handler.headers.get_all("content-length") or [],
        handler.headers.get_all("transfer-encoding") or [],
    )
    if length is None:
        raise FramingError("a chunked body")
    if length > limit:
        raise BodyTooLargeError
    body = handler.rfile.read(length)
    if len(body) < length:
        raise FramingError("the body ended before its Content-Length")
    return body
