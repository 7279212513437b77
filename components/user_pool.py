"""UserPool: a Cognito user pool and one app client for a browser, the issuer of the JWTs an
HttpApi's JWT authorizer accepts.

No identity pool is created: nobody gets AWS credentials from a sign-in (authenticated or not);
callers only get tokens that the API checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from ._checks import EXPIRY_DAYS, Between, OneOf, check_fields, checked
from ._component import Component, Transform, concat_known
from ._wire import PYTHON_ONLY, args_of

TRANSFORM_KEYS = ("pool", "client")

AUTH_FLOWS = (
    "ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH",
)  # fmt: skip
"""The `explicit_auth_flows` Cognito accepts (the legacy names without `ALLOW_` are left out)."""

MfaMode = Literal["OFF", "OPTIONAL", "ON"]
TOKEN_MINUTES = Between(5, 1440)
"""Lifetimes Cognito accepts for access and ID tokens: five minutes to a day."""


@dataclass(frozen=True)
class UserPoolArgs:
    """Arguments of UserPool. Every default is the secure choice; relax it explicitly."""

    self_sign_up: bool = False
    """Let anyone create an account from the app (SignUp). Default False: only administrators
    create users (`aws cognito-idp admin-create-user`), so a public API is not open to strangers."""
    password_min_length: int = checked(Between(8, 99), 12)
    """Shortest password (8..99), with lower and upper case, digits and symbols required.
    Default 12: NIST SP 800-63B's advice for user-chosen passwords, above Cognito's 8."""
    temporary_password_days: int = checked(Between(1, 365), 3)
    """Days an administrator-issued temporary password stays valid (1..365). Default 3, not
    Cognito's 7: an unused invitation should not linger."""
    mfa: MfaMode = checked(OneOf(("OFF", "OPTIONAL", "ON")), "OPTIONAL")
    """Second factor with an authenticator app (TOTP): "OFF", "OPTIONAL" (each user may turn it
    on) or "ON" (required at sign-in). Default "OPTIONAL": no SMS costs, no lock-out of users
    without an app."""
    threat_protection: bool = False
    """Cognito threat protection (compromised credentials, adaptive authentication) in ENFORCED
    mode; needs the PLUS feature plan, billed per monthly active user. Default False: the
    ESSENTIALS plan."""
    access_token_minutes: int = checked(TOKEN_MINUTES, 15)
    """Lifetime of access tokens (5..1440 minutes). Default 15 (Cognito's is 60): the API's JWT
    authorizer cannot see a sign-out, so a token works until it expires; the page refreshes it
    silently (docs/security.md)."""
    id_token_minutes: int = checked(TOKEN_MINUTES, 15)
    """Lifetime of ID tokens (5..1440 minutes). Default 15 (Cognito's is 60): the API accepts an
    ID token too (its `aud` is the client id)."""
    refresh_token_days: int = checked(EXPIRY_DAYS, 30)
    """Lifetime of refresh tokens (1..3650 days). Default 30, as Cognito's."""
    auth_flows: Sequence[str] = (
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    )
    """Sign-in flows of the app client. Default: SRP (SDKs such as Amplify), password over TLS
    (a plain `fetch` from the web page; Cognito sees the password, as with its hosted UI) and
    refresh. Never the admin flows: the client has no secret."""
    protect: bool = False
    """Protect the pool from `pulumi destroy` and turn on Cognito's own deletion protection,
    and retain it when it leaves the program: its users outlive the stack. Default False."""
    retain: bool = False
    """Retain the pool without protecting it (implied by `protect`): removing it from the program
    forgets it but keeps the users. Default False."""
    transforms: Mapping[str, Transform | None] = field(default_factory=dict, metadata=PYTHON_ONLY)
    """Escape hatch, per child: pool, client."""

    def __post_init__(self) -> None:
        check_fields(self)

    def validate(self, name: str) -> None:
        """Raise a ValueError naming the component and the field."""
        owner = f'UserPool "{name}"'
        unknown = [f for f in self.auth_flows if f not in AUTH_FLOWS]
        if unknown or not set(self.auth_flows) - {"ALLOW_REFRESH_TOKEN_AUTH"}:
            raise ValueError(
                f"{owner}: auth_flows must hold at least one sign-in flow, from {AUTH_FLOWS}; "
                f"got {list(self.auth_flows)}"
            )
        if "ALLOW_ADMIN_USER_PASSWORD_AUTH" in self.auth_flows:
            raise ValueError(
                f"{owner}: auth_flows: ALLOW_ADMIN_USER_PASSWORD_AUTH is for servers holding AWS "
                "credentials, not for a browser client"
            )
        unknown_keys = sorted(set(self.transforms) - set(TRANSFORM_KEYS))
        if unknown_keys:
            raise ValueError(f"{owner}: unknown transform keys {unknown_keys}: {TRANSFORM_KEYS}")


class UserPool(Component):
    """A Cognito user pool (sign-in by email) and an app client without a secret."""

    pool: aws.cognito.UserPool
    """The Cognito user pool."""
    client: aws.cognito.UserPoolClient
    """The app client (no secret: it is used from a browser)."""
    id: pulumi.Output[str]
    """The pool's id (Python only: `id` is a reserved name in other languages; they read
    `pool.id`)."""
    arn: pulumi.Output[str]
    """The pool's ARN."""
    name: pulumi.Output[str]
    """The pool's name."""
    client_id: pulumi.Output[str]
    """The app client's id: the `aud`/`client_id` of the tokens."""
    issuer: pulumi.Output[str]
    """`https://cognito-idp.<region>.amazonaws.com/<poolId>`: the `iss` of the pool's tokens."""

    def __init__(
        self,
        name: str,
        args: UserPoolArgs | Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args_of(UserPoolArgs, args, f'UserPool "{name}"')
        args.validate(name)
        super().__init__("uploads:index:UserPool", name, args.transforms, opts)
        self._args = args
        self.pool = self._create_pool()
        self.client = self._create_client()
        self.id, self.arn, self.name = self.pool.id, self.pool.arn, self.pool.name
        self.client_id = self.client.id
        self.issuer = concat_known("https://", self.pool.endpoint)
        self.register_outputs(
            {
                "id": self.id,
                "arn": self.arn,
                "name": self.name,
                "client_id": self.client_id,
                "issuer": self.issuer,
            }
        )

    def _create_pool(self) -> aws.cognito.UserPool:
        args = self._args
        props: dict[str, Any] = {
            "username_attributes": ["email"],
            "auto_verified_attributes": ["email"],
            "username_configuration": {"case_sensitive": False},
            "password_policy": {
                "minimum_length": args.password_min_length,
                "require_lowercase": True,
                "require_uppercase": True,
                "require_numbers": True,
                "require_symbols": True,
                "temporary_password_validity_days": args.temporary_password_days,
            },
            "admin_create_user_config": {"allow_admin_create_user_only": not args.self_sign_up},
            "account_recovery_setting": {
                "recovery_mechanisms": [{"name": "verified_email", "priority": 1}]
            },
            "mfa_configuration": args.mfa,
            "deletion_protection": "ACTIVE" if args.protect else "INACTIVE",
            "user_pool_tier": "PLUS" if args.threat_protection else "ESSENTIALS",
        }
        if args.mfa != "OFF":
            props["software_token_mfa_configuration"] = {"enabled": True}
        if args.threat_protection:
            props["user_pool_add_ons"] = {"advanced_security_mode": "ENFORCED"}
        keep = pulumi.ResourceOptions(
            protect=args.protect, retain_on_delete=args.protect or args.retain
        )
        return self._child(aws.cognito.UserPool, "pool", props, keep)

    def _create_client(self) -> aws.cognito.UserPoolClient:
        args = self._args
        props = {
            "user_pool_id": self.pool.id,
            "generate_secret": False,
            "explicit_auth_flows": list(args.auth_flows),
            "prevent_user_existence_errors": "ENABLED",
            "enable_token_revocation": True,
            "supported_identity_providers": ["COGNITO"],
            "access_token_validity": args.access_token_minutes,
            "id_token_validity": args.id_token_minutes,
            "refresh_token_validity": args.refresh_token_days,
            "token_validity_units": {
                "access_token": "minutes",
                "id_token": "minutes",
                "refresh_token": "days",
            },
        }
        return self._child(aws.cognito.UserPoolClient, "client", props)
