"""The program's Cognito user pools in moto's cognito-idp, so that sign-in works on loopback.

Each `cognito.UserPool` of the graph is created in the moto server with its sign-in settings
(email usernames, password policy, admin-only sign-up) and each app client with its flows, so
`InitiateAuth` answers with real RS256-signed tokens. The program's ids (the fake cloud's) map to
moto's, which replace them everywhere (functions' environment, the authorizer's issuer and
audiences).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import KeySet, RSAKey
from moto.cognitoidp.models import cognitoidp_backends

from offline.graph import ResourceGraph

POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"


@dataclass(frozen=True)
class UserPoolSpec:
    """A user pool of the program and its app clients, with the inputs the program gave them."""

    program_id: str
    name: str
    inputs: Mapping[str, Any]
    clients: tuple[tuple[str, Mapping[str, Any]], ...]
    """(program client id, inputs) of each app client."""


def read_user_pools(graph: ResourceGraph) -> tuple[UserPoolSpec, ...]:
    pools = []
    for pool in graph.of_type(POOL):
        pool_id = str(pool.outputs["id"])
        clients = tuple(
            (str(c.outputs["id"]), c.inputs)
            for c in graph.of_type(CLIENT)
            if str(c.inputs.get("userPoolId")) == pool_id
        )
        pools.append(UserPoolSpec(pool_id, str(pool.outputs.get("name", pool.name)), pool.inputs,
                                  clients))  # fmt: skip
    return tuple(pools)


def create_user_pools(cognito: Any, pools: tuple[UserPoolSpec, ...]) -> dict[str, str]:
    """Create each pool and client in moto (`cognito` is a cognito-idp client for it); returns
    program id -> moto id, for pools and clients."""
    ids: dict[str, str] = {}
    for spec in pools:
        created = cognito.create_user_pool(PoolName=spec.name, **_pool_parameters(spec.inputs))
        ids[spec.program_id] = pool_id = created["UserPool"]["Id"]
        for program_client_id, inputs in spec.clients:
            client = cognito.create_user_pool_client(
                UserPoolId=pool_id, ClientName=f"{spec.name}-client", **_client_parameters(inputs)
            )
            ids[program_client_id] = client["UserPoolClient"]["ClientId"]
    return ids


def _pool_parameters(inputs: Mapping[str, Any]) -> dict[str, Any]:
    policy = inputs.get("passwordPolicy") or {}
    admin = inputs.get("adminCreateUserConfig") or {}
    names = {
        "minimumLength": "MinimumLength", "requireLowercase": "RequireLowercase",
        "requireUppercase": "RequireUppercase", "requireNumbers": "RequireNumbers",
        "requireSymbols": "RequireSymbols",
        "temporaryPasswordValidityDays": "TemporaryPasswordValidityDays",
    }  # fmt: skip
    return {
        "UsernameAttributes": list(inputs.get("usernameAttributes") or []),
        "AutoVerifiedAttributes": list(inputs.get("autoVerifiedAttributes") or []),
        # Numbers arrive as floats from the graph (protobuf); Cognito wants integers.
        "Policies": {
            "PasswordPolicy": {
                names[k]: v if isinstance(v, bool) else int(v)
                for k, v in policy.items()
                if k in names
            }
        },
        "AdminCreateUserConfig": {
            "AllowAdminCreateUserOnly": bool(admin.get("allowAdminCreateUserOnly", False))
        },
    }


def _client_parameters(inputs: Mapping[str, Any]) -> dict[str, Any]:
    units = inputs.get("tokenValidityUnits") or {}
    parameters: dict[str, Any] = {
        "GenerateSecret": bool(inputs.get("generateSecret", False)),
        "ExplicitAuthFlows": list(inputs.get("explicitAuthFlows") or []),
        "PreventUserExistenceErrors": inputs.get("preventUserExistenceErrors", "LEGACY"),
        "TokenValidityUnits": {
            "AccessToken": units.get("accessToken", "hours"),
            "IdToken": units.get("idToken", "hours"),
            "RefreshToken": units.get("refreshToken", "days"),
        },
    }
    for key, name in (
        ("accessTokenValidity", "AccessTokenValidity"),
        ("idTokenValidity", "IdTokenValidity"),
        ("refreshTokenValidity", "RefreshTokenValidity"),
    ):
        if key in inputs:
            parameters[name] = int(inputs[key])
    return parameters


def sign_tokens_with(key: RSAKey, account: str, region: str, pool_ids: Iterable[str]) -> None:
    """Make moto sign the pools' tokens with `key`. moto signs every pool's tokens with one
    private key that ships in its package (`cognitoidp/resources/jwks-private.json`, set in
    `CognitoIdpUserPool.__init__`), so anyone could forge a token it accepts; local mode gives
    its pools a key made for the run instead (moto's server runs in this process)."""
    backend = cognitoidp_backends[account][region]
    for pool_id in pool_ids:
        backend.user_pools[pool_id].json_web_key = key


class SigningKeys:
    """Issuer -> its JWKS, for the pools created in moto: fetched from moto's
    `/<poolId>/.well-known/jwks.json`, where Cognito serves them under the issuer URL."""

    def __init__(self, endpoint: str, region: str, pool_ids: Iterable[str]) -> None:
        self._endpoint, self._region = endpoint, region
        self._issuers = {f"https://cognito-idp.{region}.amazonaws.com/{p}": p for p in pool_ids}
        self._cache: dict[str, KeySet] = {}
        self._lock = threading.Lock()

    def __call__(self, issuer: str) -> KeySet | None:
        """The issuer's keys; None for an issuer local mode has no keys of (an external one)."""
        pool_id = self._issuers.get(issuer)
        if pool_id is None:
            return None
        with self._lock:
            if issuer not in self._cache:
                request = urllib.request.Request(  # noqa: S310 - moto on loopback
                    f"{self._endpoint}/{pool_id}/.well-known/jwks.json",
                    headers={"Host": f"cognito-idp.{self._region}.amazonaws.com"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    self._cache[issuer] = KeySet.import_key_set(json.load(response))
            return self._cache[issuer]
