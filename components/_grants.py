"""The IAM statements of StorageBucket's grant helpers (least privilege, per key prefix)."""

from __future__ import annotations

from typing import Any

import pulumi

from ._component import PolicyStatement
from ._lifecycle import check_prefix


def object_grant(
    owner: str,
    arn: pulumi.Output[str],
    kms_key_arn: pulumi.Input[str] | None,
    *,
    action: str,
    prefix: str,
    kms_actions: list[str],
) -> list[PolicyStatement]:
    """`action` on the objects under `prefix`, plus `kms_actions` on the bucket's key if any."""
    check_prefix(owner, prefix)
    objects = arn.apply(lambda resolved: f"{resolved}/{prefix}*")
    statements: list[PolicyStatement] = [
        {"Effect": "Allow", "Action": [action], "Resource": objects}
    ]
    if kms_actions and kms_key_arn is not None:
        statements.append({"Effect": "Allow", "Action": kms_actions, "Resource": kms_key_arn})
    return statements


def list_grant(owner: str, arn: pulumi.Output[str], prefixes: tuple[str, ...]) -> PolicyStatement:
    """s3:ListBucket on the bucket, limited to keys under `prefixes` when any are given."""
    statement: dict[str, Any] = {"Effect": "Allow", "Action": ["s3:ListBucket"]}
    statement["Resource"] = arn
    for prefix in prefixes:
        check_prefix(owner, prefix)
    if prefixes:
        patterns = sorted({p for prefix in prefixes for p in (prefix, f"{prefix}*")})
        statement["Condition"] = {"StringLike": {"s3:prefix": patterns}}
    return statement
