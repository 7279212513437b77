"""API Gateway's JWT authorizer on loopback: the gateway step that checks a token before any
function runs.

As API Gateway does: the token from the `Authorization` header (with or without `Bearer`), its
RS256 signature against the issuer's JWKS, then `iss`, `exp` (and `nbf`/`iat` when present), `aud`
(or `client_id` when there is no `aud`) against the audiences, `token_use` (access or id) and
the route's scopes. Any failure is API Gateway's 401 `{"message":"Unauthorized"}`; the reason
goes to the console only. A valid token's claims reach the function as
`requestContext.authorizer.jwt.claims`, strings as API Gateway passes them.

Reference: "Control access to HTTP APIs with JWT authorizers in API Gateway" (Authorizing API
requests with a JWT authorizer: identitySource with or without `Bearer`, RS256, kid, iss, aud or
client_id, exp, nbf, iat, scope or scp). The page lists no `token_use` check: that one is local
mode's own, and passes every token Cognito issues.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from local.apigw import ApiRequest, ApiResponse, gateway_error
from local.topology import RouteSpec

ALGORITHMS = ["RS256"]
"""The only algorithm API Gateway's JWT authorizer accepts."""


class Unauthorized(Exception):
    """Why a token was refused (logged; the client only sees 401)."""


KeySource = Callable[[str], KeySet | None]
"""Issuer -> its signing keys (JWKS), or None when the issuer cannot be reached locally."""


class JwtAuthorizer:
    """The gateway's authorization step: JWT routes need a valid token, IAM routes are refused
    (not emulated: 403, as for a request without SigV4 credentials), others pass."""

    def __init__(
        self,
        keys: KeySource,
        substitute: Callable[[str], str],
        log: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys, self._substitute, self._log, self._clock = keys, substitute, log, clock

    def __call__(self, request: ApiRequest, route: RouteSpec) -> ApiResponse | None:
        if route.authorization_type == "AWS_IAM":
            return gateway_error(403, "Forbidden")
        if route.authorization_type != "JWT":
            return None
        try:
            claims = self._verify(request, route)
        except Unauthorized as refused:
            self._log(f"{route.key}: 401 from the JWT authorizer: {refused}")
            response = gateway_error(401, "Unauthorized")
            response.headers.append(("www-authenticate", 'Bearer error="invalid_token"'))
            return response
        scope = claims.get("scope") or claims.get("scp")
        request.authorizer = {
            "jwt": {
                "claims": {k: _claim_text(v) for k, v in claims.items()},
                "scopes": str(scope).split() if route.scopes and scope else None,
            }
        }
        return None

    def _verify(self, request: ApiRequest, route: RouteSpec) -> dict[str, Any]:
        configuration = (route.authorizer or {}).get("jwtConfiguration") or {}
        issuer = self._substitute(str(configuration.get("issuer", "")))
        audiences = {self._substitute(str(a)) for a in configuration.get("audiences") or ()}
        raw = (request.header("authorization") or "").strip()
        scheme, _, rest = raw.partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" else raw
        if not token:
            raise Unauthorized("no token in the Authorization header")
        keys = self._keys(issuer)
        if keys is None:
            raise Unauthorized(f"the issuer {issuer} cannot be reached in local mode")
        try:
            claims = dict(jwt.decode(token, keys, algorithms=ALGORITHMS).claims)
        except (JoseError, ValueError, KeyError, TypeError) as error:
            raise Unauthorized(f"bad token ({type(error).__name__})") from None
        _check_claims(claims, issuer, audiences, route.scopes, self._clock())
        return claims


def _check_claims(
    claims: Mapping[str, Any], issuer: str, audiences: set[str], scopes: tuple[str, ...], now: float
) -> None:
    if claims.get("iss") != issuer:
        raise Unauthorized("wrong issuer")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= now:
        raise Unauthorized("the token has expired")
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if value is not None and (not isinstance(value, int | float) or value > now):
            raise Unauthorized(f"{name} is in the future")
    aud = claims.get("aud")
    presented = set(aud if isinstance(aud, list) else [aud]) if aud is not None else set()
    if aud is None:
        presented = {claims.get("client_id")}
    if not presented & audiences:
        raise Unauthorized("audience (aud or client_id) not accepted")
    if claims.get("token_use", "access") not in ("access", "id"):
        raise Unauthorized("token_use must be access or id")
    granted = str(claims.get("scope") or claims.get("scp") or "").split()
    if scopes and not set(scopes) & set(granted):
        raise Unauthorized("the token lacks the route's scopes")


def _claim_text(value: Any) -> str:
    """Claims as API Gateway passes them on: strings; arrays as `[a b]`."""
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
