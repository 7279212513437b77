"""S3 event subscriptions: which events a StorageBucket delivers to which function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from ._component import InvokableFunction

CREATED = "s3:ObjectCreated:*"
REMOVED = "s3:ObjectRemoved:*"


@dataclass(frozen=True)
class BucketSubscription:
    """Deliver `event` for keys starting with `prefix` and ending with `suffix` to `function`."""

    function: InvokableFunction
    event: str
    prefix: str = ""
    suffix: str = ""

    def __post_init__(self) -> None:
        for field, value in (("prefix", self.prefix), ("suffix", self.suffix)):
            if not isinstance(value, str) or "*" in value or "?" in value:
                raise ValueError(f"subscription {field} must be a literal string, got {value!r}")

    @property
    def key(self) -> str:
        """Stable identity: names the S3 configuration entry."""
        kind = "created" if self.event == CREATED else "removed"
        where = "-".join(part for part in (self.prefix, self.suffix) if part) or "all"
        return f"{self.function.pulumi_resource_name}-{kind}-{where}"

    def overlaps(self, other: BucketSubscription) -> bool:
        """S3 rejects two configurations for the same event type whose prefixes and suffixes
        can both match one key ("Configurations overlap")."""
        prefixes = self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix)
        suffixes = self.suffix.endswith(other.suffix) or other.suffix.endswith(self.suffix)
        return self.event == other.event and prefixes and suffixes


def on_object_created(
    function: InvokableFunction, prefix: str = "", suffix: str = ""
) -> BucketSubscription:
    """Invoke `function` for every object created under `prefix` (and ending with `suffix`)."""
    return BucketSubscription(function, CREATED, prefix, suffix)


def on_object_removed(
    function: InvokableFunction, prefix: str = "", suffix: str = ""
) -> BucketSubscription:
    """Invoke `function` for every object removed under `prefix` (and ending with `suffix`)."""
    return BucketSubscription(function, REMOVED, prefix, suffix)


def check_no_overlap(bucket: str, subscriptions: tuple[BucketSubscription, ...]) -> None:
    for i, first in enumerate(subscriptions):
        for second in subscriptions[i + 1 :]:
            if first.overlaps(second):
                raise ValueError(
                    f'StorageBucket "{bucket}": subscriptions {first.key!r} and {second.key!r} '
                    "overlap on the same event and prefix/suffix, which S3 rejects"
                )


def invoke_permission(
    function: InvokableFunction, bucket_arn: pulumi.Output[str], account: pulumi.Output[str]
) -> dict[str, Any]:
    """The Lambda permission that lets this bucket, in this account only, invoke `function`."""
    return {
        "action": "lambda:InvokeFunction",
        "function": function.name,
        "principal": "s3.amazonaws.com",
        "source_arn": bucket_arn,
        "source_account": account,
    }


def lambda_configurations(subscriptions: tuple[BucketSubscription, ...]) -> list[dict[str, Any]]:
    """The `lambda_functions` entries of the bucket's notification configuration."""
    return [
        {
            "id": sub.key,
            "lambda_function_arn": sub.function.arn,
            "events": [sub.event],
            "filter_prefix": sub.prefix or None,
            "filter_suffix": sub.suffix or None,
        }
        for sub in subscriptions
    ]
