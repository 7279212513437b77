"""`python -m offline dev-user EMAIL PASSWORD --endpoint URL --pool ID --client ID`: a signed-in
user for local mode.

Creates the user in the local user pool as an administrator would on AWS (`admin-create-user`
with the email verified, then a permanent password, so no emailed temporary password), signs in
with `InitiateAuth` (USER_PASSWORD_AUTH) and prints the access token. `make dev` prints this
command with the endpoint, pool and client filled in.
"""

from __future__ import annotations

import argparse
import sys

import boto3
from botocore.exceptions import ClientError

from local.storage import CREDENTIALS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", help="the user's email (the username)")
    parser.add_argument("password", help="a password the pool's policy accepts")
    parser.add_argument("--endpoint", required=True, help="local mode's moto URL (in its banner)")
    parser.add_argument("--pool", required=True, help="the local user pool id")
    parser.add_argument("--client", required=True, help="the local app client id")
    parser.add_argument("--region", default="us-east-1")


def run(args: argparse.Namespace) -> int:
    if not args.endpoint.startswith("http://127.0.0.1:"):
        print("error: --endpoint must be local mode's moto URL on 127.0.0.1", file=sys.stderr)
        return 1
    cognito = boto3.client(
        "cognito-idp", endpoint_url=args.endpoint, region_name=args.region, **CREDENTIALS
    )
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
        cognito.admin_set_user_password(
            UserPoolId=args.pool, Username=args.email, Password=args.password, Permanent=True
        )
        signed_in = cognito.initiate_auth(
            ClientId=args.client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": args.email, "PASSWORD": args.password},
        )
    except ClientError as error:
        print(f"error: {error.response['Error'].get('Message', error)}", file=sys.stderr)
        return 1
    print(signed_in["AuthenticationResult"]["AccessToken"])
    return 0
