"""The local API's listener against hostile clients: malformed framing, half-sent requests, bursts.

The listener runs in this process on 127.0.0.1 with a stand-in gateway; every load here is
bounded and only ever sent to loopback.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from local.apigw import ApiRequest, ApiResponse
from local.listener import Listener, ListenerLimits, attach, bind


class _EchoGateway:
    """Answers 200 with the body's length after `delay` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.bodies: list[bytes] = []

    def handle(self, request: ApiRequest) -> tuple[ApiResponse, str]:
        time.sleep(self.delay)
        self.bodies.append(request.body)
        return ApiResponse(200, [], json.dumps({"length": len(request.body)}).encode()), "echo"


@contextmanager
def _serve(limits: ListenerLimits, gateway: _EchoGateway) -> Iterator[Listener]:
    listener = bind(0, lambda _: None, limits)
    attach(listener, gateway)
    thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield listener
    finally:
        listener.shutdown()
        listener.server_close()
        thread.join(timeout=5)


@pytest.fixture
def echo() -> _EchoGateway:
    return _EchoGateway()


@pytest.fixture
def listener(echo: _EchoGateway) -> Iterator[Listener]:
    with _serve(ListenerLimits(read_timeout_s=0.5), echo) as served:
        yield served


def _exchange(listener: Listener, raw: bytes, timeout: float = 5.0) -> bytes:
    """Send `raw` on a new connection; everything the server sends until it closes."""
    with socket.create_connection(listener.server_address, timeout=timeout) as connection:
        connection.sendall(raw)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("size", [b"zz", b"", b"-1", b"1" * 20])
def test_a_bad_chunk_size_is_400_not_a_dropped_connection(listener, size):
    answer = _exchange(
        listener,
        b"POST /uploads HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
        + size
        + b"\r\nabc\r\n0\r\n\r\n",
    )

    assert _status(answer) == 400
    assert answer.endswith(b'{"message":"Bad Request"}')


def test_a_bad_content_length_is_400(listener):
    answer = _exchange(listener, b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ten\r\n\r\n")

    assert _status(answer) == 400


def test_a_well_formed_chunked_body_reaches_the_gateway_whole(listener, echo):
    answer = _exchange(
        listener,
        b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        b"3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\ntrailer: yes\r\n\r\n",
    )

    assert _status(answer) == 200
    assert echo.bodies == [b"abc0123456789"]


def test_half_sent_and_idle_connections_are_closed_after_the_read_timeout(listener, echo):
    half_sent = [
        b"",  # connected, sent nothing
        b"GET /uploads HT",  # half a request line
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly part",  # half a body
        b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab",
    ]
    connections = [socket.create_connection(listener.server_address) for _ in range(40)]
    try:
        for index, connection in enumerate(connections):
            connection.sendall(half_sent[index % len(half_sent)])
        started = time.monotonic()
        for connection in connections:
            connection.settimeout(5)
            while connection.recv(65536):  # the server closes: recv returns b""
                pass
        elapsed = time.monotonic() - started
    finally:
        for connection in connections:
            connection.close()

    assert elapsed < 3  # 0.5 s timeout, not the client's 5 s
    assert echo.bodies == []
    assert _status(_exchange(listener, b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n")) == 200


def test_a_burst_beyond_the_concurrency_limit_gets_429_and_no_connection_errors():
    gateway = _EchoGateway(delay=0.3)
    limits = ListenerLimits(read_timeout_s=5, max_connections=256, max_in_flight=8)
    with _serve(limits, gateway) as listener:

        def one(_: int) -> int:
            raw = b"GET /uploads HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
            return _status(_exchange(listener, raw, timeout=30))

        with ThreadPoolExecutor(max_workers=200) as pool:
            statuses = list(pool.map(one, range(200)))

    assert set(statuses) == {200, 429}
    assert statuses.count(200) >= 8
    assert statuses.count(429) >= 100


def test_connections_beyond_the_limit_get_429_at_once():
    limits = ListenerLimits(read_timeout_s=5, max_connections=10, max_in_flight=8)
    with _serve(limits, _EchoGateway()) as listener:
        held = [socket.create_connection(listener.server_address) for _ in range(10)]
        try:
            time.sleep(0.2)  # all ten accepted and holding a thread each
            answer = _exchange(listener, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", timeout=5)
        finally:
            for connection in held:
                connection.close()
        assert _status(answer) == 429
        assert answer.endswith(b'{"message":"Too Many Requests"}')
        time.sleep(0.3)
        assert _status(_exchange(listener, b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n")) == 200


@pytest.mark.parametrize(
    "framing",
    [
        "content-length: \N{SUPERSCRIPT TWO}\r\n",  # byte 0xB2, which str.isdigit() accepts
        "content-length: " + "9" * 5000 + "\r\n",  # past what int() converts
        "content-length: 3\r\ncontent-length: 30\r\n",  # two lengths that differ
        "content-length: 3\r\ncontent-length: 3\r\n",  # the same length twice
        "content-length: 3, 3\r\n",
        "content-length: -3\r\n",
        "transfer-encoding: xchunked\r\n",  # not chunked: the length cannot be known
        "transfer-encoding: chunked, gzip\r\n",
        "transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n",
        "transfer-encoding: chunked\r\ncontent-length: 3\r\n",  # both: a smuggling vector
    ],
)
def test_a_request_whose_body_length_is_unclear_is_400_and_closed(listener, echo, framing):
    raw = f"POST /uploads HTTP/1.1\r\nhost: x\r\n{framing}\r\nabc\r\n0\r\n\r\n"

    answer = _exchange(listener, raw.encode("latin-1"))  # how http.server decodes headers

    assert _status(answer) == 400
    assert b"connection: close" in answer.lower()
    assert answer.endswith(b'{"message":"Bad Request"}')
    assert echo.bodies == []


def _dribble(listener: Listener, stop: threading.Event) -> tuple[socket.socket, threading.Thread]:
    """A connection that sends its request one byte every 0.1 s until the server closes it or
    `stop` is set."""
    connection = socket.create_connection(listener.server_address)
    raw = b"POST /uploads HTTP/1.1\r\nhost: x\r\ncontent-length: 500\r\n\r\n" + b"x" * 500

    def send() -> None:
        for byte in raw:
            if stop.is_set():
                return
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                return
            time.sleep(0.1)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    return connection, sender


def test_a_request_that_trickles_in_is_closed_at_its_deadline_not_kept_by_each_byte(listener):
    stop = threading.Event()
    connection, sender = _dribble(listener, stop)
    started = time.monotonic()
    try:
        connection.settimeout(10)
        while connection.recv(65536):
            pass
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        connection.close()
        sender.join(timeout=2)

    assert elapsed < 2  # the 0.5 s deadline; reads every 0.1 s would keep it for 50 s


def test_slow_connections_hold_the_connection_limit_only_until_their_deadline():
    limits = ListenerLimits(read_timeout_s=0.5, max_connections=4, max_in_flight=4)
    stop = threading.Event()
    with _serve(limits, _EchoGateway()) as listener:
        held = [_dribble(listener, stop) for _ in range(4)]
        try:
            time.sleep(0.2)
            assert _status(_exchange(listener, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")) == 429
            time.sleep(1.0)  # past every slow request's deadline, while each still sends
            answer = _exchange(listener, b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        finally:
            stop.set()
            for connection, sender in held:
                connection.close()
                sender.join(timeout=2)

    assert _status(answer) == 200


class _BigGateway(_EchoGateway):
    """Answers 200 with 8 MB after `delay` seconds: more than a socket buffer holds."""

    def handle(self, request: ApiRequest) -> tuple[ApiResponse, str]:
        time.sleep(self.delay)
        return ApiResponse(200, [], b"x" * 8_000_000), "big"


def test_a_client_that_leaves_before_its_answer_is_one_log_line_not_a_traceback(capsys):
    lines: list[str] = []
    listener = bind(0, lines.append, ListenerLimits(read_timeout_s=2.0))
    attach(listener, _BigGateway(delay=0.3))
    thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        connection = socket.create_connection(listener.server_address, timeout=5)
        connection.sendall(b"GET /uploads HTTP/1.1\r\nhost: x\r\n\r\n")
        # Reset, not a polite close: the server's writes then fail at once.
        connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
        )
        connection.close()
        deadline = time.monotonic() + 5
        while not lines and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        listener.shutdown()
        listener.server_close()
        thread.join(timeout=5)
    assert len(lines) == 1, lines
    assert "the client closed before the answer" in lines[0], lines
    assert "Traceback" not in capsys.readouterr().err
