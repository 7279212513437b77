"""StorageBucket: an S3 bucket that is private, encrypted, TLS-only and versioned by default."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from ._bucket_policy import is_reserved_sid, policy_document
from ._checks import EXPIRY_DAYS, HTTP_ORIGINS, KMS_KEY_OR_CREATE, Between, check_fields, checked
from ._component import (
    Component,
    InvokableFunction,
    PolicyStatement,
    Transform,
)
from ._cors import check_origins, cors_rule
from ._grants import list_grant, object_grant
from ._kms import key_policy
from ._lifecycle import (
    STORAGE_CLASSES,
    LifecycleRule,
    Transition,
    check_prefix,
    lifecycle_rules,
)
from ._s3_notifications import (
    BucketSubscription,
    check_no_overlap,
    invoke_permission,
    lambda_configurations,
    on_object_created,
    on_object_removed,
)
from ._wire import PYTHON_ONLY, args_of

__all__ = [
    "STORAGE_CLASSES",
    "BucketSubscription",
    "InvokableFunction",
    "LifecycleRule",
    "StorageBucket",
    "StorageBucketArgs",
    "Transition",
    "on_object_created",
    "on_object_removed",
]

DATA_SAFETY_ROLES = (
    "kms-key", "bucket", "public-access-block", "ownership-controls", "encryption", "versioning",
    "lifecycle", "logging", "policy",
)  # fmt: skip
"""Children that `protect`/`retain` keep: deleting any of them loses the data or silently weakens
it (default encryption instead of the key, versioning suspended, public access possible, ACLs back
on, TLS no longer required, old versions kept forever or never, the audit trail stopped)."""


@dataclass(frozen=True)
class StorageBucketArgs:
    """Arguments of StorageBucket. Every default is the secure choice; relax it explicitly."""

    versioning: bool = True
    """Keep old object versions. Default True: lets you recover from overwrites and deletes."""
    noncurrent_version_expiration_days: int = checked(EXPIRY_DAYS, 30)
    """Expire old (noncurrent) versions after this many days, so versioning doesn't grow forever;
    delete markers left with no version under them are expired too."""
    abort_incomplete_upload_days: int = checked(Between(1, 365), 7)
    """Abort unfinished multipart uploads after this many days (their parts cost storage)."""
    lifecycle_rules: Sequence[LifecycleRule] = ()
    """Optional transitions/expiry per prefix. Default: none."""
    kms_key: pulumi.Input[str] | Literal["create"] | None = checked(KMS_KEY_OR_CREATE, None)
    """None: SSE-S3 (AES256). A KMS key ARN (not an alias: grants need the key), or "create" for a
    new key with rotation: SSE-KMS with an S3 Bucket Key (fewer KMS calls). A created key gets
    an explicit key policy: the account root (so the key can never be locked out, and IAM grants
    such as `grant_read` take effect) plus only the service grants asked for below."""
    kms_key_for_logs: bool = False
    """With `kms_key="create"`: let CloudWatch Logs use the key for this account's log groups in
    this region (key policy grant to `logs.<region>.amazonaws.com`, bound by the
    `kms:EncryptionContext:aws:logs:arn` condition), so log groups can be encrypted with
    `kms_key_arn`. Default False: no service may use the key."""
    kms_key_for_alarms: bool = False
    """With `kms_key="create"`: let CloudWatch use the key (`kms:Decrypt`, `kms:GenerateDataKey`,
    this account only) to publish alarms to an SNS topic the key encrypts (ServiceAlarms).
    Default False."""
    cors_origins: Sequence[str] = checked(HTTP_ORIGINS, ())
    """Browser origins allowed to call the bucket, e.g. `https://app.example.com`. Default: none,
    so no CORS configuration exists."""
    cors_methods: Sequence[str] = ("GET", "HEAD", "POST", "PUT")
    """Methods allowed for those origins."""
    cors_headers: Sequence[str] = ("content-type",)
    """Request headers allowed for those origins."""
    cors_max_age_seconds: int = 3600
    """How long browsers cache the preflight answer."""
    access_log_bucket: pulumi.Input[str] | Literal["create"] | None = None
    """S3 server access logs (who read, wrote or deleted what): the name of a bucket that
    receives them (its policy must grant `logging.s3.amazonaws.com`), or "create" for a log
    bucket made for the purpose (`access_logs`: a StorageBucket with SSE-S3, which log delivery
    requires, TLS-only, expiring logs, protected and retained like this one). Default None:
    no access logging."""
    access_log_prefix: str | None = None
    """Key prefix for access logs. Default: `<component name>/`."""
    access_log_expiration_days: int = checked(EXPIRY_DAYS, 365)
    """With `access_log_bucket="create"`: days after which logs expire (1..3650)."""
    access_log_sources: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """This bucket receives access logs: key prefix -> ARN of a source bucket in the same account.
    Each gets an `s3:PutObject` grant for `logging.s3.amazonaws.com` on `<prefix>*`, bound to that
    bucket and account. Default: none."""
    policy_statements: Sequence[PolicyStatement] = ()
    """Extra bucket policy statements, merged with the TLS-only statements into one document."""
    force_destroy: bool = False
    """Let `pulumi destroy` delete a bucket that still holds objects; only for throwaway stacks."""
    protect: bool = False
    """Protect the data and every child whose deletion would silently weaken its safety (see
    `DATA_SAFETY_ROLES`) from deletion, and retain them: production data outlives the stack.
    Default False."""
    retain: bool = False
    """Retain those children without protecting them: `pulumi destroy` or removing them from the
    program forgets them but leaves them in AWS. `protect` implies it; set it on its own to
    unprotect for a planned migration without risking the data. Default False: throwaway stacks
    clean up after themselves."""
    transforms: Mapping[str, Transform | None] = field(default_factory=dict, metadata=PYTHON_ONLY)
    """Escape hatch, per child: bucket, public_access_block, ownership_controls, encryption,
    versioning, lifecycle, cors, logging, policy, kms_key, notification, permission."""

    def __post_init__(self) -> None:
        check_fields(self)

    def validate(self, name: str) -> None:
        owner = f'StorageBucket "{name}"'
        key = self.kms_key
        if self.kms_key_for_logs and key != "create":
            raise ValueError(f'{owner}: kms_key_for_logs needs kms_key="create" (a key it owns)')
        if self.kms_key_for_alarms and key != "create":
            raise ValueError(f'{owner}: kms_key_for_alarms needs kms_key="create" (a key it owns)')
        if self.force_destroy and (self.protect or self.retain):
            raise ValueError(f"{owner}: force_destroy and protect/retain contradict each other")
        sids = [s.get("Sid") for s in self.policy_statements if s.get("Sid")]
        if len(sids) != len(set(sids)) or any(is_reserved_sid(sid) for sid in sids):
            raise ValueError(f"{owner}: policy statement Sids must be unique and not reserved")
        for prefix in [self.access_log_prefix or "", *self.access_log_sources]:
            check_prefix(owner, prefix)
        prefixes = [rule.prefix for rule in self.lifecycle_rules]
        if len(prefixes) != len(set(prefixes)):
            raise ValueError(f"{owner}: two lifecycle rules for the same prefix")


class StorageBucket(Component):
    """A private S3 bucket: public access blocked, ACLs off, encrypted, TLS 1.2+ only, versioned,
    with least-privilege grant helpers and aggregated event notifications."""

    bucket: aws.s3.Bucket
    """The S3 bucket."""
    name: pulumi.Output[str]
    """The bucket's name (generated from the component name)."""
    arn: pulumi.Output[str]
    """The bucket's ARN."""
    kms_key_arn: pulumi.Input[str] | None
    """The bucket's KMS key (given or created), None with SSE-S3."""

    def __init__(
        self,
        name: str,
        args: StorageBucketArgs | Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args_of(StorageBucketArgs, args, f'StorageBucket "{name}"')
        args.validate(name)
        super().__init__("uploads:index:StorageBucket", name, args.transforms, opts)
        self._args = args
        self._notified = False
        self._cors: aws.s3.BucketCorsConfiguration | None = None
        self.kms_key_arn = self._create_kms_key()
        self.bucket = self._child(
            aws.s3.Bucket, "bucket", {"force_destroy": args.force_destroy}, self._keep()
        )
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        block = self._create_public_access_block()
        self._create_ownership_controls()
        self._create_encryption()
        versioning = self._create_versioning()
        self._create_lifecycle(versioning)
        self._create_cors()
        self._create_logging()
        self.policy = self._create_policy(block)
        self.register_outputs({"name": self.name, "arn": self.arn})

    # -- children ---------------------------------------------------------------------------

    @property
    def _retained(self) -> bool:
        return self._args.protect or self._args.retain

    def _keep(self, opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
        """Options of a data-safety child (DATA_SAFETY_ROLES): protected and retained as the
        args say, merged with `opts`."""
        keep = pulumi.ResourceOptions(protect=self._args.protect, retain_on_delete=self._retained)
        return pulumi.ResourceOptions.merge(keep, opts)

    def _create_kms_key(self) -> pulumi.Input[str] | None:
        if self._args.kms_key != "create":
            return self._args.kms_key
        invoke = pulumi.InvokeOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke)
        region = aws.get_region_output(opts=invoke).region
        logs, alarms = self._args.kms_key_for_logs, self._args.kms_key_for_alarms
        policy = pulumi.Output.all(
            partition.partition, region, self._account_id(), partition.dns_suffix
        ).apply(lambda r: json.dumps(key_policy(*r, logs=logs, alarms=alarms)))
        key = self._child(
            aws.kms.Key,
            "kms-key",
            {
                "description": f"Encrypts the objects of StorageBucket {self._name}",
                "enable_key_rotation": True,
                "deletion_window_in_days": 30,
                "policy": policy,
            },
            self._keep(),
        )
        return key.arn

    def _create_public_access_block(self) -> aws.s3.BucketPublicAccessBlock:
        flags = ("block_public_acls", "block_public_policy", "ignore_public_acls")
        props: dict[str, Any] = {"bucket": self.bucket.id, "restrict_public_buckets": True}
        props.update(dict.fromkeys(flags, True))
        # Retained: on destroy the provider only forgets it, so the block stays while the bucket
        # (retained too) does.
        if self._retained:
            props["skip_destroy"] = True
        return self._child(
            aws.s3.BucketPublicAccessBlock, "public-access-block", props, self._keep()
        )

    def _create_ownership_controls(self) -> None:
        self._child(
            aws.s3.BucketOwnershipControls,
            "ownership-controls",
            {"bucket": self.bucket.id, "rule": {"object_ownership": "BucketOwnerEnforced"}},
            self._keep(),
        )

    def _create_encryption(self) -> None:
        default: dict[str, Any] = {"sse_algorithm": "AES256"}
        rule: dict[str, Any] = {"apply_server_side_encryption_by_default": default}
        if self.kms_key_arn is not None:
            default.update(sse_algorithm="aws:kms", kms_master_key_id=self.kms_key_arn)
            rule["bucket_key_enabled"] = True
        self._child(
            aws.s3.BucketServerSideEncryptionConfiguration,
            "encryption",
            {"bucket": self.bucket.id, "rules": [rule]},
            self._keep(),
        )

    def _create_versioning(self) -> aws.s3.BucketVersioning | None:
        if not self._args.versioning:
            return None
        return self._child(
            aws.s3.BucketVersioning,
            "versioning",
            {"bucket": self.bucket.id, "versioning_configuration": {"status": "Enabled"}},
            self._keep(),
        )

    def _create_lifecycle(self, versioning: aws.s3.BucketVersioning | None) -> None:
        args = self._args
        rules = lifecycle_rules(
            versioning=args.versioning,
            noncurrent_version_expiration_days=args.noncurrent_version_expiration_days,
            abort_incomplete_upload_days=args.abort_incomplete_upload_days,
            rules=args.lifecycle_rules,
        )
        self._child(
            aws.s3.BucketLifecycleConfiguration,
            "lifecycle",
            {"bucket": self.bucket.id, "rules": rules},
            # Noncurrent-version rules apply once versioning is on (pulumi-aws's documented order).
            self._keep(pulumi.ResourceOptions(depends_on=[versioning] if versioning else [])),
        )

    def _create_cors(self) -> None:
        if self._args.cors_origins:
            self._create_cors_configuration(list(self._args.cors_origins))

    def allow_origins(self, *origins: pulumi.Input[str]) -> aws.s3.BucketCorsConfiguration:
        """Create the bucket's CORS configuration for `origins`, with the args' methods, headers
        and max age. For origins known only after the bucket exists, such as the URL of an API
        whose functions need the bucket's name; give those as outputs. S3 keeps one CORS
        configuration per bucket: call this once, and only on a bucket without `cors_origins`
        (list static origins here too)."""
        check_origins(f'StorageBucket "{self._name}"', origins)
        return self._create_cors_configuration(list(origins))

    def _create_cors_configuration(
        self, origins: list[pulumi.Input[str]]
    ) -> aws.s3.BucketCorsConfiguration:
        if self._cors is not None:
            raise ValueError(f'StorageBucket "{self._name}": it already has a CORS configuration')
        args = self._args
        rule = cors_rule(origins, args.cors_methods, args.cors_headers, args.cors_max_age_seconds)
        self._cors = self._child(
            aws.s3.BucketCorsConfiguration, "cors", {"bucket": self.bucket.id, "cors_rules": [rule]}
        )
        return self._cors

    def _create_logging(self) -> None:
        args = self._args
        self.access_logs: StorageBucket | None = None
        if args.access_log_bucket is None:
            return
        prefix = args.access_log_prefix or f"{self._name}/"
        target, waits = args.access_log_bucket, []
        if target == "create":
            self.access_logs = StorageBucket(
                f"{self._name}-access-logs",
                StorageBucketArgs(
                    noncurrent_version_expiration_days=args.noncurrent_version_expiration_days,
                    abort_incomplete_upload_days=args.abort_incomplete_upload_days,
                    lifecycle_rules=(LifecycleRule("", args.access_log_expiration_days),),
                    access_log_sources={prefix: self.arn},
                    force_destroy=args.force_destroy,
                    protect=args.protect,
                    retain=args.retain,
                ),
                pulumi.ResourceOptions(parent=self),
            )
            target, waits = self.access_logs.name, [self.access_logs.policy]
        props = {"bucket": self.bucket.id, "target_bucket": target, "target_prefix": prefix}
        # Log delivery may write once the log bucket's policy grants it.
        self._child(
            aws.s3.BucketLogging,
            "logging",
            props,
            self._keep(pulumi.ResourceOptions(depends_on=waits)),
        )

    def _create_policy(self, block: aws.s3.BucketPublicAccessBlock) -> aws.s3.BucketPolicy:
        sources = dict(self._args.access_log_sources)
        account = self._account_id() if sources else None
        document = pulumi.Output.all(
            self.arn, list(self._args.policy_statements), sources, account
        ).apply(lambda r: json.dumps(policy_document(r[0], r[1], r[2], r[3])))
        return self._child(
            aws.s3.BucketPolicy,
            "policy",
            {"bucket": self.bucket.id, "policy": document},
            # S3 rejects a policy put while the public access block is being changed.
            self._keep(pulumi.ResourceOptions(depends_on=[block])),
        )

    def _account_id(self) -> pulumi.Output[str]:
        """The deploying account (one invoke per use; the engine caches nothing offline)."""
        return aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id

    # -- grants -----------------------------------------------------------------------------

    def grant_read(self, prefix: str = "") -> list[PolicyStatement]:
        """s3:GetObject on the objects under `prefix` (the whole bucket when empty)."""
        return self._object_grant("s3:GetObject", prefix, ["kms:Decrypt"])

    def grant_write(self, prefix: str = "") -> list[PolicyStatement]:
        """s3:PutObject on the objects under `prefix`."""
        return self._object_grant("s3:PutObject", prefix, ["kms:Decrypt", "kms:GenerateDataKey"])

    def grant_delete(self, prefix: str = "") -> list[PolicyStatement]:
        """s3:DeleteObject on the objects under `prefix`."""
        return self._object_grant("s3:DeleteObject", prefix, [])

    def grant_read_versions(self, prefix: str = "") -> list[PolicyStatement]:
        """s3:GetObjectVersion under `prefix`: read or copy one named version of an object."""
        return self._object_grant("s3:GetObjectVersion", prefix, ["kms:Decrypt"])

    def grant_delete_versions(self, prefix: str = "") -> list[PolicyStatement]:
        """s3:DeleteObjectVersion under `prefix`: remove one named version for good."""
        return self._object_grant("s3:DeleteObjectVersion", prefix, [])

    def grant_list(self, *prefixes: str) -> list[PolicyStatement]:
        """s3:ListBucket, limited to keys under `prefixes` when any are given."""
        return [list_grant(f'StorageBucket "{self._name}" grant', self.arn, prefixes)]

    def _object_grant(
        self, action: str, prefix: str, kms_actions: list[str]
    ) -> list[PolicyStatement]:
        owner = f'StorageBucket "{self._name}" grant'
        return object_grant(
            owner, self.arn, self.kms_key_arn, action=action, prefix=prefix, kms_actions=kms_actions
        )

    # -- notifications ----------------------------------------------------------------------

    def notify(self, *subscriptions: BucketSubscription) -> aws.s3.BucketNotification:
        """Deliver S3 events to functions. S3 keeps one notification configuration per bucket, so
        pass every subscription in this one call (build them with `on_object_created` /
        `on_object_removed`). Each function gets a Lambda permission for this bucket only, and
        the configuration waits for the permissions (S3 validates the destinations)."""
        owner = f'StorageBucket "{self._name}"'
        if self._notified:
            raise ValueError(f"{owner}: notify() was already called; pass all subscriptions once")
        if not subscriptions:
            raise ValueError(f"{owner}: notify() needs at least one subscription")
        check_no_overlap(self._name, subscriptions)
        self._notified = True
        account = self._account_id()
        permissions = {}
        for sub in subscriptions:
            function_name = sub.function.pulumi_resource_name
            if function_name not in permissions:
                permissions[function_name] = self._child(
                    aws.lambda_.Permission,
                    f"allow-{function_name}",
                    invoke_permission(sub.function, self.arn, account),
                    transform_key="permission",
                )
        entries = lambda_configurations(subscriptions)
        return self._child(
            aws.s3.BucketNotification,
            "notification",
            {"bucket": self.bucket.id, "lambda_functions": entries},
            pulumi.ResourceOptions(depends_on=list(permissions.values())),
        )
