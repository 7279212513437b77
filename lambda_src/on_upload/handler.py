"""`on_upload`: S3 "object created" notifications under the upload prefix -> thumbnails.

For each record: ignore keys outside the upload prefix (so thumbnails never retrigger this), remove
objects that are not an allowed image (by magic bytes) or whose header the API would refuse too,
together with their thumbnail; keep an image that passes the header check but cannot be decoded,
with a placeholder instead of its thumbnail (docs/thumbnails.md); and otherwise keep the
thumbnail in step with the original's current version:
written once, regenerated when the original changed (a presigned POST ticket can be used again),
and removed again if the original was deleted while it was being made. An S3 failure (a 403
included) raises after the other records were handled, so Lambda's retries and its dead-letter
queue take over; a record that is not an S3 "object created" record is skipped with a logged reason.
A record that fails moves its upload under the quarantine prefix first (`quarantine`), so that it
is never listed or served unchecked; a retry or a redrive checks it there again. An invocation
killed at its timeout runs no such code: a watchdog (`timeout_guard`) holds the upload shortly
before the deadline instead, and the main path stops changing anything. The upload is then
released again (its copy's event checks it once more), unless the guard has held it
`MAX_GUARD_HOLDS` times since a check last finished in time: then the record fails, so that
Lambda's retries and the dead-letter queue take it instead of an endless hold/release loop. The
states and moves are in docs/operations.md ("The quarantine state machine"). An out-of-memory kill
is not covered; the header limits derived from the memory size keep an image from getting there.
Each outcome is also a metric (EMF log lines: thumbnails written and their milliseconds, refused
by reason, quarantined).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import unquote_plus

import boto3

from quarantine import GONE, RELEASED, Quarantine, Version
from thumbnail_sync import CURRENT, LOST, REPLACED, Original, Source, Thumbnail, ThumbnailStore
from thumbnailer import UnreadableImageError, make_thumbnail
from timeout_guard import GuardFiredError, TimeoutGuard, guard_delays
from uploads_common.conditional_writes import enable_conditional_writes
from uploads_common.config import env_int, env_log_level, env_prefix, env_prefixes, env_required
from uploads_common.fault_switch import raise_if_switched_on
from uploads_common.image_header import (
    ImageHeader,
    ImageLimits,
    InvalidImageError,
    RefusedImageError,
    decoder_input,
    read_header,
)
from uploads_common.images import detect_image_type, type_for_key
from uploads_common.keys import thumbnail_key
from uploads_common.logs import configure_logging
from uploads_common.metrics import emit

BUCKET_NAME = env_required("BUCKET_NAME")
UPLOAD_PREFIX, THUMBNAIL_PREFIX = env_prefixes()
QUARANTINE_PREFIX = env_prefix("QUARANTINE_PREFIX", "quarantine/")
THUMBNAIL_MAX_PX = env_int("THUMBNAIL_MAX_PX", 256, maximum=4096)
MAX_ROUNDS = 3
"""Attempts when the original or its thumbnail changes under us; then the event is retried."""
MAX_KEY_BYTES = 1024
"""S3's longest key."""
MAX_GUARD_HOLDS = 3
"""Holds after which a record the timeout guard interrupted fails instead of being released."""
IMAGE_LIMITS = ImageLimits.from_env()

logger = configure_logging("on_upload", env_log_level())
s3 = boto3.client("s3")
enable_conditional_writes(s3, logger)
store = ThumbnailStore(s3, BUCKET_NAME)
quarantine = Quarantine(store, UPLOAD_PREFIX, QUARANTINE_PREFIX)

PROCESSED, SKIPPED, REMOVED = "processed", "skipped", "removed"
KEPT_UNREADABLE = "kept_unreadable"
RELEASE_REASONS = {RELEASED: "released_from_quarantine", GONE: "object_gone"}
"""A release's outcome -> the record's reason (else `superseded_by_newer_upload`)."""

Step = Callable[[], AbstractContextManager[object]]
"""Wraps each change the main path makes to S3: the timeout guard's `step`, or nothing."""


class RecordsFailedError(RuntimeError):
    """Some records failed for a reason other than their content; Lambda should retry the event."""


class OriginalKeptChangingError(RuntimeError):
    """The original or its thumbnail changed in every round; a retry of the event will settle it."""


class GuardHeldTooOftenError(RuntimeError):
    """The timeout guard held the upload `MAX_GUARD_HOLDS` times: it stays in quarantine and the
    record goes the way of every failure (retries, then the dead-letter queue)."""


class GuardCouldNotHoldError(RuntimeError):
    """The timeout guard fired but the upload is still in place; a retry of the event checks it."""


def process(key: str, step: Step = nullcontext) -> tuple[str, str]:
    """Handle one object key (already URL-decoded): the outcome and the reason for it. Each
    change to S3 runs inside `step()`."""
    if not key.startswith(UPLOAD_PREFIX):
        return SKIPPED, "outside_upload_prefix"
    raise_if_switched_on()
    thumbnail = thumbnail_key(key, UPLOAD_PREFIX, THUMBNAIL_PREFIX)
    for _ in range(MAX_ROUNDS):
        result = _sync(key, thumbnail, step)
        if result is not None:
            return result
    raise OriginalKeptChangingError(f"{key} or its thumbnail changed {MAX_ROUNDS} times")


def _sync(key: str, thumbnail: str, step: Step) -> tuple[str, str] | None:
    """One round: read the original, check it, write its thumbnail, check it is still current.

    None when something changed under us and the round must be taken again.
    """
    original = store.read(key)
    if original is None:
        held = quarantine.read(key)
        # Deleted since the event; a thumbnail left by an earlier, interrupted run goes too.
        return _gone(thumbnail, step) if held is None else _recheck(key, *held, thumbnail, step)
    made = _make(key, original)
    if isinstance(made, str):
        with step():
            return _remove(key, thumbnail, made)
    with step():
        written = store.write(thumbnail, made, original.source)
    if written in (CURRENT, LOST):
        return (SKIPPED, "thumbnail_exists") if written == CURRENT else None
    # The original may have been deleted or replaced while the thumbnail was being made.
    now = store.source(key)
    if now is None:
        return _gone(thumbnail, step)
    if now != original.source:
        return None
    done = "thumbnail_replaced" if written == REPLACED else "thumbnail_written"
    return PROCESSED, KEPT_UNREADABLE if made.unreadable else done


def _make(key: str, original: Original) -> Thumbnail | str:
    """The thumbnail, or the reason the object is not an acceptable image. An image that passes
    the header check (as the API's) but cannot be decoded gets a placeholder: never removed."""
    image_type = detect_image_type(original.data)
    if image_type is None:
        return "not_an_allowed_image"
    # A presigned POST fixes the content type, not the bytes: this is where they are checked.
    if type_for_key(key) not in (None, image_type):
        return "extension_mismatch"
    try:
        header = _check_header(key, original.data)
    except UnreadableImageError as error:
        return error.reason
    try:
        # Repaired, and without what the decoder would keep but the thumbnail does not need.
        data = make_thumbnail(decoder_input(original.data, header), image_type, THUMBNAIL_MAX_PX)
    except UnreadableImageError as error:
        logger.info("image kept without a thumbnail", extra={"key": key, "detail": str(error)})
        return Thumbnail.placeholder(error.reason, str(error))
    return Thumbnail(data, image_type.content_type)


def _recheck(key: str, held: Version, data: bytes, thumbnail: str, step: Step) -> tuple[str, str]:
    """Check a quarantined upload again (a retry or a redrive): back under the upload prefix if
    it passes, where its copy's own event makes the thumbnail; removed if its content is
    refused. A failure raises and leaves it in quarantine."""
    made = _make(key, Original(data, Source(held.version_id, held.etag)))
    if isinstance(made, str):
        with step():
            store.delete(thumbnail)
            quarantine.discard(held)
        return REMOVED, made
    with step():
        moved = quarantine.release(held, keep_holds=False)
    if moved == GONE:
        return _gone(thumbnail, step)
    reason = RELEASE_REASONS.get(moved, "superseded_by_newer_upload")
    return (PROCESSED if moved == RELEASED else SKIPPED), reason


def _hold(key: str) -> bool:
    """After a failure: move the upload (and any thumbnail) out of sight until a retry or a
    redrive checks it. False if it was not moved (already held, gone, or S3 failing too)."""
    if not key.startswith(UPLOAD_PREFIX):
        return False
    try:
        moved = quarantine.hold(key)
        if moved:
            store.delete(thumbnail_key(key, UPLOAD_PREFIX, THUMBNAIL_PREFIX))
    except Exception:
        logger.exception("quarantine failed", extra={"key": key})
        return False
    if moved:
        emit({"UploadsQuarantined": (1, "Count")})
    return moved


def _guarded(key: str, delays: Callable[[], float] | None) -> tuple[str, str]:
    """`process(key)` watched by the timeout guard (when the invocation has a deadline): the
    upload is held before the deadline, and the main path stops changing anything."""
    if delays is None or not key.startswith(UPLOAD_PREFIX):
        return process(key)
    guard = TimeoutGuard(delays(), lambda: _hold_before_timeout(key))
    guard.start()
    result = None
    try:
        result = process(key, guard.step)
    except GuardFiredError:
        pass
    finally:
        fired = guard.finish()
    return _after_guard(key, guard.held) if fired or result is None else result


def _after_guard(key: str, moved: bool) -> tuple[str, str]:
    """The guard fired (and `moved` the upload, or found it already held or gone): release it
    (its copy's event checks it once more), unless it was held too often (the record fails) or
    could not be held (it fails too)."""
    if not moved and store.source(key) is not None:
        raise GuardCouldNotHoldError(f"{key} is still in place after the timeout guard")
    held = quarantine.held(key)
    if held is None:
        return SKIPPED, "object_gone"
    if held.holds >= MAX_GUARD_HOLDS:
        raise GuardHeldTooOftenError(f"{key} was held {held.holds} times near the timeout")
    released = quarantine.release(held, keep_holds=True)
    logger.warning("finished after the timeout guard", extra={"key": key, "released": released})
    reason = "released_after_timeout_guard" if released == RELEASED else None
    return SKIPPED, reason or RELEASE_REASONS.get(released, "superseded_by_newer_upload")


def _hold_before_timeout(key: str) -> bool:
    held = _hold(key)
    logger.warning("timeout near, upload held", extra={"key": key, "quarantined": held})
    return held


def _gone(thumbnail: str, step: Step) -> tuple[str, str]:
    with step():
        store.delete(thumbnail)
    return SKIPPED, "object_gone"


def _check_header(key: str, data: bytes) -> ImageHeader:
    """The header; UnreadableImageError, logged with the reason, if it is broken or over a limit:
    the image must then not be decoded at all."""
    try:
        return read_header(data, IMAGE_LIMITS)
    except InvalidImageError as error:
        logger.info("image header unreadable", extra={"key": key, "detail": str(error)})
        raise UnreadableImageError(str(error)) from None
    except RefusedImageError as error:
        refused = error.refusal
        logger.info("image refused before decoding", extra={"key": key, "detail": refused.message})
        raise UnreadableImageError(refused.message, refused.code) from None


def _remove(key: str, thumbnail: str, reason: str) -> tuple[str, str]:
    """Remove an invalid original and the thumbnail an earlier version of it may have left."""
    store.delete(thumbnail)
    store.delete(key)
    return REMOVED, reason


def _record_key(record: object) -> tuple[str | None, str]:
    """The URL-decoded key of an "object created" record for our bucket, or None and why not."""
    if not isinstance(record, dict):
        return None, "record_not_an_object"
    event_name = record.get("eventName")
    if not isinstance(event_name, str) or not event_name.startswith("ObjectCreated:"):
        return None, "not_an_object_created_record"
    s3_part = record.get("s3")
    bucket = s3_part.get("bucket") if isinstance(s3_part, dict) else None
    if not isinstance(bucket, dict) or bucket.get("name") != BUCKET_NAME:
        return None, "not_for_this_bucket"
    obj = s3_part.get("object")
    raw_key = obj.get("key") if isinstance(obj, dict) else None
    if not isinstance(raw_key, str) or not raw_key:
        return None, "record_without_key"
    key = unquote_plus(raw_key)
    try:
        too_long = len(key.encode("utf-8")) > MAX_KEY_BYTES
    except UnicodeEncodeError:
        too_long = True
    return (None, "invalid_key") if too_long else (key, "")


def _records(event: object) -> list[object]:
    records = event.get("Records") if isinstance(event, dict) else None
    if records is None or isinstance(records, list):
        return records or []
    logger.warning("event skipped", extra={"reason": "records_not_a_list"})
    return []


def _count(outcome: str, reason: str, elapsed_ms: float) -> None:
    """The record's business metrics: a thumbnail written (and how long it took) or refused."""
    if outcome == PROCESSED and reason in ("thumbnail_written", "thumbnail_replaced"):
        emit(
            {
                "ThumbnailsWritten": (1, "Count"),
                "ThumbnailMs": (round(elapsed_ms, 1), "Milliseconds"),
            }
        )
    elif outcome == REMOVED or reason == KEPT_UNREADABLE:
        emit({"ThumbnailsRefused": (1, "Count")}, {"Reason": reason})


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Entry point: one structured log line per record; returns the count of each outcome."""
    counts = {PROCESSED: 0, SKIPPED: 0, REMOVED: 0}
    failed: list[str] = []
    request_id = getattr(context, "aws_request_id", None)
    delays = guard_delays(context)
    for record in _records(event):
        key, reason = _record_key(record)
        fields: dict[str, Any] = {"key": key, "awsRequestId": request_id}
        outcome = SKIPPED
        if key is not None:
            started = time.perf_counter()
            try:
                outcome, reason = _guarded(key, delays)
            except Exception as error:
                failed.append(key)
                held = _hold(key)
                extra = fields | {"outcome": "failed", "quarantined": held}
                logger.error("record failed", exc_info=error, extra=extra)
                continue
            _count(outcome, reason, (time.perf_counter() - started) * 1000)
        counts[outcome] += 1
        level = logging.INFO if key is not None else logging.WARNING
        logger.log(level, "record", extra=fields | {"outcome": outcome, "reason": reason})
    if failed:
        raise RecordsFailedError(f"{len(failed)} record(s) failed, retry: {', '.join(failed)}")
    return counts
