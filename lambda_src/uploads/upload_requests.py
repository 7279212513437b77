"""Validate what clients send; every problem becomes a 400, 413 or 415 `ApiError`."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from api_http import (
    JSON,
    BadRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    json_body,
    media_type,
    query_param,
    raw_body,
    strict_b64decode,
)
from uploads_common.image_header import (
    ImageLimits,
    InvalidImageError,
    RefusedImageError,
    read_header,
)
from uploads_common.images import ImageType, detect_image_type, type_for_content_type

MAX_FILENAME_BYTES = 255
_ID = re.compile(r"[0-9a-f]{32}")
_ALLOWED = "image/jpeg, image/png, image/gif or image/webp"


@dataclass(frozen=True)
class NewUpload:
    data: bytes
    image_type: ImageType
    filename: str | None


_WHAT_TO_SEND = (
    'send {"image": "<base64>", "filename"?, "contentType"?} with content-type: '
    f"application/json, or the image itself with its own content-type ({_ALLOWED})"
)


def parse_upload(event: dict[str, Any], max_bytes: int, limits: ImageLimits) -> NewUpload:
    """`POST /uploads`: a JSON `{"image", "filename"?, "contentType"?}` or a raw image body.

    The content-type must say which (415 otherwise): a request without one, or with a type a form
    may send (text/plain, ...), is what another site's page can send without a CORS preflight."""
    media = media_type(event)
    if media == JSON:
        body = json_body(event, f": {_WHAT_TO_SEND}")
        image = body.get("image")
        if not isinstance(image, str) or not image:
            raise BadRequestError('"image" must be a non-empty base64 string', "invalid_image")
        declared = _content_type_field(body)
        if declared is not None and type_for_content_type(declared) is None:
            raise UnsupportedMediaTypeError(f'"contentType" must be {_ALLOWED}, got {declared!r}')
        filename = clean_filename(body.get("filename"))
        data = strict_b64decode(image, '"image"')
    elif not media:
        raise UnsupportedMediaTypeError(
            f"the request has no content-type: {_WHAT_TO_SEND}", "missing_content_type"
        )
    else:  # an image type, checked with the bytes below
        declared = media
        filename = clean_filename(query_param(event, "filename"))
        data = raw_body(event)
    if not data:
        raise BadRequestError("the image is empty", "empty_image")
    if len(data) > max_bytes:
        raise PayloadTooLargeError(
            f"the image is {len(data)} bytes; the limit here is {max_bytes} "
            "(use POST /uploads/presign for larger files)"
        )
    image_type = _check_type(data, declared)
    _check_header(data, limits)
    return NewUpload(data, image_type, filename)


def _check_header(data: bytes, limits: ImageLimits) -> None:
    """413/415 for what the header alone tells: too costly to decode, or broken."""
    try:
        read_header(data, limits)
    except InvalidImageError as error:
        raise UnsupportedMediaTypeError(str(error), "invalid_image") from None
    except RefusedImageError as error:
        refused = error.refusal
        status = PayloadTooLargeError if refused.too_large else UnsupportedMediaTypeError
        raise status(refused.message, refused.code) from None


def _check_type(data: bytes, declared: str | None) -> ImageType:
    detected = detect_image_type(data)
    if detected is None:
        raise UnsupportedMediaTypeError(f"the content is not an image of type {_ALLOWED}")
    if declared is not None:
        wanted = type_for_content_type(declared)
        if wanted is None:
            raise UnsupportedMediaTypeError(
                f"content type {declared!r} is not accepted: {_WHAT_TO_SEND}"
            )
        if wanted != detected:
            raise UnsupportedMediaTypeError(
                f"declared content type {wanted.content_type} but the content is "
                f"{detected.content_type}",
                "content_type_mismatch",
            )
    return detected


@dataclass(frozen=True)
class PresignRequest:
    image_type: ImageType
    size: int
    filename: str | None


def parse_presign(event: dict[str, Any], max_bytes: int) -> PresignRequest:
    """`POST /uploads/presign`: `{"contentType", "size", "filename"?}` as application/json."""
    media = media_type(event)
    if media != JSON:
        raise UnsupportedMediaTypeError(
            f"content type {media or '(none)'!r} is not accepted: send application/json",
            "missing_content_type" if not media else None,
        )
    body = json_body(event)
    declared = _content_type_field(body)
    if declared is None:
        raise BadRequestError('"contentType" is required', "invalid_content_type")
    image_type = type_for_content_type(declared)
    if image_type is None:
        raise UnsupportedMediaTypeError(f"content type must be {_ALLOWED}")
    size = body.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise BadRequestError('"size" must be a positive integer (bytes)', "invalid_size")
    if size > max_bytes:
        raise PayloadTooLargeError(f"size {size} is over the limit of {max_bytes} bytes")
    return PresignRequest(image_type, size, clean_filename(body.get("filename")))


def _content_type_field(body: dict[str, Any]) -> str | None:
    value = body.get("contentType")
    if value is not None and not isinstance(value, str):
        raise BadRequestError('"contentType" must be a string', "invalid_content_type")
    return value


def clean_filename(value: object) -> str | None:
    """The base name of a client's file name; 400 if not a string, too long or has control chars."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequestError('"filename" must be a string', "invalid_filename")
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        # JSON's "\ud800" and the like: a lone surrogate cannot be stored or encoded.
        raise BadRequestError("filename must be valid Unicode text", "invalid_filename")
    if len(value.encode("utf-8")) > MAX_FILENAME_BYTES:
        raise BadRequestError(
            f"filename must be at most {MAX_FILENAME_BYTES} bytes (UTF-8)", "invalid_filename"
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        raise BadRequestError("filename must not contain control characters", "invalid_filename")
    name = re.split(r"[/\\]", value)[-1].strip()
    if name in ("", ".", ".."):
        raise BadRequestError("filename must name a file", "invalid_filename")
    return name


def parse_id(value: str) -> str:
    """An upload id as we generate them (32 lowercase hex digits); anything else is a 400."""
    if not _ID.fullmatch(value):
        raise BadRequestError("invalid upload id", "invalid_id")
    return value


def parse_limit(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    # Checked by length before int(): it refuses more than 4300 digits with a ValueError.
    digits = value.lstrip("0")
    if not (
        value.isascii()
        and value.isdigit()
        and len(digits) <= len(str(maximum))
        and 1 <= int(digits or "0") <= maximum
    ):
        raise BadRequestError(f"limit must be an integer from 1 to {maximum}", "invalid_limit")
    return int(digits)


def encode_cursor(last_key: str) -> str:
    return base64.urlsafe_b64encode(last_key.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(value: str | None, prefix: str) -> str | None:
    """The key a page starts after; the cursor must be one we handed out (base64url of a key)."""
    if value is None:
        return None
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
        start_after = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        start_after = ""
    if (
        len(start_after) > 1024
        or not start_after.startswith(prefix)
        or not start_after.isprintable()
    ):
        raise BadRequestError("invalid cursor", "invalid_cursor")
    return start_after
