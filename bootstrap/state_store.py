"""The Pulumi state bucket and one secrets key per stack: what the workflows' backend URL
(`s3://<bucket>/<stack>`) and secrets provider (`awskms://alias/uploads-secrets-<stack>`) name."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
from ci_permissions import SECRETS_ALIAS, Scope

KEEP = pulumi.ResourceOptions(retain_on_delete=True)
"""State and the keys that decrypt it outlive the bootstrap stack: removed from it (a stack file
deleted) or destroyed with it, they stay in the account (not `protect`, which would stop the
bootstrap's `pulumi up` that removes an environment)."""
NONCURRENT_STATE_DAYS = 90
"""How long an overwritten state file stays recoverable (`pulumi stack import` of an older one)."""


def state_bucket(scope: Scope) -> aws.s3.Bucket:
    """Versioned, private, encrypted (SSE-S3: the secrets in it are encrypted again with their
    stack's key), TLS only."""
    bucket = aws.s3.Bucket("state", bucket=scope.state_bucket, opts=KEEP)
    child = pulumi.ResourceOptions(parent=bucket)
    aws.s3.BucketPublicAccessBlock(
        "state",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        "state", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
    )
    aws.s3.BucketVersioning(
        "state", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        "state",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=child,
    )
    aws.s3.BucketLifecycleConfiguration(
        "state",
        bucket=bucket.id,
        rules=[
            {
                "id": "history",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_STATE_DAYS},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ],
        opts=child,
    )
    aws.s3.BucketPolicy(
        "state",
        bucket=bucket.id,
        policy=bucket.arn.apply(lambda arn: json.dumps(_tls_only(arn))),
        opts=child,
    )
    return bucket


def _tls_only(arn: str) -> dict:
    """Deny any request without TLS, or below TLS 1.2 (what the policy pack's S3.5 asks)."""
    refused = {
        "DenyInsecureTransport": {"Bool": {"aws:SecureTransport": "false"}},
        "DenyOutdatedTls": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
    }
    statements = [
        {
            "Sid": sid,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": condition,
        }
        for sid, condition in refused.items()
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def secrets_key(scope: Scope, stack: str) -> aws.kms.Key:
    """`stack`'s secrets key: the account root manages it (so the IAM policies of the roles
    apply, AWS KMS "Default key policy"), rotated yearly, and named by its alias."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountRootManagesTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{scope.account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    key = aws.kms.Key(
        f"secrets-{stack}",
        description=f"Pulumi secrets of the serverless-uploads stack {stack}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=json.dumps(policy),
        opts=KEEP,
    )
    aws.kms.Alias(
        f"secrets-{stack}",
        name=SECRETS_ALIAS.format(stack=stack),
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=key),
    )
    return key
