"""Classify botocore `ClientError`s from S3.

A missing key is a 404 only for a caller allowed `s3:ListBucket` on it (the functions are granted
it on their prefixes); otherwise S3 answers 403 whether or not the key exists. A 403 here is
therefore a real denial (IAM, a KMS key policy, permissions not yet propagated), never "missing".
"""

from __future__ import annotations

from botocore.exceptions import ClientError

_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_DENIED = frozenset({"403", "AccessDenied", "Forbidden"})
# A conditional write lost: 412 when the condition failed, 409 when a concurrent write to the same
# key won (S3 asks to retry; for If-None-Match the key then exists either way).
_LOST_CONDITIONAL_WRITE = frozenset({"412", "PreconditionFailed", "ConditionalRequestConflict"})


def _codes(error: ClientError) -> set[str]:
    response = error.response
    return {
        str(response.get("Error", {}).get("Code", "")),
        str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")),
    }


def is_missing(error: ClientError) -> bool:
    """The key does not exist (404). A 403 is not this: see the module docstring."""
    return bool(_codes(error) & _NOT_FOUND)


def is_denied(error: ClientError) -> bool:
    """S3 refused the request (403): for a missing key too, when the caller may not list it."""
    return bool(_codes(error) & _DENIED)


def lost_conditional_write(error: ClientError) -> bool:
    """A conditional write (`IfNoneMatch="*"`, `IfMatch=etag`) found the key not as required."""
    return bool(_codes(error) & _LOST_CONDITIONAL_WRITE)
