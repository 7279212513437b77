"""`python -m offline dev-user EMAIL PASSWORD --endpoint URL --pool ID --client ID --outputs FILE`:
a signed-in user for local mode.

Creates the user in the local user pool as an administrator would on AWS (`admin-create-user`
with the email verified, then a permanent password, so no emailed temporary password; signed with
the run's credentials), signs in with `InitiateAuth` (USER_PASSWORD_AUTH, unsigned, at the sign-in
endpoint the page uses) and prints the access token. For a user that exists it
signs in again with the password given: a fresh token, or one line saying the password is not
theirs. `make dev` prints this command (as `make dev-user ...`) with the endpoint, pool and client
filled in, and the stack outputs file whose credentials (new for every run of local mode) sign
the administrator's calls; against an endpoint that no longer answers, or an outputs file that is
gone, it prints one line, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", help="the user's email (the username)")
    parser.add_argument("password", help="a password the pool's policy accepts")
    parser.add_argument("--endpoint", required=True, help="local mode's moto URL (in its banner)")
    parser.add_argument("--pool", required=True, help="the local user pool id")
    parser.add_argument("--client", required=True, help="the local app client id")
    parser.add_argument(
        "--outputs", required=True, help="the stack outputs file the banner names (credentials)"
    )
    parser.add_argument("--region", default="us-east-1")


def run(args: argparse.Namespace) -> int:
    if not args.endpoint.startswith("http://127.0.0.1:"):
        print("error: --endpoint must be local mode's moto URL on 127.0.0.1", file=sys.stderr)
        return 1
    endpoints = _local_endpoints(Path(args.outputs))
    if endpoints is None:
        print(
            f"error: {args.outputs} holds no local-mode credentials: is `make dev` still "
            "running? Use the dev-user command its banner prints now",
            file=sys.stderr,
        )
        return 1
    admin = _client(args.endpoint, args.region, endpoints["credentials"])
    sign_in = _client(
        endpoints.get("cognito-idp", args.endpoint), args.region, endpoints["credentials"]
    )
    try:
        token = _token(admin, sign_in, args)
    except EndpointConnectionError:
        print(
            f"error: nothing answers at {args.endpoint}: is `make dev` still running? Use the "
            "dev-user command its banner prints now",
            file=sys.stderr,
        )
        return 1
    except ClientError as error:
        print(f"error: {_reason(error, args)}", file=sys.stderr)
        return 1
    except BotoCoreError as error:
        print(f"error: {args.endpoint}: {error}", file=sys.stderr)
        return 1
    print(token)
    return 0


def _client(endpoint: str, region: str, credentials: dict[str, str]) -> Any:
    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name=region,
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
        **credentials,
    )


def _local_endpoints(outputs: Path) -> dict[str, Any] | None:
    """The running local mode's `localEndpoints` (with its credentials), from its stack outputs
    file; None if unreadable."""
    try:
        found = json.loads(outputs.read_text(encoding="utf-8"))["localEndpoints"]
        credentials = found["credentials"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    names = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
    if not isinstance(credentials, dict) or not all(
        isinstance(credentials.get(n), str) for n in names
    ):
        return None
    return {**found, "credentials": {name: credentials[name] for name in names}}


def _token(cognito: Any, sign_in: Any, args: argparse.Namespace) -> str:
    """A new user's access token; for an existing user, a fresh one if `args.password` is
    theirs."""
    try:
        cognito.admin_create_user(
            UserPoolId=args.pool,
            Username=args.email,
            UserAttributes=[
                {"Name": "email", "Value": args.email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "UsernameExistsException":
            raise
    else:
        try:
            cognito.admin_set_user_password(
                UserPoolId=args.pool, Username=args.email, Password=args.password, Permanent=True
            )
        except ClientError:  # a password the policy refuses: no half-made user is left
            cognito.admin_delete_user(UserPoolId=args.pool, Username=args.email)
            raise
    signed_in = sign_in.initiate_auth(
        ClientId=args.client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": args.email, "PASSWORD": args.password},
    )
    return signed_in["AuthenticationResult"]["AccessToken"]


def _reason(error: ClientError, args: argparse.Namespace) -> str:
    """One line for what went wrong."""
    code = error.response["Error"].get("Code", "")
    message = error.response["Error"].get("Message") or str(error)
    if code == "NotAuthorizedException":
        return (
            f"{args.email} exists with another password: give that one, or restart `make dev` "
            "(its users live in memory)"
        )
    if code == "ResourceNotFoundException":
        return (
            f"{message} ({args.endpoint} is not the `make dev` that printed this command: use "
            "the one its banner prints now)"
        )
    return message.rstrip(".")
