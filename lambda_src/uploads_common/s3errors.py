"""Classify botocore `ClientError`s from S3."""

from __future__ import annotations

from botocore.exceptions import ClientError

# Without s3:ListBucket on the key's prefix, S3 answers 403 instead of 404 for a missing key.
_MISSING = frozenset({"404", "403", "NoSuchKey", "NotFound", "AccessDenied", "Forbidden"})
_PRECONDITION_FAILED = frozenset({"412", "PreconditionFailed"})


def _codes(error: ClientError) -> set[str]:
    response = error.response
    return {
        str(response.get("Error", {}).get("Code", "")),
        str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")),
    }


def is_missing(error: ClientError) -> bool:
    """The key does not exist (or we may not know it exists: treated the same)."""
    return bool(_codes(error) & _MISSING)


def is_precondition_failed(error: ClientError) -> bool:
    """A conditional write (`IfNoneMatch="*"`) found the key already there."""
    return bool(_codes(error) & _PRECONDITION_FAILED)
