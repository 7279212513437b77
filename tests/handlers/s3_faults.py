"""S3 as the quarantine tests need it: conditional copies as AWS does them, and faults injected at
the HTTP layer of one boto3 client (so botocore's own retries run, as against S3).

moto 5.2.5 ignores `If-None-Match` on CopyObject (moto/s3/responses.py `copy_object` checks only
`x-amz-copy-source-if-none-match`, a condition on the source). `conditional_copies` adds it as AWS
documents it for CopyObject (API reference, CopyObject, request header `If-None-Match`: "Copies
the object only if the object key name at the destination does not already exist in the bucket
specified. Otherwise, Amazon S3 returns a 412 Precondition Failed error."), with the destination's
state read exactly as moto's own PutObject reads it for the same header (moto/s3/responses.py
`put_object`, `if_none_match == "*"`: a key whose current version is a delete marker does not
exist).

The fault hooks are `before-send` handlers registered ahead of moto's (moto answers every request
from a `before-send` handler too): returning a response there skips moto for that attempt, and
botocore then treats it as S3's answer, retries included.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse
from moto.s3.exceptions import PreconditionFailed
from moto.s3.responses import S3Response


class Killed(BaseException):
    """Lambda stopping the invocation: no code of the handler runs after it."""


def conditional_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's CopyObject honour `If-None-Match: *` on the destination."""
    copy = S3Response.copy_object

    def conditional(self: S3Response) -> Any:
        exists = self.backend.get_object(self.bucket_name, self.parse_key_name()) is not None
        if self.headers.get("If-None-Match") == "*" and exists:
            raise PreconditionFailed("If-None-Match")
        return copy(self)

    monkeypatch.setattr(S3Response, "copy_object", conditional)


def _matches(request: Any, key: str | None) -> bool:
    return key is None or request.url.split("?", 1)[0].endswith("/" + key)


@dataclass
class Hook:
    """One `before-send` hook on a client: the thread names of the requests it saw, in order."""

    client: Any
    event: str
    handler: Callable[..., AWSResponse | None]
    seen: list[str] = field(default_factory=list)

    def remove(self) -> None:
        self.client.meta.events.unregister(self.event, self.handler)


def on_request(
    client: Any, operation: str, action: Callable[[Any], AWSResponse | None], key: str | None = None
) -> Hook:
    """Run `action(request)` before each `operation` request of `client` (for `key` only, when
    given); a response it returns is S3's answer to that attempt."""

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        if not _matches(request, key):
            return None
        hook.seen.append(threading.current_thread().name)
        return action(request)

    hook = Hook(client, f"before-send.s3.{operation}", handler)
    client.meta.events.register_first(hook.event, handler)
    return hook


def once(action: Callable[[Any], AWSResponse | None]) -> Callable[[Any], AWSResponse | None]:
    """`action` for the first request only."""
    calls: list[int] = []

    def first(request: Any) -> AWSResponse | None:
        calls.append(1)
        return action(request) if len(calls) == 1 else None

    return first


def error(status: int, code: str, message: str) -> Callable[[Any], AWSResponse]:
    """An action: S3 answers with this error."""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    ).encode()
    return lambda request: AWSResponse(request.url, status, {}, MockRawResponse(body))


Action = Callable[[Any], AWSResponse | None]
"""What to do before a request: a response to answer it with, or None to let it through."""


def slow_down_once(then: Callable[[], object] = lambda: None) -> Action:
    """An action: the first request gets 503 SlowDown (after `then()`), later ones go through;
    botocore retries it after a backoff, as it does S3's."""
    slow_down = error(503, "SlowDown", "Please reduce your request rate.")

    def action(request: Any) -> AWSResponse:
        then()
        return slow_down(request)

    return once(action)


def kill_at(nth: int = 1) -> Callable[[Any], None]:
    """An action: the invocation is killed before the `nth` request is sent."""
    calls: list[int] = []

    def action(_request: Any) -> None:
        calls.append(1)
        if len(calls) == nth:
            raise Killed

    return action


def slow(seconds: float) -> Callable[[Any], None]:
    """An action: each request takes `seconds` longer."""

    def action(_request: Any) -> None:
        time.sleep(seconds)

    return action


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True
