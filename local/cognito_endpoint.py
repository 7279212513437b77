"""Cognito's public endpoint on loopback: the user pool API the web page calls, in front of moto.

Only what a page may do without AWS credentials passes, and only for the page:
- the operations the page calls (`PAGE_OPERATIONS`: sign-in, its challenges, token refresh and
  sign-out) are forwarded to moto; any other `X-Amz-Target` (`ListUsers`,
  `AdminSetUserPassword`, ...) is answered as Cognito answers a request without credentials;
- CORS headers are sent, and cross-origin requests accepted, for the page's origins only;
- an app client with `PreventUserExistenceErrors: ENABLED` answers an unknown user as it answers a
  wrong password (moto says "User does not exist"; the real pool does not: Cognito Developer
  Guide, "Managing user existence error responses").

moto's server answers an `OPTIONS` on `/` as S3 would (it cannot tell the service from a
preflight), so this proxy answers preflights itself. Functions get its URL as
`AWS_ENDPOINT_URL_COGNITO_IDP` (the page's sign-in endpoint), `dev-user` signs users in here too.
It signs what it forwards with the run's credentials (SigV4, botocore's signer): moto's front
(`local.s3_guard`) has no anonymous path to Cognito, so this is the only door for these calls.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Collection, Mapping
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.framing import FramingError
from local.loopback import BodyTooLargeError, LoopbackServer, read_body, send

PAGE_OPERATIONS = frozenset(
    {"InitiateAuth", "RespondToAuthChallenge", "GlobalSignOut", "RevokeToken"}
)
"""What the page calls: Cognito serves these without AWS credentials (the body carries a
password, a session or a token)."""
_TARGET_PREFIX = "AWSCognitoIdentityProviderService."
_FORWARDED = ("content-type", "x-amz-target", "x-amz-user-agent")
_MAX_BODY = 1024 * 1024
_NOT_AUTHORIZED = {"__type": "NotAuthorizedException", "message": "Incorrect username or password."}
_NO_CREDENTIALS = {
    "__type": "MissingAuthenticationTokenException",
    "message": "Missing Authentication Token",
}


class CognitoEndpoint(LoopbackServer):
    """A loopback HTTP server forwarding the page's Cognito calls to `target` (moto's URL).

    `page_origins` may call it from a browser; `hiding_clients` are the app client ids whose
    pool prevents user existence errors; `credentials` (boto3's keyword names) and `region` sign
    the forwarded calls."""

    def __init__(
        self,
        target: str,
        page_origins: Collection[str],
        credentials: Mapping[str, str],
        region: str,
        hiding_clients: Collection[str] = (),
    ) -> None:
        signer = SigV4Auth(
            Credentials(
                credentials["aws_access_key_id"],
                credentials["aws_secret_access_key"],
                credentials["aws_session_token"],
            ),
            "cognito-idp",
            region,
        )
        super().__init__(
            _handler(target, frozenset(page_origins), frozenset(hiding_clients), signer)
        )


def _handler(
    target: str, origins: frozenset[str], hiding_clients: frozenset[str], signer: SigV4Auth
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 20

        def do_OPTIONS(self) -> None:
            if self._cors() is None:
                self._answer(403, b"")
                return
            self._answer(204, b"")

        def do_POST(self) -> None:
            try:
                body = read_body(self, _MAX_BODY)
            except (FramingError, BodyTooLargeError) as error:
                self.close_connection = True
                self._answer(400 if isinstance(error, FramingError) else 413, b"")
                return
            if self.headers.get("origin") and self._cors() is None:
                self._answer(403, b"")
                return
            operation = self.headers.get("x-amz-target", "").removeprefix(_TARGET_PREFIX)
            if operation not in PAGE_OPERATIONS:
                self._json(400, _NO_CREDENTIALS)
                return
            status, answer = _forward(target, body, self.headers, signer)
            if (
                operation in ("InitiateAuth", "RespondToAuthChallenge")
                and answer.get("__type") == "UserNotFoundException"
                and _client_id(body) in hiding_clients
            ):
                status, answer = 400, _NOT_AUTHORIZED
            self._json(status, answer)

        def _cors(self) -> dict[str, str] | None:
            """CORS headers for the request's origin; None for an origin other than the page's."""
            origin = self.headers.get("origin")
            if origin not in origins:
                return None
            return {
                "access-control-allow-origin": origin,
                "access-control-allow-methods": "POST",
                "access-control-allow-headers": ", ".join(_FORWARDED),
                "access-control-max-age": "600",
                "vary": "Origin",
            }

        def _json(self, status: int, answer: dict) -> None:
            content_type = {"content-type": "application/x-amz-json-1.1"}
            self._answer(status, json.dumps(answer).encode(), content_type)

        def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            send(self, status, body, {**(self._cors() or {}), **(headers or {})})

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _forward(target: str, body: bytes, headers: HTTPMessage, signer: SigV4Auth) -> tuple[int, dict]:
    """moto's status and JSON answer to the call, signed."""
    sent = {name: value for name in _FORWARDED if (value := headers.get(name))}
    signed = AWSRequest(method="POST", url=target + "/", data=body, headers=sent)
    signer.add_auth(signed)
    request = urllib.request.Request(  # noqa: S310 - moto on loopback
        target + "/", data=body, headers=dict(signed.headers.items()), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        answer = json.loads(text or b"{}")
    except ValueError:
        answer = {"__type": "InternalErrorException", "message": "unreadable answer"}
    return status, answer if isinstance(answer, dict) else {}


def _client_id(body: bytes) -> str | None:
    try:
        request = json.loads(body)
    except ValueError:
        return None
    return request.get("ClientId") if isinstance(request, dict) else None
