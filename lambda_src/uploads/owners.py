"""Who is calling: the owner whose uploads a request may touch.

API Gateway's JWT authorizer has verified the token (signature, issuer, audience, expiry) before
the function runs; the function only reads the `sub` claim it passes on in
`requestContext.authorizer.jwt.claims`. That value becomes part of S3 keys, so it is checked
against a strict pattern first: a claim that does not match is refused, never used in a key.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from api_http import ApiError, request_context

AUTH_MODES = ("none", "cognito", "jwt")

COGNITO_SUBJECT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""Cognito's `sub`: a lowercase UUID."""

EXTERNAL_SUBJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_@|+=.-]{0,127}")
"""Another issuer's `sub` (OIDC allows any string up to 255 characters): ASCII letters, digits and
`_@|+=.-` (Auth0's `auth0|...`, Google's digits, Entra ID's base64url, Okta's ids, UUIDs), at most
128 characters, starting with a letter or digit. Never `/`, `*`, `..`, whitespace or non-ASCII."""

logger = logging.getLogger("uploads")


class UnauthorizedError(ApiError):
    status = 401
    code = "unauthorized"


def subject(event: dict[str, Any]) -> Any:
    """The `sub` claim as API Gateway passed it, unchecked; None when there is none."""
    authorizer = request_context(event).get("authorizer")
    jwt = authorizer.get("jwt") if isinstance(authorizer, dict) else None
    claims = jwt.get("claims") if isinstance(jwt, dict) else None
    return claims.get("sub") if isinstance(claims, dict) else None


def is_valid_subject(value: Any, mode: str) -> bool:
    """Whether `value` may be used as an owner (a key segment) under auth `mode`."""
    pattern = COGNITO_SUBJECT if mode == "cognito" else EXTERNAL_SUBJECT
    return isinstance(value, str) and bool(pattern.fullmatch(value)) and ".." not in value


def owner(event: dict[str, Any], mode: str) -> str | None:
    """The caller's owner id, or None when `mode` is "none" (uploads are shared); a 401 when a
    token's subject is missing or unusable."""
    if mode == "none":
        return None
    value = subject(event)
    if value is None:
        # The authorizer guarantees claims on every route: without them the API was deployed
        # without its authorizer (or the function is called directly).
        logger.error(
            "auth misconfiguration: no JWT claims on a request although AUTH_MODE is %s",
            mode,
            extra={"authMode": mode, "route": event.get("routeKey")},
        )
        raise UnauthorizedError("this API needs a bearer token", "missing_token_claims")
    if not is_valid_subject(value, mode):
        shown = value if isinstance(value, str) else type(value).__name__
        logger.warning(
            "refused a token subject that is not a safe owner id",
            extra={"subjectLength": len(shown), "subjectSample": ascii(shown[:40])},
        )
        raise UnauthorizedError("the token's subject is not accepted here", "invalid_subject")
    return value


def page_sign_in(mode: str, environ: Mapping[str, str]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """What the web page needs to sign users in, and the origins it then calls (for its CSP).

    With Cognito the page calls the user pool's API (`InitiateAuth`, `GlobalSignOut`) itself: on
    AWS at the issuer's origin (`https://cognito-idp.<region>.amazonaws.com`), in local mode at
    `AWS_ENDPOINT_URL` (moto). Another issuer's sign-in is not built into the page.
    """
    if mode != "cognito":
        return {"mode": mode}, ()
    endpoint = (
        environ.get("AWS_ENDPOINT_URL_COGNITO_IDP")
        or environ.get("AWS_ENDPOINT_URL")
        or environ.get("AUTH_ISSUER", "")
    )
    parts = urlsplit(endpoint)
    origin = f"{parts.scheme}://{parts.netloc}"
    settings = {"mode": mode, "clientId": environ.get("AUTH_CLIENT_ID", ""), "endpoint": origin}
    return settings, (origin,)
