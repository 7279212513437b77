"""What real S3 refuses, refused in front of moto (which accepts nearly anything).

A WSGI middleware around moto's server. First the framing (`local.framing`, noted by
`FramedRequestHandler`): a request whose body length is unclear is 400 and the connection closed.
Then every request must be
- signed (`Authorization: AWS4-HMAC-SHA256 ...`) with local mode's credentials; the signature is
  checked before the body is read: for S3 against the `x-amz-content-sha256` it signs (the body
  is then read and must have that hash: 400 `XAmzContentSHA256Mismatch`), for other services
  (whose signature covers the body) after reading at most `SIGNED_BODY_LIMIT` bytes, or
- a presigned URL signed with them and not expired, or
- a browser-based upload (presigned POST) whose policy is signed with them, not expired, and met
  by the form (`local.post_form`, which reads the form once; the file is not read before the
  policy's signature and conditions hold, nor past its `content-length-range`): every condition
  (`eq`, `starts-with`, `content-length-range`) holds and no field is left outside the policy;
  moto then stores the form that was checked, or
- what AWS serves without credentials: a user pool's JWKS, and CORS preflights (`OPTIONS` with
  `Origin` and `Access-Control-Request-Method`). The Cognito calls AWS takes without credentials
  (sign-in) reach moto only through `local.cognito_endpoint`, which signs what it forwards.
moto's own endpoints (`/moto-api/...`: its state with every user's password, reset, the request
recorder; `/latest/meta-data/`: instance metadata) answer no one, signed or not. Anything else
(anonymous `ListBucket` or `GetObject`, a presigned URL with an added `response-content-type`)
gets S3's XML error: 403 `AccessDenied`, `SignatureDoesNotMatch` or `InvalidAccessKeyId`, or
400 `EntityTooLarge`/`EntityTooSmall`.

References: S3 API Reference "Signature Calculations for the Authorization Header: Transferring
Payload in a Single Chunk" (`x-amz-content-sha256`), "POST Policy", Conditions (every form field
but `x-amz-signature`, `file`, `policy` and `x-ignore-*` must appear in the conditions) and
"Error responses" (the codes above); `local.sigv4` and `local.post_form` cite the rest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import IO, Any
from xml.sax.saxutils import escape

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.wsgi import ClosingIterator

from local.framing import FramingError, body_length
from local.post_form import PostUpload, canonical_form, read_post_form
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
"""S3's limit for a browser-based upload or a single PUT (5 GB)."""
SIGNED_BODY_LIMIT = 2 * 1024 * 1024
"""The largest body read before its signature is checked: what a request to SQS (1 MiB
messages) or Cognito needs, whose signatures cover the body's hash."""
_BUFFERED = "local.s3_guard.body"
_FRAMING = "local.s3_guard.framing"
_MOTO_OWN = ("/moto-api", "/latest/meta-data/", "/latest/api/", "/favicon.ico")
"""Paths moto routes to itself whatever the host (moto_server/werkzeug_app.py,
`get_application`)."""
_JWKS = re.compile(r"/[\w-]+_\w+/\.well-known/(jwks|openid-configuration)\.json")
_HASH = re.compile(r"[0-9a-f]{64}")
_NOT_IN_POLICY = frozenset({"file", "policy", "x-amz-signature"})
_TOO_SMALL = "Your proposed upload is smaller than the minimum allowed size"
_TOO_LARGE = "Your proposed upload exceeds the maximum allowed size"


class FramedRequestHandler(MotoRequestHandler):
    """moto's request handler, noting in the environ a request whose framing `local.framing`
    refuses (WSGI alone shows only one `Content-Length`)."""

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        try:
            body_length(
                self.headers.get_all("content-length") or [],
                self.headers.get_all("transfer-encoding") or [],
            )
        except FramingError as error:
            environ[_FRAMING] = str(error)
        return environ


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
            if _FRAMING in environ:
                raise AuthError(400, "InvalidRequest", f"Bad framing: {environ[_FRAMING]}")
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
        with the body moto is to read when it had to read the body."""
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        if path.startswith(_MOTO_OWN):
            raise _anonymous()
        if environ.get("HTTP_AUTHORIZATION"):
            self._check_signed(environ)
        elif "X-Amz-Signature" in dict(query_pairs(environ)):
            verify_presigned_url(environ, self.credentials, self.now())
        elif method == "POST" and environ.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            self._check_browser_upload(environ, path.strip("/"))
        elif not (_is_preflight(environ) or (method in ("GET", "HEAD") and _JWKS.fullmatch(path))):
            raise _anonymous()

    def _check_signed(self, environ: dict[str, Any]) -> None:
        claimed = environ.get("HTTP_X_AMZ_CONTENT_SHA256", "")
        if claimed:  # S3: the signature covers the claimed hash; the body is read after it
            verify_header_auth(environ, claimed, self.credentials, self.now())
            if _HASH.fullmatch(claimed):
                digest = hashlib.sha256()
                _buffer(environ, MAX_POST_BYTES, digest.update)
                if digest.hexdigest() != claimed:
                    raise AuthError(
                        400,
                        "XAmzContentSHA256Mismatch",
                        "The provided 'x-amz-content-sha256' header does not match what was "
                        "computed.",
                    )
            return
        digest = hashlib.sha256()
        _buffer(environ, SIGNED_BODY_LIMIT, digest.update)
        verify_header_auth(environ, digest.hexdigest(), self.credentials, self.now())

    def _check_browser_upload(self, environ: dict[str, Any], bucket: str) -> None:
        if not bucket or "/" in bucket:
            raise _anonymous()
        length = _content_length(environ, MAX_POST_BYTES)
        check = _PolicyCheck(self.credentials, bucket, self.now())
        upload = read_post_form(
            environ["wsgi.input"], length, environ["CONTENT_TYPE"], check, _entity_too_large
        )
        try:
            if upload.size < check.sizes[0]:
                raise AuthError(400, "EntityTooSmall", _TOO_SMALL)
            _hand_over(environ, check.fields, upload)
        finally:
            upload.file.close()


class _PolicyCheck:
    """A browser-based upload's signature and policy, checked when its file starts (before any of
    the file is read); keeps the fields as checked and the sizes the policy allows."""

    def __init__(self, credentials: Credentials, bucket: str, now: datetime) -> None:
        self.credentials, self.bucket, self.now = credentials, bucket, now
        self.fields: dict[str, str] = {}
        self.sizes = (0, MAX_POST_BYTES)

    def __call__(self, fields: Mapping[str, str], filename: str) -> int:
        if "policy" not in fields:
            raise _anonymous()
        if "x-amz-signature" not in fields or "x-amz-credential" not in fields:
            raise AuthError(403, "AccessDenied", "Access Denied: the policy is not signed")
        verify_post_policy(
            fields["policy"], fields["x-amz-credential"], fields["x-amz-signature"],
            self.credentials,
        )  # fmt: skip
        self.fields = dict(fields)
        if "${filename}" in self.fields.get("key", ""):
            self.fields["key"] = self.fields["key"].replace("${filename}", filename)
        self.sizes = check_policy(_policy(fields["policy"]), self.fields, self.bucket, self.now)
        return self.sizes[1]


def _hand_over(environ: dict[str, Any], fields: Mapping[str, str], upload: PostUpload) -> None:
    """Give moto the checked form instead of the client's."""
    forwarded = {n: v for n, v in fields.items() if not n.startswith("x-ignore-")}
    body, content_type, length = canonical_form(forwarded, upload)
    environ["wsgi.input"] = environ[_BUFFERED] = body
    environ["CONTENT_TYPE"] = content_type
    environ["CONTENT_LENGTH"] = str(length)


def _is_preflight(environ: Mapping[str, Any]) -> bool:
    """A CORS preflight, which S3 answers without credentials."""
    return (
        environ.get("REQUEST_METHOD") == "OPTIONS"
        and bool(environ.get("HTTP_ORIGIN"))
        and bool(environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"))
    )


def check_policy(
    policy: Mapping[str, Any], fields: Mapping[str, str], bucket: str, now: datetime
) -> tuple[int, int]:
    """S3's checks of a browser-based upload's form against its (signature-checked) policy;
    `fields` by lower-cased name. Returns the file sizes its `content-length-range` allows."""
    try:
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise _invalid("Invalid Policy: Invalid 'expiration' value") from None
    if now > expiration:
        raise _invalid("Invalid according to Policy: Policy expired.")
    covered = set(_NOT_IN_POLICY)
    sizes = (0, MAX_POST_BYTES)
    for condition in policy.get("conditions", []):
        if isinstance(condition, list) and condition and condition[0] == "content-length-range":
            try:
                low, high = (int(v) for v in condition[1:3])
            except (TypeError, ValueError):
                raise _invalid("Invalid Policy: Invalid content-length-range") from None
            sizes = (max(sizes[0], low), min(sizes[1], high))
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
    return sizes


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


def _entity_too_large() -> AuthError:
    return AuthError(400, "EntityTooLarge", _TOO_LARGE)


def _content_length(environ: Mapping[str, Any], limit: int) -> int:
    """The body's length (checked by `FramedRequestHandler`); EntityTooLarge over `limit`."""
    length = environ.get("CONTENT_LENGTH") or ""
    if not length:
        if environ.get("wsgi.input_terminated"):  # chunked: S3 wants the length up front
            raise AuthError(
                411, "MissingContentLength", "You must provide the Content-Length HTTP header."
            )
        return 0
    if int(length) > limit:
        raise _entity_too_large()
    return int(length)


def _buffer(environ: dict[str, Any], limit: int, seen: Callable[[bytes], Any]) -> IO[bytes]:
    """The request body in a (spooled) file, which also replaces `wsgi.input` for moto; each
    chunk goes to `seen` as it is read."""
    size = _content_length(environ, limit)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - moto reads it
    environ[_BUFFERED] = spool
    stream = environ["wsgi.input"]
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            break
        seen(chunk)
        spool.write(chunk)
        remaining -= len(chunk)
    spool.seek(0)
    environ["wsgi.input"] = spool
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
    reason = {400: "Bad Request", 403: "Forbidden", 411: "Length Required"}.get(error.status)
    start_response(
        f"{error.status} {reason or 'Error'}",
        [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("x-amz-request-id", request_id),
            ("Connection", "close"),  # the refused body may be unread: no next request on it
        ],
    )
    return [body]
