"""`on_upload`: S3 "object created" notifications under the upload prefix -> thumbnails.

For each record: ignore keys outside the upload prefix (so thumbnails never retrigger this), remove
objects that are not an allowed image (by magic bytes) or that cannot be decoded, and write a
thumbnail once (a conditional write, so a repeated delivery changes nothing). An S3 failure raises,
after the other records were handled, so Lambda's retries and on-failure destination take over.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.exceptions import ClientError

from thumbnailer import UnreadableImageError, make_thumbnail
from uploads_common.config import env_int, env_log_level, env_prefixes, env_required
from uploads_common.images import detect_image_type, type_for_key
from uploads_common.logs import configure_logging
from uploads_common.s3errors import is_missing, is_precondition_failed

BUCKET_NAME = env_required("BUCKET_NAME")
UPLOAD_PREFIX, THUMBNAIL_PREFIX = env_prefixes()
THUMBNAIL_MAX_PX = env_int("THUMBNAIL_MAX_PX", 256, maximum=4096)

logger = configure_logging("on_upload", env_log_level())
s3 = boto3.client("s3")

PROCESSED, SKIPPED, REMOVED = "processed", "skipped", "removed"


class RecordsFailedError(RuntimeError):
    """Some records failed for a reason other than their content; Lambda should retry the event."""


def process(key: str) -> tuple[str, str]:
    """Handle one object key (already URL-decoded): the outcome and the reason for it."""
    if not key.startswith(UPLOAD_PREFIX):
        return SKIPPED, "outside_upload_prefix"
    data = _read(key)
    if data is None:
        return SKIPPED, "object_gone"
    image_type = detect_image_type(data)
    named = type_for_key(key)
    if image_type is None or named not in (None, image_type):
        # A presigned POST fixes the content type, not the bytes: this is where they are checked.
        return _remove(key, "not_an_allowed_image" if image_type is None else "extension_mismatch")
    try:
        thumbnail = make_thumbnail(data, image_type, THUMBNAIL_MAX_PX)
    except UnreadableImageError:
        return _remove(key, "unreadable_image")
    stem = key[len(UPLOAD_PREFIX) :]
    if named is not None:
        stem = stem.rsplit(".", 1)[0]
    thumbnail_key = f"{THUMBNAIL_PREFIX}{stem}.{image_type.ext}"
    if not _put_once(thumbnail_key, thumbnail, image_type.content_type):
        return SKIPPED, "thumbnail_exists"
    return PROCESSED, "thumbnail_written"


def _read(key: str) -> bytes | None:
    """The object's bytes, or None if it no longer exists (deleted since the event)."""
    try:
        return s3.get_object(Bucket=BUCKET_NAME, Key=key)["Body"].read()
    except ClientError as error:
        if is_missing(error):
            return None
        raise


def _put_once(key: str, body: bytes, content_type: str) -> bool:
    """Write `key` unless it exists (conditional write); False if it was already there."""
    try:
        s3.put_object(
            Bucket=BUCKET_NAME, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*"
        )
    except ClientError as error:
        if is_precondition_failed(error):
            return False
        raise
    return True


def _remove(key: str, reason: str) -> tuple[str, str]:
    s3.delete_object(Bucket=BUCKET_NAME, Key=key)
    return REMOVED, reason


def _record_key(record: dict[str, Any]) -> str | None:
    """The URL-decoded key of an "object created" record for our bucket, else None."""
    if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
        return None
    s3_part = record.get("s3") or {}
    if (s3_part.get("bucket") or {}).get("name") != BUCKET_NAME:
        return None
    raw_key = (s3_part.get("object") or {}).get("key")
    return unquote_plus(raw_key) if isinstance(raw_key, str) else None


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Entry point: one structured log line per record; returns the count of each outcome."""
    counts = {PROCESSED: 0, SKIPPED: 0, REMOVED: 0}
    failed: list[str] = []
    request_id = getattr(context, "aws_request_id", None)
    for record in event.get("Records") or []:
        key = _record_key(record)
        fields: dict[str, Any] = {"key": key, "awsRequestId": request_id}
        if key is None:
            outcome, reason = SKIPPED, "not_an_object_created_record_for_this_bucket"
        else:
            try:
                outcome, reason = process(key)
            except Exception as error:
                failed.append(key)
                logger.error("record failed", exc_info=error, extra=fields | {"outcome": "failed"})
                continue
        counts[outcome] += 1
        # S3 answers 403 both for a key deleted meanwhile and for a real denial (KMS, policy):
        # worth a look when it is not the former.
        level = logging.WARNING if reason == "object_gone" else logging.INFO
        logger.log(level, "record", extra=fields | {"outcome": outcome, "reason": reason})
    if failed:
        raise RecordsFailedError(f"{len(failed)} record(s) failed, retry: {', '.join(failed)}")
    return counts
