"""What real S3 refuses, refused in front of moto (which accepts nearly anything).

A WSGI middleware around moto's server: every request to it must be
- signed (`Authorization: AWS4-HMAC-SHA256 ...`) with local mode's credentials, or
- a presigned URL signed with them and not expired, or
- a browser-based upload (presigned POST) whose policy is signed with them, not expired, and met
  by the form: every condition (`eq`, `starts-with`, `content-length-range`) holds and no field is
  left outside the policy, or
- what AWS serves without credentials: the page's Cognito operations (`PAGE_OPERATIONS`), a user
  pool's JWKS, and CORS preflights.
Anything else (anonymous `ListBucket` or `GetObject`, moto's own `/moto-api`, a presigned URL
with an added `response-content-type`) gets S3's XML error: 403 `AccessDenied`,
`SignatureDoesNotMatch` or `InvalidAccessKeyId`, or 400 `EntityTooLarge`/`EntityTooSmall`.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import IO, Any
from xml.sax.saxutils import escape

from werkzeug.formparser import parse_form_data
from werkzeug.wsgi import ClosingIterator

from local.cognito_endpoint import PAGE_OPERATIONS
from local.sigv4 import (
    AuthError,
    Credentials,
    query_pairs,
    verify_header_auth,
    verify_post_policy,
    verify_presigned_url,
)

WsgiApp = Callable[..., Iterable[bytes]]
MAX_POST_BYTES = 5 * 1024**3
"""S3's limit for a browser-based upload (5 GB)."""
_BUFFERED = "local.s3_guard.body"
_JWKS = re.compile(r"/[\w-]+_\w+/\.well-known/(jwks|openid-configuration)\.json")
_COGNITO = "AWSCognitoIdentityProviderService."
_NOT_IN_POLICY = frozenset({"file", "policy", "x-amz-signature"})
_TOO_SMALL = "Your proposed upload is smaller than the minimum allowed size"
_TOO_LARGE = "Your proposed upload exceeds the maximum allowed size"


class S3Guard:
    """Wraps moto's WSGI app; `credentials` are the only ones that sign."""

    def __init__(
        self,
        app: WsgiApp,
        credentials: Credentials,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.app = app
        self.credentials = credentials
        self.now = now

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            self._authenticate(environ)
        except AuthError as error:
            if environ.get(_BUFFERED) is not None:
                environ[_BUFFERED].close()
            return _error(environ, start_response, error)
        body = environ.get(_BUFFERED)
        answer = self.app(environ, start_response)
        return answer if body is None else ClosingIterator(answer, [body.close])

    def _authenticate(self, environ: dict[str, Any]) -> None:
        """Return if the request may reach moto; AuthError otherwise. Replaces `wsgi.input`
        with an equal stream when it had to read the body."""
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        if environ.get("HTTP_AUTHORIZATION"):
            body = _buffer(environ, MAX_POST_BYTES)
            verify_header_auth(environ, body.read(), self.credentials, self.now())
            body.seek(0)
        elif "X-Amz-Signature" in dict(query_pairs(environ)):
            verify_presigned_url(environ, self.credentials, self.now())
        elif method == "POST" and environ.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            self._check_browser_upload(environ, path.strip("/"))
        elif method == "OPTIONS" or (method in ("GET", "HEAD") and _JWKS.fullmatch(path)):
            return
        elif environ.get("HTTP_X_AMZ_TARGET", "").removeprefix(_COGNITO) not in PAGE_OPERATIONS:
            raise _anonymous()

    def _check_browser_upload(self, environ: dict[str, Any], bucket: str) -> None:
        if not bucket or "/" in bucket:
            raise _anonymous()
        body = _buffer(environ, MAX_POST_BYTES)
        copy = {**environ, "wsgi.input": body}
        _, form, files = parse_form_data(copy, silent=False)
        body.seek(0)
        fields = {name.lower(): value for name, value in form.items()}
        upload = files.get("file")
        if upload is None or "policy" not in fields:
            raise _anonymous()
        if "x-amz-signature" not in fields or "x-amz-credential" not in fields:
            raise AuthError(403, "AccessDenied", "Access Denied: the policy is not signed")
        verify_post_policy(
            fields["policy"], fields["x-amz-credential"], fields["x-amz-signature"],
            self.credentials,
        )  # fmt: skip
        size = upload.stream.seek(0, io.SEEK_END)
        for part in files.values():
            part.close()
        if "${filename}" in fields.get("key", ""):
            fields["key"] = fields["key"].replace("${filename}", upload.filename or "")
        check_policy(_policy(fields["policy"]), fields, bucket, size, self.now())


def check_policy(
    policy: Mapping[str, Any], fields: Mapping[str, str], bucket: str, size: int, now: datetime
) -> None:
    """S3's checks of a browser-based upload's form against its (signature-checked) policy;
    `fields` by lower-cased name."""
    try:
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise _invalid("Invalid Policy: Invalid 'expiration' value") from None
    if now > expiration:
        raise _invalid("Invalid according to Policy: Policy expired.")
    covered = set(_NOT_IN_POLICY)
    for condition in policy.get("conditions", []):
        if isinstance(condition, list) and condition and condition[0] == "content-length-range":
            low, high = (int(v) for v in condition[1:3])
            if size < low:
                raise AuthError(400, "EntityTooSmall", _TOO_SMALL)
            if size > high:
                raise AuthError(400, "EntityTooLarge", _TOO_LARGE)
            continue
        operator, name, value = _condition(condition)
        covered.add(name)
        actual = bucket if name == "bucket" else fields.get(name, "")
        holds = actual == value if operator == "eq" else actual.startswith(value)
        if not holds:
            shown = json.dumps([operator, f"${name}", value])
            raise _invalid(f"Invalid according to Policy: Policy Condition failed: {shown}")
    extra = sorted(n for n in fields if n not in covered and not n.startswith("x-ignore-"))
    if extra:
        raise _invalid(f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")


def _condition(condition: Any) -> tuple[str, str, str]:
    """(operator, lower-cased field name, value) of an `eq` or `starts-with` condition."""
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, value),) = condition.items()
        return "eq", name.lower(), str(value)
    if (
        isinstance(condition, list)
        and len(condition) == 3
        and condition[0] in ("eq", "starts-with")
        and str(condition[1]).startswith("$")
    ):
        return condition[0], condition[1][1:].lower(), str(condition[2])
    raise _invalid(f"Invalid Policy: Invalid Condition: {json.dumps(condition)}")


def _policy(encoded: str) -> Mapping[str, Any]:
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise _invalid("Invalid Policy: Invalid JSON.") from None
    if not isinstance(policy, dict):
        raise _invalid("Invalid Policy: Invalid JSON.")
    return policy


def _anonymous() -> AuthError:
    return AuthError(403, "AccessDenied", "Access Denied")


def _invalid(message: str) -> AuthError:
    return AuthError(403, "AccessDenied", message)


def _buffer(environ: dict[str, Any], limit: int) -> IO[bytes]:
    """The request body in a (spooled) file, which also replaces `wsgi.input` for moto."""
    length = environ.get("CONTENT_LENGTH") or "0"
    size = int(length) if length.isdigit() else 0
    if size > limit:
        raise AuthError(400, "EntityTooLarge", _TOO_LARGE)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - moto reads it
    stream = environ["wsgi.input"]
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            break
        spool.write(chunk)
        remaining -= len(chunk)
    spool.seek(0)
    environ["wsgi.input"] = environ[_BUFFERED] = spool
    return spool


def _error(
    environ: Mapping[str, Any], start_response: Callable[..., Any], error: AuthError
) -> list[bytes]:
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{error.code}</Code><Message>{escape(error.message)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>local</HostId></Error>"
    ).encode()
    if environ.get("REQUEST_METHOD") == "HEAD":
        body = b""
    reason = {400: "Bad Request", 403: "Forbidden"}.get(error.status, "Error")
    start_response(
        f"{error.status} {reason}",
        [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("x-amz-request-id", request_id),
        ],
    )
    return [body]
