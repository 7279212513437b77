"""The statements of a StorageBucket's policy: TLS only, and S3 server access log delivery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RESERVED_SIDS = ("DenyInsecureTransport", "DenyOutdatedTls")
ACCESS_LOG_SID = "AllowS3ServerAccessLogs"
"""Sid prefix of the log delivery grants (`AllowS3ServerAccessLogs1`, ...)."""


def is_reserved_sid(sid: str) -> bool:
    return sid in RESERVED_SIDS or sid.startswith(ACCESS_LOG_SID)


def policy_document(
    arn: str,
    extra: list[dict[str, Any]],
    log_sources: Mapping[str, str],
    account: str | None,
) -> dict[str, Any]:
    """TLS 1.2+ only for everyone, then the log delivery grants, then the caller's statements."""
    resources = [arn, f"{arn}/*"]
    deny_all = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": resources}
    deliveries = [
        access_log_delivery(f"{ACCESS_LOG_SID}{index}", arn, prefix, source, account or "")
        for index, (prefix, source) in enumerate(sorted(log_sources.items()), start=1)
    ]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                **deny_all,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyOutdatedTls",
                **deny_all,
                "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
            },
            *deliveries,
            *extra,
        ],
    }


def access_log_delivery(
    sid: str, arn: str, prefix: str, source_arn: str, account: str
) -> dict[str, Any]:
    """Lets S3's log delivery service write the access logs of `source_arn` (a bucket of
    `account`) under `prefix`: the bucket-policy grant AWS recommends, which works with ACLs off
    (BucketOwnerEnforced), unlike the log delivery group's ACL grant. The conditions stop any
    other bucket or account from having its logs delivered here (confused deputy)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{arn}/{prefix}*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": source_arn},
            "StringEquals": {"aws:SourceAccount": account},
        },
    }
