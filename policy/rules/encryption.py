"""Encryption-at-rest rules outside S3: SQS queues and KMS keys."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ._model import UNKNOWN, ResourceView, resource_rule


@resource_rule(
    "SQS.1",
    "mandatory",
    "Each SQS queue is encrypted at rest (SSE-SQS or SSE-KMS).",
    "Set sqsManagedSseEnabled=True or a kmsMasterKeyId on the queue.",
    "aws:sqs/queue:Queue",
)
def _queue_encrypted(queue: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    sse, key = queue.props.get("sqsManagedSseEnabled"), queue.props.get("kmsMasterKeyId")
    if sse not in (True, UNKNOWN) and not key:
        yield "neither sqsManagedSseEnabled nor kmsMasterKeyId is set"


@resource_rule(
    "KMS.4",
    "mandatory",
    "Each symmetric KMS key rotates its key material.",
    "Set enableKeyRotation=True on the key.",
    "aws:kms/key:Key",
)
def _key_rotation(key: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    spec = key.props.get("customerMasterKeySpec") or key.props.get("keySpec")
    if spec not in (None, "SYMMETRIC_DEFAULT"):
        return  # AWS rotates only symmetric encryption keys
    if key.props.get("enableKeyRotation") not in (True, UNKNOWN):
        yield "enableKeyRotation is not true"
