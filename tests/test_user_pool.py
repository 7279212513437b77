"""UserPool on its own: the pool's secure settings, the browser app client and their options."""

from __future__ import annotations

import pulumi
import pytest

from components._wire import ArgumentError
from components.user_pool import UserPool, UserPoolArgs
from offline import run_program

POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"


@pytest.fixture(scope="module")
def default_graph():
    return run_program(lambda: UserPool("users"))


def test_pool_requires_a_strong_password_and_admin_created_users(default_graph):
    pool = default_graph.one(POOL, "users-pool")
    assert pool.inputs["passwordPolicy"] == {
        "minimumLength": 12,
        "requireLowercase": True,
        "requireUppercase": True,
        "requireNumbers": True,
        "requireSymbols": True,
        "temporaryPasswordValidityDays": 3,
    }
    assert pool.inputs["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}
    assert pool.inputs["usernameAttributes"] == ["email"]
    assert pool.inputs["usernameConfiguration"] == {"caseSensitive": False}
    assert pool.inputs["accountRecoverySetting"] == {
        "recoveryMechanisms": [{"name": "verified_email", "priority": 1}]
    }


def test_pool_offers_totp_and_is_unprotected_by_default(default_graph):
    pool = default_graph.one(POOL, "users-pool")
    assert pool.inputs["mfaConfiguration"] == "OPTIONAL"
    assert pool.inputs["softwareTokenMfaConfiguration"] == {"enabled": True}
    assert pool.inputs["deletionProtection"] == "INACTIVE"
    assert pool.inputs["userPoolTier"] == "ESSENTIALS"
    assert "userPoolAddOns" not in pool.inputs
    assert not pool.protect
    assert not pool.retain_on_delete


def test_no_identity_pool_so_no_aws_credentials_for_anyone(default_graph):
    assert not any("identityPool" in t for t in default_graph.types())


def test_client_is_a_public_browser_client_with_token_lifetimes(default_graph):
    client = default_graph.one(CLIENT, "users-client")
    pool = default_graph.one(POOL, "users-pool")
    assert client.inputs["userPoolId"] == pool.outputs["id"]
    assert client.inputs["generateSecret"] is False
    assert client.inputs["explicitAuthFlows"] == [
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    ]
    assert client.inputs["preventUserExistenceErrors"] == "ENABLED"
    assert client.inputs["enableTokenRevocation"] is True
    assert client.inputs["supportedIdentityProviders"] == ["COGNITO"]
    assert "allowedOauthFlowsUserPoolClient" not in client.inputs
    assert (
        client.inputs["accessTokenValidity"],
        client.inputs["idTokenValidity"],
        client.inputs["refreshTokenValidity"],
    ) == (15, 15, 30)
    assert client.inputs["tokenValidityUnits"] == {
        "accessToken": "minutes",
        "idToken": "minutes",
        "refreshToken": "days",
    }
    assert default_graph.misnamed() == []


def test_outputs_give_the_issuer_of_the_pools_tokens(build):
    def program():
        users = UserPool("users")
        pulumi.export("issuer", users.issuer)
        pulumi.export("client", users.client_id)

    graph = build(program)
    pool_id = graph.one(POOL).outputs["id"]
    assert graph.outputs == {
        "issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}",
        "client": graph.one(CLIENT).outputs["id"],
    }


def test_protect_turns_on_deletion_protection_and_keeps_the_pool(build):
    graph = build(lambda: UserPool("users", UserPoolArgs(protect=True)))
    pool = graph.one(POOL)
    assert pool.inputs["deletionProtection"] == "ACTIVE"
    assert pool.protect
    assert pool.retain_on_delete


def test_retain_alone_keeps_the_pool_without_protecting_it(build):
    pool = build(lambda: UserPool("users", UserPoolArgs(retain=True))).one(POOL)
    assert pool.retain_on_delete
    assert not pool.protect
    assert pool.inputs["deletionProtection"] == "INACTIVE"


def test_options_reach_the_pool_and_client(build):
    args = UserPoolArgs(
        self_sign_up=True,
        mfa="OFF",
        threat_protection=True,
        access_token_minutes=5,
        id_token_minutes=1440,
        refresh_token_days=3650,
        password_min_length=16,
    )
    graph = build(lambda: UserPool("users", args))
    pool, client = graph.one(POOL), graph.one(CLIENT)
    assert pool.inputs["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": False}
    assert pool.inputs["mfaConfiguration"] == "OFF"
    assert "softwareTokenMfaConfiguration" not in pool.inputs
    assert pool.inputs["userPoolTier"] == "PLUS"
    assert pool.inputs["userPoolAddOns"] == {"advancedSecurityMode": "ENFORCED"}
    assert pool.inputs["passwordPolicy"]["minimumLength"] == 16
    assert (
        client.inputs["accessTokenValidity"],
        client.inputs["idTokenValidity"],
        client.inputs["refreshTokenValidity"],
    ) == (5, 1440, 3650)


def test_transform_mapping_overrides_client_props(build):
    args = UserPoolArgs(transforms={"client": {"auth_session_validity": 10}})
    client = build(lambda: UserPool("users", args)).one(CLIENT)
    assert client.inputs["authSessionValidity"] == 10


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("access_token_minutes", 4, "must be between 5 and 1440, got 4"),
        ("id_token_minutes", 1441, "must be between 5 and 1440, got 1441"),
        ("refresh_token_days", 0, "must be between 1 and 3650, got 0"),
        ("password_min_length", 6, "must be between 8 and 99, got 6"),
        ("mfa", "SMS", "must be one of OFF, OPTIONAL, ON, got 'SMS'"),
        ("self_sign_up", "true", "must be a boolean, got 'true'"),
    ],
)
def test_bad_fields_are_refused_when_the_args_are_built(field, value, message):
    with pytest.raises(ArgumentError) as error:
        UserPoolArgs(**{field: value})
    assert str(error.value) == f"UserPool: {field}: {message}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (UserPoolArgs(auth_flows=("ALLOW_REFRESH_TOKEN_AUTH",)), "at least one sign-in flow"),
        (UserPoolArgs(auth_flows=("USER_PASSWORD_AUTH",)), "at least one sign-in flow"),
        (
            UserPoolArgs(auth_flows=("ALLOW_ADMIN_USER_PASSWORD_AUTH",)),
            "not for a browser client",
        ),
        (UserPoolArgs(transforms={"pol": {}}), "unknown transform keys"),
    ],
)
def test_bad_arguments_name_the_component_and_field(args, message):
    with pytest.raises(ValueError, match='UserPool "users"') as error:
        args.validate("users")
    assert message in str(error.value)
