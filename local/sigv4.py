"""Signature Version 4 checks, as AWS makes them, for requests that reach local mode's moto.

Local mode has one set of credentials per run (`local.storage.run_credentials`): the functions,
`dev-user` and local mode's own clients sign with them, and presigned URLs and POSTs are signed
with them.
A request signed with anything else, or not the request that was signed, or presigned and
expired, gets the error S3 answers (`AuthError`, raised with S3's status, code and message).

References: "Signature Version 4 signing process" (canonical request, string to sign, signing
key), "Authenticating requests: using query parameters" (presigned URLs, `X-Amz-Expires`) and
"Browser-based uploads using POST" (the policy's signature).
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
"""How far a header-signed request's `X-Amz-Date` may be from now (S3: RequestTimeTooSkewed)."""
MAX_EXPIRES_S = 7 * 24 * 3600
_UNKNOWN_KEY = "The AWS Access Key Id you provided does not exist in our records."
_NO_DATE = "AWS authentication requires a valid Date or x-amz-date header"
_SKEWED = "The difference between the request time and the current time is too large."
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


class AuthError(Exception):
    """S3's answer to a request that is not authenticated as it claims."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str


@dataclass(frozen=True)
class Scope:
    """`<access key>/<date>/<region>/<service>/aws4_request`, parsed."""

    access_key: str
    date: str
    region: str
    service: str

    @classmethod
    def parse(cls, text: str) -> Scope:
        parts = text.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise AuthError(400, "AuthorizationQueryParametersError", f"bad credential {text!r}")
        return cls(*parts[:4])

    @property
    def text(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def signing_key(secret: str, scope: Scope) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (scope.date, scope.region, scope.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(secret: str, scope: Scope, string_to_sign: str) -> str:
    return hmac.new(signing_key(secret, scope), string_to_sign.encode(), hashlib.sha256).hexdigest()


def _check(credentials: Credentials, scope: Scope, string_to_sign: str, signature: str) -> None:
    if scope.access_key != credentials.access_key:
        raise AuthError(403, "InvalidAccessKeyId", _UNKNOWN_KEY)
    expected = sign(credentials.secret_key, scope, string_to_sign)
    if not hmac.compare_digest(expected, signature):
        raise AuthError(403, "SignatureDoesNotMatch", _MISMATCH)


def _amz_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise AuthError(403, "AccessDenied", _NO_DATE) from None


def verify_header_auth(
    environ: Mapping[str, Any], payload_hash: str, credentials: Credentials, now: datetime
) -> Scope:
    """An `Authorization: AWS4-HMAC-SHA256 ...` request: its signature, key and time, with
    `payload_hash` as the canonical request's payload (the body's SHA-256, or what S3's
    `x-amz-content-sha256` claims). Returns the credential's scope."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != ALGORITHM:
        raise AuthError(400, "InvalidArgument", "Unsupported Authorization Type")
    parts = dict(p.strip().partition("=")[::2] for p in rest.split(","))
    if not {"Credential", "SignedHeaders", "Signature"} <= parts.keys():
        raise AuthError(
            400, "AuthorizationHeaderMalformed", "The authorization header is malformed"
        )
    scope = Scope.parse(parts["Credential"])
    amz_date = environ.get("HTTP_X_AMZ_DATE", "")
    if abs(now - _amz_time(amz_date)) > MAX_SKEW:
        raise AuthError(403, "RequestTimeTooSkewed", _SKEWED)
    request = canonical_request(environ, parts["SignedHeaders"], payload_hash, scope.service)
    _check(credentials, scope, _string_to_sign(amz_date, scope, request), parts["Signature"])
    return scope


def verify_presigned_url(
    environ: Mapping[str, Any], credentials: Credentials, now: datetime
) -> None:
    """A presigned URL (`X-Amz-Algorithm=AWS4-HMAC-SHA256&...&X-Amz-Signature=...`)."""
    query = dict(query_pairs(environ))
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise AuthError(400, "AuthorizationQueryParametersError", f"X-Amz-Algorithm is {ALGORITHM}")
    missing = [n for n in ("Credential", "Date", "Expires", "SignedHeaders", "Signature")
               if f"X-Amz-{n}" not in query]  # fmt: skip
    if missing:
        raise AuthError(400, "AuthorizationQueryParametersError", f"X-Amz-{missing[0]} is missing")
    scope = Scope.parse(query["X-Amz-Credential"])
    expires = query["X-Amz-Expires"]
    if not expires.isdigit() or int(expires) > MAX_EXPIRES_S:
        raise AuthError(400, "AuthorizationQueryParametersError", "X-Amz-Expires: up to a week")
    request = canonical_request(
        environ, query["X-Amz-SignedHeaders"], "UNSIGNED-PAYLOAD", scope.service
    )
    signed_at = query["X-Amz-Date"]
    _check(credentials, scope, _string_to_sign(signed_at, scope, request), query["X-Amz-Signature"])
    if now > _amz_time(signed_at) + timedelta(seconds=int(expires)):
        raise AuthError(403, "AccessDenied", "Request has expired")


def verify_post_policy(
    policy: str, credential: str, signature: str, credentials: Credentials
) -> None:
    """A browser-based upload's signature over its base64 `policy` field."""
    _check(credentials, Scope.parse(credential), policy, signature)


def _string_to_sign(amz_date: str, scope: Scope, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope.text}\n{digest}"


def canonical_request(
    environ: Mapping[str, Any], signed_headers: str, payload: str, service: str
) -> str:
    """The canonical request as the client built it from what was sent."""
    raw_path = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or "/").split("?", 1)[0]
    if service != "s3":  # S3 signs the path as sent; other services its normalised form
        raw_path = quote(_normalised(raw_path), safe="/~")
    pairs = [
        (_encode(name), _encode(value))
        for name, value in query_pairs(environ)
        if name != "X-Amz-Signature"
    ]
    query = "&".join(f"{name}={value}" for name, value in sorted(pairs))
    names = signed_headers.split(";")
    headers = "".join(f"{name}:{' '.join(_header(environ, name).split())}\n" for name in names)
    return "\n".join(
        [environ.get("REQUEST_METHOD", "GET"), raw_path, query, headers, signed_headers, payload]
    )


def query_pairs(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The query's name/value pairs, percent-decoded (a `+` stays a `+`, as in SigV4)."""
    pairs = []
    for pair in environ.get("QUERY_STRING", "").split("&"):
        if pair:
            name, _, value = pair.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def _normalised(path: str) -> str:
    normal = posixpath.normpath(path) if path not in ("", "/") else "/"
    return normal + "/" if path.endswith("/") and normal != "/" else normal


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def _header(environ: Mapping[str, Any], name: str) -> str:
    key = name.upper().replace("-", "_")
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return str(environ.get(key, ""))
    return str(environ.get(f"HTTP_{key}", ""))
