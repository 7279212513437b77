"""Sign-in in the whole program: every stack's user pool and JWT authorizer on every API route,
dev open only as `make dev` serves it (auth=none on this machine), and the two differing only where
the `auth` setting says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline import ProgramError, ResourceGraph, run_stack
from offline.project import stack_names

PROJECT_DIR = Path(__file__).resolve().parent.parent
NS = "serverless-uploads"
ROUTE = "aws:apigatewayv2/route:Route"
AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
API_ROUTES = {
    "POST /uploads",
    "POST /uploads/presign",
    "GET /uploads",
    "GET /uploads/{id}",
    "DELETE /uploads/{id}",
}


def uploads_environment(graph: ResourceGraph) -> dict[str, str]:
    function = graph.one("aws:lambda/function:Function", "uploads-uploads-function")
    return function.inputs["environment"]["variables"]


def test_prod_requires_a_token_of_its_user_pool_on_every_api_route(stack_graphs):
    graph = stack_graphs("prod")
    authorizer = graph.one(AUTHORIZER)
    pool, client = graph.one(POOL), graph.one(CLIENT)
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool.outputs['id']}"
    assert authorizer.inputs["authorizerType"] == "JWT"
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"]
    assert authorizer.inputs["jwtConfiguration"] == {
        "issuer": issuer,
        "audiences": [client.outputs["id"]],
    }
    routes = {r.inputs["routeKey"]: r for r in graph.of_type(ROUTE)}
    protected = {key for key in API_ROUTES if key in routes}
    assert protected == API_ROUTES
    for key in API_ROUTES:
        assert routes[key].inputs["authorizationType"] == "JWT", routes[key].urn
        assert routes[key].inputs["authorizerId"] == authorizer.outputs["id"], routes[key].urn
    # The web page stays public, and so does anything else routed.
    assert routes.keys() - API_ROUTES == {"GET /"}
    for key in routes.keys() - API_ROUTES:
        assert routes[key].inputs["authorizationType"] == "NONE", routes[key].urn
        assert "authorizerId" not in routes[key].inputs


def test_cors_preflight_is_answered_by_api_gateway_before_any_authorizer(stack_graphs):
    graph = stack_graphs("prod")
    cors = graph.one("aws:apigatewayv2/api:Api").inputs["corsConfiguration"]
    assert "authorization" in cors["allowHeaders"]
    assert not any(r.inputs["routeKey"].startswith("OPTIONS ") for r in graph.of_type(ROUTE))


def test_prod_user_pool_takes_its_settings_from_config(stack_graphs):
    graph = stack_graphs("prod")
    pool, client = graph.one(POOL), graph.one(CLIENT)
    assert pool.inputs["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}
    assert pool.inputs["deletionProtection"] == "ACTIVE"
    assert pool.protect
    assert pool.retain_on_delete
    assert client.inputs["generateSecret"] is False
    assert (
        client.inputs["accessTokenValidity"],
        client.inputs["idTokenValidity"],
        client.inputs["refreshTokenValidity"],
    ) == (15, 15, 30)


def test_functions_learn_the_auth_mode_from_their_environment(stack_graphs):
    prod = stack_graphs("prod")
    environment = uploads_environment(prod)
    assert environment["AUTH_MODE"] == "cognito"
    assert environment["AUTH_CLIENT_ID"] == prod.one(CLIENT).outputs["id"]
    assert environment["AUTH_ISSUER"] == prod.outputs["authIssuer"]
    dev_environment = uploads_environment(local_dev())
    assert dev_environment["AUTH_MODE"] == "none"
    assert "AUTH_ISSUER" not in dev_environment
    assert "AUTH_CLIENT_ID" not in dev_environment


def local_dev() -> ResourceGraph:
    """The dev stack as `make dev` serves it: auth overridden to none, on this machine only."""
    return run_stack("dev", PROJECT_DIR, overrides={f"{NS}:auth": "none"})


def test_every_deployed_stack_signs_in_on_every_api_route(stack_graphs):
    for stack in stack_names(PROJECT_DIR):
        graph = stack_graphs(stack)
        guarded = {
            r.inputs["routeKey"]
            for r in graph.of_type(ROUTE)
            if r.inputs["authorizationType"] == "JWT"
        }
        assert guarded == API_ROUTES, stack
        assert graph.of_type(POOL), stack


def test_local_dev_is_open_without_a_user_pool():
    dev = local_dev()
    assert {r.inputs["authorizationType"] for r in dev.of_type(ROUTE)} == {"NONE"}
    assert not dev.of_type(AUTHORIZER)
    assert not dev.of_type(POOL)
    assert not {"userPoolId", "userPoolClientId", "authIssuer"} & set(dev.outputs)


@pytest.fixture(scope="module")
def prod_without_auth() -> ResourceGraph:
    return run_stack("prod", PROJECT_DIR, overrides={f"{NS}:auth": "none"})


def registrations(graph: ResourceGraph) -> dict[str, str]:
    """Logical name -> what is registered (inputs, options); archives compared by their path."""

    def plain(value: object) -> object:
        return getattr(value, "path", repr(value))

    return {
        r.name: json.dumps([r.inputs, r.protect, r.retain_on_delete], sort_keys=True, default=plain)
        for r in graph
    }


def test_auth_setting_changes_only_sign_in_resources(stack_graphs, prod_without_auth):
    with_auth, without = registrations(stack_graphs("prod")), registrations(prod_without_auth)
    assert not without.keys() - with_auth.keys()
    added = with_auth.keys() - without.keys()
    changed = {name for name in without if without[name] != with_auth[name]}
    assert added == {"uploads-users", "uploads-users-pool", "uploads-users-client",
                     "uploads-api-authorizer"}  # fmt: skip
    protected = {
        r.name for r in stack_graphs("prod").of_type(ROUTE) if r.inputs["routeKey"] in API_ROUTES
    }
    assert len(protected) == 5
    assert changed == protected | {"uploads-uploads-function"}


def test_jwt_uses_the_external_issuer_and_creates_no_user_pool():
    graph = run_stack(
        "prod",
        PROJECT_DIR,
        overrides={
            f"{NS}:auth": "jwt",
            f"{NS}:authIssuer": "https://login.example.com/tenant",
            f"{NS}:authAudience": '["uploads-api"]',
        },
    )
    assert graph.one(AUTHORIZER).inputs["jwtConfiguration"] == {
        "issuer": "https://login.example.com/tenant",
        "audiences": ["uploads-api"],
    }
    kinds = {r.inputs["routeKey"]: r.inputs["authorizationType"] for r in graph.of_type(ROUTE)}
    assert kinds == dict.fromkeys(API_ROUTES, "JWT") | {"GET /": "NONE"}
    assert not graph.of_type(POOL)
    assert graph.outputs["authIssuer"] == "https://login.example.com/tenant"
    assert "userPoolId" not in graph.outputs
    assert uploads_environment(graph)["AUTH_MODE"] == "jwt"


def test_jwt_without_an_issuer_stops_the_program():
    with pytest.raises(ProgramError, match="authIssuer is required with auth jwt"):
        run_stack("dev", PROJECT_DIR, overrides={f"{NS}:auth": "jwt"})
