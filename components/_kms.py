"""The key policy of a KMS key StorageBucket creates: the account root, plus only the services'
grants."""

from __future__ import annotations

from typing import Any

ROOT_SID = "AccountRootManagesTheKey"
LOGS_SID = "CloudWatchLogsEncryptsThisAccountsLogGroups"
ALARMS_SID = "CloudWatchAlarmsPublishToEncryptedTopics"
LOGS_ACTIONS = (
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
)  # fmt: skip
"""What CloudWatch Logs documents for a log group's key (`kms:Encrypt*`, `kms:Decrypt*`,
`kms:ReEncrypt*`, `kms:GenerateDataKey*`, `kms:Describe*`), spelled out without the key-pair
actions it never uses."""


def key_policy(
    partition: str, region: str, account: str, dns_suffix: str, *, logs: bool, alarms: bool = False
) -> dict[str, Any]:
    """The account root may do everything with the key, so it can never become unmanageable and
    IAM policies of this account (the functions' grants) take effect; with `logs`, CloudWatch
    Logs may use it for this account's log groups in this region; with `alarms`, CloudWatch may
    use it to publish this account's alarms to a topic the key encrypts, with the statement AWS
    documents for that (Amazon SNS Developer Guide, "Encrypting messages published to Amazon SNS
    with AWS KMS" / CloudWatch User Guide, alarm actions to an encrypted topic:
    `kms:Decrypt` + `kms:GenerateDataKey*` for `cloudwatch.amazonaws.com`, no condition). A
    condition key CloudWatch does not send in that call would deny every alarm silently; the
    key encrypts only this stack's topic and bucket, so the grant reaches nothing else."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": ROOT_SID,
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if logs:
        # A pattern, not the log groups' ARNs: they depend on the key, which would be a cycle.
        log_groups = f"arn:{partition}:logs:{region}:{account}:log-group:*"
        statements.append(
            {
                "Sid": LOGS_SID,
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.{dns_suffix}"},
                "Action": list(LOGS_ACTIONS),
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            }
        )
    if alarms:
        statements.append(
            {
                "Sid": ALARMS_SID,
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
