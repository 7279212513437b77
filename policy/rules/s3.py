"""S3 rules. A bucket's settings live in side-by-side resources (pulumi-aws v7), so each rule looks
for the bucket's own child resource of the right type: these are stack rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ._model import (
    UNKNOWN,
    ResourceView,
    as_list,
    children_of,
    get,
    policy_document,
    protect_data,
    stack_rule,
    statements,
)

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"

PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
MIN_TLS = 1.2

BucketCheck = Callable[[ResourceView, list[ResourceView]], str | None]


def _per_bucket(
    child_type: str, check: BucketCheck
) -> Callable[[Sequence[ResourceView], Mapping[str, str]], Iterator[tuple[ResourceView, str]]]:
    """A stack check that hands each bucket its own `child_type` resources."""

    def run(
        resources: Sequence[ResourceView], _config: Mapping[str, str]
    ) -> Iterator[tuple[ResourceView, str]]:
        for bucket in (r for r in resources if r.type == BUCKET):
            message = check(bucket, children_of(bucket, child_type, resources, "bucket"))
            if message:
                yield bucket, message

    return run


def _public_access_blocked(_bucket: ResourceView, blocks: list[ResourceView]) -> str | None:
    if not blocks:
        return "has no BucketPublicAccessBlock"
    off = [
        f for f in PUBLIC_ACCESS_FLAGS if not any(b.props.get(f) in (True, UNKNOWN) for b in blocks)
    ]
    return f"public access block leaves {', '.join(off)} off" if off else None


def _acls_disabled(_bucket: ResourceView, controls: list[ResourceView]) -> str | None:
    modes = [get(c.props, "rule", "objectOwnership") for c in controls]
    if any(m in ("BucketOwnerEnforced", UNKNOWN) for m in modes):
        return None
    return (
        f"object ownership is {modes[0]!r}, so ACLs stay enabled"
        if modes
        else ("has no BucketOwnershipControls: ACLs are not disabled explicitly")
    )


def _encrypted(_bucket: ResourceView, configs: list[ResourceView]) -> str | None:
    algorithms = [
        get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
        for config in configs
        for rule in as_list(config.props.get("rules"))
    ]
    if any(a in ("AES256", "aws:kms", "aws:kms:dsse", UNKNOWN) for a in algorithms):
        return None
    return "has no default encryption configuration"


def _tls_only(_bucket: ResourceView, policies: list[ResourceView]) -> str | None:
    if any(p.props.get("policy") is UNKNOWN for p in policies):
        return None  # unknown during preview: checked once the document is known
    documents = [policy_document(p.props.get("policy")) for p in policies]
    denies = [s for d in documents if d for s in statements(d) if s.get("Effect") == "Deny"]
    missing = []
    if not any(_denies_insecure_transport(s) for s in denies):
        missing.append("a Deny when aws:SecureTransport is false")
    if not any(_denies_old_tls(s) for s in denies):
        missing.append(f"a Deny when s3:TlsVersion < {MIN_TLS}")
    return f"bucket policy lacks {' and '.join(missing)}" if missing else None


def _all_s3(statement: Mapping[str, Any]) -> bool:
    return any(a in ("*", "s3:*") for a in as_list(statement.get("Action")))


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    value = get(statement, "Condition", "Bool", "aws:SecureTransport")
    return _all_s3(statement) and str(value).lower() == "false"


def _denies_old_tls(statement: Mapping[str, Any]) -> bool:
    value = get(statement, "Condition", "NumericLessThan", "s3:TlsVersion")
    try:
        return _all_s3(statement) and float(value) >= MIN_TLS
    except (TypeError, ValueError):
        return False


def _versioned(_bucket: ResourceView, configs: list[ResourceView]) -> str | None:
    statuses = [get(c.props, "versioningConfiguration", "status") for c in configs]
    if any(s in ("Enabled", UNKNOWN) for s in statuses):
        return None
    return f"versioning is {statuses[0]!r}" if statuses else "has no BucketVersioning"


def _lifecycle(_bucket: ResourceView, configs: list[ResourceView]) -> str | None:
    rules = [
        r
        for c in configs
        for r in as_list(c.props.get("rules"))
        if isinstance(r, Mapping) and r.get("status") in ("Enabled", UNKNOWN)
    ]
    missing = []
    if not any(get(r, "noncurrentVersionExpiration", "noncurrentDays") for r in rules):
        missing.append("noncurrent version expiry")
    if not any(get(r, "abortIncompleteMultipartUpload", "daysAfterInitiation") for r in rules):
        missing.append("incomplete multipart upload abort")
    return f"lifecycle lacks {' and '.join(missing)}" if missing else None


stack_rule(
    "S3.8",
    "mandatory",
    "Each bucket has a public access block with all four flags on (S3.1/S3.8).",
    "Give the bucket a BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, "
    "ignorePublicAcls and restrictPublicBuckets true (StorageBucket does by default).",
)(_per_bucket(PUBLIC_ACCESS_BLOCK, _public_access_blocked))

stack_rule(
    "S3.12",
    "mandatory",
    "Each bucket disables ACLs: object ownership BucketOwnerEnforced.",
    "Add BucketOwnershipControls with rule.objectOwnership = BucketOwnerEnforced and grant access "
    "with IAM or the bucket policy instead of ACLs.",
)(_per_bucket(OWNERSHIP, _acls_disabled))

stack_rule(
    "CKV_AWS_19",
    "mandatory",
    "Each bucket has default server-side encryption (SSE-S3 or SSE-KMS).",
    "Add a BucketServerSideEncryptionConfiguration (StorageBucket: bucketKmsKey '' for SSE-S3, "
    "'create' or a key ARN for SSE-KMS).",
)(_per_bucket(ENCRYPTION, _encrypted))

stack_rule(
    "S3.5",
    "mandatory",
    "Each bucket policy denies requests without TLS and with s3:TlsVersion below 1.2.",
    "Add Deny statements on s3:* for aws:SecureTransport = false and NumericLessThan "
    "s3:TlsVersion 1.2 (StorageBucket merges them into its policy).",
)(_per_bucket(BUCKET_POLICY, _tls_only))

stack_rule(
    "S3.14",
    "mandatory",
    "Each bucket has versioning enabled.",
    "Add BucketVersioning with status Enabled (StorageBucket: versioning=True).",
)(_per_bucket(VERSIONING, _versioned))

stack_rule(
    "S3.13",
    "advisory",
    "Each bucket's lifecycle expires noncurrent versions and aborts incomplete multipart uploads.",
    "Add a BucketLifecycleConfiguration rule with noncurrentVersionExpiration and "
    "abortIncompleteMultipartUpload (settings noncurrentVersionExpirationDays, "
    "abortIncompleteUploadDays).",
)(_per_bucket(LIFECYCLE, _lifecycle))


@stack_rule(
    "UPL-PROTECT-DATA",
    "mandatory",
    "When the stack sets protectData, every bucket is protected and retained on delete.",
    "Create the bucket with ResourceOptions(protect=True, retain_on_delete=True) when "
    "protectData is true (StorageBucket does from the setting).",
)
def _protected_data(
    resources: Sequence[ResourceView], stack_config: Mapping[str, str]
) -> Iterator[tuple[ResourceView, str]]:
    if not protect_data(stack_config):
        return
    for bucket in (r for r in resources if r.type == BUCKET):
        missing = [] if bucket.protect else ["protect"]
        if bucket.retain_on_delete is False:
            missing.append("retainOnDelete")
        if missing:
            yield bucket, f"protectData is true but the bucket lacks {' and '.join(missing)}"
