"""Checks the account before any resource is created: what a stack asks of it that AWS would
refuse half-way through the first `pulumi up`.

Permissions boundary: every role the program creates carries the bootstrap's
`uploads-permissions-boundary`, whose ARN follows from the account the run deploys to; the check
fails the preview in one line when that policy does not exist there (bootstrap not run).

Lambda concurrency: reserving concurrency for a function (`PutFunctionConcurrency`) fails once the
reservations would leave fewer than 100 executions unreserved for the account's other functions.
What is left is what matters, not the quota: stacks that share an account each reserve from the
same pool. Lambda's `GetAccountSettings` tells it (`AccountLimit.UnreservedConcurrentExecutions`);
the stack's own current reservations go back into it, since its update replaces them. When the
settings cannot be read (no permission, no credentials offline), it warns and lets the run go on.
A function the role may not read is not the stack's: the pull requests' preview role reads only
the functions tagged with the stacks it previews (bootstrap/ci_permissions.py), so in an account
shared with `prod` it is refused `prod`'s, and skips them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

UNRESERVED_FLOOR = 100
"""Executions AWS keeps unreserved: reservations may use what is unreserved minus this."""
BOUNDARY_NAME = "uploads-permissions-boundary"
"""The managed policy the bootstrap creates in each account (bootstrap/ci_permissions.py)."""
FUNCTION_PREFIX = "uploads-"
"""Lambda's error code for a call the caller's policies do not allow (Lambda API reference,
Common Errors)."""


@dataclass(frozen=True)
class LambdaAccount:
    """What `GetAccountSettings` and the stack's own functions tell about concurrency."""

    limit: int
    """AccountLimit.ConcurrentExecutions: the account's quota in this region."""
    unreserved: int
    """AccountLimit.UnreservedConcurrentExecutions: what no function has reserved."""
    own: int
    """What this stack's functions reserve today (their update gives it back)."""


def read_lambda_account(stack: str) -> LambdaAccount:
    """Lambda's account settings and this stack's current reservations, with the provider's
    region and profile (boto3; the provider offers no data source for GetAccountSettings).
    Calls: lambda:GetAccountSettings, lambda:ListFunctions, lambda:GetFunction (uploads-*); the
    deploy and drift roles may make all three (bootstrap/ci_permissions.py), the preview role not
    ListFunctions, so a pull request's preview raises here and the check warns."""
    import boto3  # noqa: PLC0415 - only a real run reads the account

    aws_config = pulumi.Config("aws")
    session = boto3.Session(
        profile_name=aws_config.get("profile"), region_name=aws_config.get("region")
    )
    client = session.client("lambda")
    limits = client.get_account_settings()["AccountLimit"]
    own = 0
    for page in client.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            if not function["FunctionName"].startswith(FUNCTION_PREFIX):
                continue
            details = client.get_function(FunctionName=function["FunctionName"])
            if details.get("Tags", {}).get("stack") == stack:
                own += details.get("Concurrency", {}).get("ReservedConcurrentExecutions", 0)
    return LambdaAccount(
        limit=limits["ConcurrentExecutions"],
        unreserved=limits["UnreservedConcurrentExecutions"],
        own=own,
    )


def check_lambda_concurrency(reservations: Mapping[str, int]) -> None:
    """Fail the run (pulumi.RunError, one line) when the reservations, by config key, exceed what
    the account leaves unreserved (plus what this stack reserves today) after AWS's floor. -1 and
    0 reserve nothing."""
    reserved = {key: value for key, value in reservations.items() if value > 0}
    needed = sum(reserved.values())
    if not needed:
        return
    try:
        account = read_lambda_account(pulumi.get_stack())
    except Exception as exc:  # any failure to read leaves the check undecided
        pulumi.warn(
            f"preflight: cannot read Lambda's account settings ({exc}); the stack reserves "
            f"{needed} unchecked: the account needs {needed + UNRESERVED_FLOOR} executions "
            "unreserved"
        )
        return
    available = account.unreserved + account.own - UNRESERVED_FLOOR
    if needed > available:
        keys = " + ".join(f"{key} {value}" for key, value in reserved.items())
        raise pulumi.RunError(
            f"preflight: Lambda concurrency needed {needed} ({keys}), "
            f"available {max(available, 0)} "
            f"({account.unreserved} unreserved of the account's {account.limit}, + {account.own} "
            f"this stack reserves today, minus the {UNRESERVED_FLOOR} AWS keeps unreserved): "
            f"lower {' or '.join(reserved)}, or raise the quota (L-B99A9384)"
        )


def permissions_boundary(configured: str) -> str:
    """The boundary of every role the program creates: `configured`, or the bootstrap's policy
    in the account the run deploys to. Fails the run in one line when the policy is missing."""
    arn = configured or (
        f"arn:{aws.get_partition().partition}:iam::{aws.get_caller_identity().account_id}:"
        f"policy/{BOUNDARY_NAME}"
    )
    try:
        aws.iam.get_policy(arn=arn)
    except Exception as exc:  # not found, or not readable: both stop the first CreateRole
        raise pulumi.RunError(
            f"preflight: the permissions boundary {arn} cannot be read ({exc}): run the bootstrap "
            "in this account (docs/deploying.md) or set permissionsBoundaryArn"
        ) from None
    return arn
