"""A StorageBucket's lifecycle: per-prefix rules (`LifecycleRule`) and the configuration's rules."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

STORAGE_CLASSES = (
    "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE",
)  # fmt: skip
_PREFIX = re.compile(r"^[A-Za-z0-9!_.'()/-]*\Z")


def check_prefix(owner: str, prefix: str) -> None:
    """Refuse a key prefix that is not a literal one (lifecycle filters, log prefixes, grants)."""
    if not _PREFIX.match(prefix) or prefix.startswith("/"):
        raise ValueError(f"{owner}: key prefix {prefix!r} must be a plain key prefix, no wildcards")


class Transition(NamedTuple):
    """Move current objects to another storage class some days after creation."""

    days: int
    """Days after creation (0: at once)."""
    storage_class: str
    """One of STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE."""


@dataclass(frozen=True)
class LifecycleRule:
    """Extra lifecycle for objects under `prefix`: transitions and/or expiry."""

    prefix: str
    """Key prefix the rule applies to (empty: the whole bucket), no wildcards."""
    expiration_days: int | None = None
    """Delete current objects this many days after creation. Default None: never."""
    transitions: Sequence[Transition] = ()
    """(days, storage class) pairs, e.g. `((30, "STANDARD_IA"), (180, "GLACIER"))`. Default:
    none."""

    def __post_init__(self) -> None:
        check_prefix("LifecycleRule", self.prefix)
        if self.expiration_days is not None and self.expiration_days < 1:
            raise ValueError(f"LifecycleRule {self.prefix!r}: expiration_days must be >= 1")
        for days, storage_class in self.transitions:
            if days < 0 or storage_class not in STORAGE_CLASSES:
                raise ValueError(
                    f"LifecycleRule {self.prefix!r}: transition ({days}, {storage_class!r}) needs "
                    f"days >= 0 and one of {', '.join(STORAGE_CLASSES)}"
                )
        if self.expiration_days is None and not self.transitions:
            raise ValueError(f"LifecycleRule {self.prefix!r}: give expiration_days or transitions")


def lifecycle_rules(
    *,
    versioning: bool,
    noncurrent_version_expiration_days: int,
    abort_incomplete_upload_days: int,
    rules: Sequence[LifecycleRule],
) -> list[dict[str, Any]]:
    """The bucket-wide rule (abort uploads; with versioning, expire old versions and lone delete
    markers), then one rule per prefix."""
    base: dict[str, Any] = {
        "id": "abort-incomplete-uploads",
        "status": "Enabled",
        "filter": {},
        "abort_incomplete_multipart_upload": {
            "days_after_initiation": abort_incomplete_upload_days
        },
    }
    if versioning:
        base["noncurrent_version_expiration"] = {
            "noncurrent_days": noncurrent_version_expiration_days
        }
        # Every delete leaves a delete marker; once the versions under it have expired it
        # is alone and only slows listings. S3 refuses this flag next to `days`/`date` in one
        # expiration block, so prefix rules with `expiration_days` stay separate rules.
        base["expiration"] = {"expired_object_delete_marker": True}
        base["id"] = "abort-incomplete-uploads-expire-noncurrent"
    return [base] + [_lifecycle_rule(rule) for rule in rules]


def _lifecycle_rule(rule: LifecycleRule) -> dict[str, Any]:
    props: dict[str, Any] = {
        "id": f"prefix-{rule.prefix or 'all'}".rstrip("/"),
        "status": "Enabled",
        "filter": {"prefix": rule.prefix},
    }
    if rule.expiration_days is not None:
        props["expiration"] = {"days": rule.expiration_days}
    if rule.transitions:
        props["transitions"] = [
            {"days": days, "storage_class": storage_class}
            for days, storage_class in rule.transitions
        ]
    return props
