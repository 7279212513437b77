"""The local API's HTTP listener on 127.0.0.1: reads requests as API Gateway's front door does and
hands them to a `Gateway`.

What a client cannot do to it, as it cannot to API Gateway:
- a request whose body length is not clear (`local.framing`: a malformed, repeated or
  non-ASCII `Content-Length`, a `Transfer-Encoding` other than `chunked`, a bad chunk size) gets
  400 `{"message":"Bad Request"}` and the connection is closed; a body over 10 MB 413; never a
  traceback and a dropped connection;
- each request has `read_timeout_s` in all, from the moment the connection waits for it (a new
  connection, or a kept-alive one after its last answer) to the last byte of its body: a client
  that sends a byte now and then is closed at that deadline as one that sends nothing, so slow
  connections cannot hold the connection limit;
- at most `max_connections` connections are open and `max_in_flight` requests are in the gateway
  at once; beyond that the answer is 429 `{"message":"Too Many Requests"}`, API Gateway's
  throttling answer, instead of a refused or reset connection.
"""

from __future__ import annotations

import io
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from local.apigw import API_PAYLOAD_LIMIT, ApiRequest, ApiResponse, gateway_error
from local.framing import FramingError, body_length

Log = Callable[[str], None]
_DRAIN_LIMIT = 64 * 1024 * 1024
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,8}")
_LINE_LIMIT = 4096
_TOO_MANY = b'{"message":"Too Many Requests"}'


class Handles(Protocol):
    """What the listener needs of a gateway."""

    def handle(self, request: ApiRequest) -> tuple[ApiResponse, str]: ...


@dataclass(frozen=True)
class ListenerLimits:
    """How much the listener lets clients hold."""

    read_timeout_s: float = 20.0
    """Time for a whole request, from the moment its connection waits for it to the last byte
    of its body; past it the connection is closed."""
    max_connections: int = 256
    """Open connections; one more is answered 429 and closed at once."""
    max_in_flight: int = 64
    """Requests in the gateway (authorizer, function) at once; one more is answered 429."""


class _BadRequestError(Exception):
    """The request's framing (length, chunks) is malformed."""


class _DeadlineReader(io.RawIOBase):
    """The connection's incoming bytes, each read bounded by the current request's deadline
    (not per read: a byte every few seconds does not keep a request alive)."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self.deadline = time.monotonic()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request's deadline passed")
        self._connection.settimeout(remaining)
        return self._connection.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Listener

    def setup(self) -> None:
        self.timeout = self.server.limits.read_timeout_s  # for writes; reads have a deadline
        super().setup()
        self._reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.server.limits.read_timeout_s
        super().handle_one_request()

    def _serve(self) -> None:
        started = time.monotonic()
        request_id = uuid.uuid4().hex[:24]
        label = "-"
        try:
            body = self._read_body()
        except TimeoutError:
            self.close_connection = True
            self.server.log(f"{self.command} {self.path} closed: no data for the rest of the body")
            return
        except (_BadRequestError, FramingError) as error:
            self.close_connection = True
            if isinstance(error, FramingError):
                self.server.log(f"{self.command} {self.path} refused: {error}")
            response = gateway_error(400, "Bad Request")
        else:
            if body is None:
                self.close_connection = True
                response = gateway_error(413, "Request Entity Too Large")
            elif not self.server.in_flight.acquire(blocking=False):
                response = gateway_error(429, "Too Many Requests")
            else:
                try:
                    response, label = self.server.gateway.handle(self._request(body, request_id))
                finally:
                    self.server.in_flight.release()
        elapsed = (time.monotonic() - started) * 1000
        try:
            self._send(response, request_id)
        except (BrokenPipeError, ConnectionResetError):
            # The client left before its answer (a browser closing a tab, curl ^C): one line,
            # as every request gets, instead of socketserver's traceback.
            self.close_connection = True
            label = f"{label}, the client closed before the answer".lstrip(", ")
        self.server.log(f"{self.command} {self.path} {response.status} {elapsed:.0f} ms {label}")

    def _request(self, body: bytes, request_id: str) -> ApiRequest:
        split = urlsplit(self.path)
        return ApiRequest(
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

    def _read_body(self) -> bytes | None:
        """The body; None if over API Gateway's limit (the connection is then closed)."""
        size = body_length(
            self.headers.get_all("content-length") or [],
            self.headers.get_all("transfer-encoding") or [],
        )
        if size is None:
            return self._read_chunked()
        if size > API_PAYLOAD_LIMIT:
            self._discard(size)
            return None
        return self._read_exactly(size)

    def _read_exactly(self, size: int) -> bytes:
        data = self.rfile.read(size)
        if len(data) < size:  # the client closed the connection halfway
            raise _BadRequestError
        return data

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
            line = self.rfile.readline(_LINE_LIMIT)
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size_text):
                raise _BadRequestError
            size = int(size_text, 16)
            if size == 0:
                self._read_trailers()
                return b"".join(chunks)
            total += size
            if total > API_PAYLOAD_LIMIT:
                return None
            chunks.append(self._read_exactly(size))
            if self.rfile.readline(_LINE_LIMIT).strip():  # the CRLF after the chunk's data
                raise _BadRequestError

    def _read_trailers(self) -> None:
        for _ in range(100):
            line = self.rfile.readline(_LINE_LIMIT)
            if not line.endswith(b"\n"):
                raise _BadRequestError
            if not line.strip():
                return
        raise _BadRequestError

    def _send(self, response: ApiResponse, request_id: str) -> None:
        self.connection.settimeout(self.timeout)
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


class Listener(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1 with `ListenerLimits`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    """The listen backlog: a burst of connections waits to be accepted (then perhaps answered
    429) instead of being refused by the kernel."""

    def __init__(self, port: int, log: Log, limits: ListenerLimits) -> None:
        super().__init__(("127.0.0.1", port), _Handler, bind_and_activate=True)
        self.log = log
        self.limits = limits
        self.in_flight = threading.BoundedSemaphore(limits.max_in_flight)
        self.gateway: Handles
        self._connections = 0
        self._count_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count_lock:
            refused = self._connections >= self.limits.max_connections
            if not refused:
                self._connections += 1
        if refused:
            _refuse(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._closed_one()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._closed_one()

    def _closed_one(self) -> None:
        with self._count_lock:
            self._connections -= 1


def _refuse(connection: socket.socket) -> None:
    """429 on a connection over the limit, without reading its request (the accept loop must
    not wait on it)."""
    answer = (
        b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_MANY), _TOO_MANY)
    )
    try:
        connection.setblocking(False)
        connection.recv(_LINE_LIMIT * 16)  # what already arrived: closing on unread data resets
    except OSError:
        pass
    try:
        connection.settimeout(0.5)
        connection.sendall(answer)
    except OSError:
        pass


def bind(port: int, log: Log, limits: ListenerLimits | None = None) -> Listener:
    """Bind 127.0.0.1:`port` now (OSError if busy); serve once `attach(listener, gateway)` ran."""
    return Listener(port, log, limits or ListenerLimits())


def attach(listener: Listener, gateway: Handles) -> None:
    listener.gateway = gateway
