"""The local gateway's JWT authorizer on its own: what API Gateway checks, and what it passes on."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from local.apigw import ApiRequest
from local.jwt_authorizer import JwtAuthorizer
from local.topology import RouteSpec

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Local"
CLIENT = "localclientid"
SUB = "0f8fad5b-d9cb-469f-a165-70867728950e"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


def token(key: RSAKey = KEY, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": SUB, "client_id": CLIENT, "token_use": "access",
              "iat": now, "exp": now + 600, "scope": "aws.cognito.signin.user.admin"}  # fmt: skip
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


def route(authorization: str = "JWT", scopes: tuple[str, ...] = ()) -> RouteSpec:
    configuration = {"issuer": ISSUER, "audiences": [CLIENT]}
    return RouteSpec(
        key="GET /uploads",
        function=None,  # type: ignore[arg-type]  # never invoked here
        authorization_type=authorization,
        authorizer={"jwtConfiguration": configuration},
        scopes=scopes,
    )


def request(authorization: str | None) -> ApiRequest:
    headers = [] if authorization is None else [("Authorization", authorization)]
    return ApiRequest("GET", "/uploads", "", headers, b"", "127.0.0.1", "r1", 0)


@pytest.fixture
def authorize() -> JwtAuthorizer:
    public = KeySet([RSAKey.import_key(KEY.as_dict(private=False))])
    logged: list[str] = []
    authorizer = JwtAuthorizer(
        lambda issuer: public if issuer == ISSUER else None, str, logged.append
    )
    authorizer.logged = logged  # type: ignore[attr-defined]
    return authorizer


def test_a_valid_token_passes_its_claims_on_as_strings(authorize):
    req = request(f"Bearer {token()}")

    assert authorize(req, route()) is None

    claims = req.authorizer["jwt"]["claims"]
    assert claims["sub"] == SUB
    assert claims["client_id"] == CLIENT
    assert isinstance(claims["exp"], str)
    assert req.authorizer["jwt"]["scopes"] is None


def test_the_bearer_prefix_is_optional_as_on_api_gateway(authorize):
    assert authorize(request(token()), route()) is None


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no token"),
        ("Bearer ", "no token"),
        ("Bearer not.a.jwt", "bad token"),
        (f"Bearer {token(OTHER_KEY)}", "bad token"),
        (f"Bearer {token(exp=int(time.time()) - 1)}", "expired"),
        (f"Bearer {token(exp=None)}", "expired"),
        (f"Bearer {token(nbf=int(time.time()) + 600)}", "nbf is in the future"),
        (f"Bearer {token(iss='https://cognito-idp.us-east-1.amazonaws.com/other')}", "issuer"),
        (f"Bearer {token(client_id='someone-else')}", "audience"),
        (f"Bearer {token(aud=['someone-else'])}", "audience"),
        (f"Bearer {token(token_use='refresh')}", "token_use"),
    ],
    ids=[
        "missing",
        "empty",
        "garbage",
        "other-key",
        "expired",
        "no-exp",
        "nbf",
        "issuer",
        "client_id",
        "aud",
        "token_use",
    ],
)
def test_bad_tokens_get_api_gateways_401(authorize, header, reason):
    req = request(header)

    response = authorize(req, route())

    assert response.status == 401
    assert response.body == b'{"message":"Unauthorized"}'
    assert ("www-authenticate", 'Bearer error="invalid_token"') in response.headers
    assert req.authorizer is None
    assert reason in authorize.logged[-1]


def test_an_id_token_is_checked_by_its_aud(authorize):
    id_token = token(client_id=None, aud=CLIENT, token_use="id")
    assert authorize(request(id_token), route()) is None


def test_a_tampered_payload_breaks_the_signature(authorize):
    header, _, signature = token().split(".")
    forged = token(sub="9b2c5f3e-0000-4000-8000-000000000000").split(".")[1]

    response = authorize(request(f"{header}.{forged}.{signature}"), route())

    assert response.status == 401
    assert "BadSignatureError" in authorize.logged[-1]


def test_route_scopes_need_one_of_them_in_the_token(authorize):
    assert authorize(request(token()), route(scopes=("uploads/write",))).status == 401
    req = request(token(scope="openid uploads/write"))
    assert authorize(req, route(scopes=("uploads/write",))) is None
    assert req.authorizer["jwt"]["scopes"] == ["openid", "uploads/write"]


def test_an_issuer_without_local_keys_is_refused(authorize):
    configuration = {"issuer": "https://id.example.com", "audiences": [CLIENT]}
    spec = RouteSpec("GET /x", None, "JWT", {"jwtConfiguration": configuration})  # type: ignore[arg-type]
    assert authorize(request(token(iss="https://id.example.com")), spec).status == 401


def test_public_routes_pass_and_iam_routes_are_refused(authorize):
    assert authorize(request(None), route("NONE")) is None
    assert authorize(request(None), route("AWS_IAM")).status == 403
