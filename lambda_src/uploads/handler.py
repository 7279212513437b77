"""`uploads`: the HTTP API (API Gateway HTTP API, payload format 2.0) for image uploads.

Routes (by `event["routeKey"]`):
    POST /uploads            store an image sent as JSON base64 or as a raw binary body
    POST /uploads/presign    a presigned POST for a large image, straight to S3
    GET /                    the upload page (web_page.py, web/)
    GET /uploads             list uploads, paginated, newest first
    GET /uploads/{id}        one upload's metadata and download (and thumbnail) URLs
    DELETE /uploads/{id}     remove an upload and its thumbnail (also while it is in quarantine)

With AUTH_MODE "cognito" or "jwt", every route works on the caller's own uploads only (see
`owners`): another owner's upload is answered 404, as if it did not exist.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from owners import AUTH_MODES, is_valid_subject, owner, page_sign_in, subject

from api_http import (
    ApiError,
    NotFoundError,
    StorageUnavailableError,
    check_event,
    empty_response,
    error_response,
    header,
    json_response,
    path_param,
    query_param,
    request_context,
)
from upload_requests import (
    decode_cursor,
    encode_cursor,
    parse_id,
    parse_limit,
    parse_presign,
    parse_upload,
)
from upload_store import Upload, UploadStore
from uploads_common.conditional_writes import enable_conditional_writes
from uploads_common.config import (
    env_choice,
    env_int,
    env_log_level,
    env_prefix,
    env_prefixes,
    env_required,
)
from uploads_common.fault_switch import raise_if_switched_on
from uploads_common.image_header import ImageLimits
from uploads_common.images import IMAGE_TYPES
from uploads_common.keys import UNREADABLE
from uploads_common.logs import configure_logging
from uploads_common.metrics import emit
from web_page import Page, build_page

# Module-level setup: read once per container.
BUCKET_NAME = env_required("BUCKET_NAME")
UPLOAD_PREFIX, THUMBNAIL_PREFIX = env_prefixes()
QUARANTINE_PREFIX = env_prefix("QUARANTINE_PREFIX", "quarantine/")
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 4 * 1024 * 1024)
PRESIGN_MAX_BYTES = env_int("PRESIGN_MAX_BYTES", 50 * 1024 * 1024, maximum=5 * 1024**3)
URL_EXPIRY_SECONDS = env_int("URL_EXPIRY_SECONDS", 900, maximum=7 * 24 * 3600)
LIST_MAX_LIMIT = env_int("LIST_MAX_LIMIT", 100, maximum=1000)
LIST_DEFAULT_LIMIT = min(20, LIST_MAX_LIMIT)
AUTH_MODE = env_choice("AUTH_MODE", AUTH_MODES)
IMAGE_LIMITS = ImageLimits.from_env()

logger = configure_logging("uploads", env_log_level())
# SigV4 for presigned URLs (SigV2 is deprecated and unavailable in newer regions).
s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
enable_conditional_writes(s3, logger)
store = UploadStore(
    s3, BUCKET_NAME, UPLOAD_PREFIX, THUMBNAIL_PREFIX, URL_EXPIRY_SECONDS, QUARANTINE_PREFIX
)

Route = Callable[[dict[str, Any], UploadStore], dict[str, Any]]
"""A route gets the request and the store of the caller's uploads."""


def _upload_json(upload: Upload) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": upload.id,
        "key": upload.key,
        "size": upload.size,
        "contentType": upload.content_type,
    }
    if upload.last_modified is not None:
        body["lastModified"] = upload.last_modified.isoformat()
    return body


def create_upload(event: dict[str, Any], store: UploadStore) -> dict[str, Any]:
    request = parse_upload(event, MAX_UPLOAD_BYTES, IMAGE_LIMITS)
    upload = store.put(request.data, request.image_type, request.filename)
    emit({"UploadsAccepted": (1, "Count"), "UploadBytes": (upload.size, "Bytes")})
    body = _upload_json(upload) | {"downloadUrl": store.download_url(upload.key)}
    return json_response(201, body, {"location": f"/uploads/{upload.id}"})


def presign_upload(event: dict[str, Any], store: UploadStore) -> dict[str, Any]:
    request = parse_presign(event, PRESIGN_MAX_BYTES)
    ticket = store.presign_post(request.image_type, request.size, request.filename)
    return json_response(201, ticket | {"expiresIn": URL_EXPIRY_SECONDS})


def list_uploads(event: dict[str, Any], store: UploadStore) -> dict[str, Any]:
    limit = parse_limit(query_param(event, "limit"), LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
    start_after = decode_cursor(query_param(event, "cursor"), store.upload_prefix)
    uploads, last_key = store.list_page(limit, start_after)
    return json_response(
        200,
        {
            "items": [_upload_json(upload) for upload in uploads],
            "nextCursor": encode_cursor(last_key) if last_key else None,
        },
    )


@functools.cache
def _page() -> Page:
    """Built on the first request for it, then kept for the container's life."""
    settings = {
        "maxUploadBytes": MAX_UPLOAD_BYTES,
        "presignMaxBytes": PRESIGN_MAX_BYTES,
        "urlExpirySeconds": URL_EXPIRY_SECONDS,
        "pageSize": min(12, LIST_MAX_LIMIT),
        "imageTypes": [image_type.content_type for image_type in IMAGE_TYPES],
    }
    sign_in, sign_in_origins = page_sign_in(AUTH_MODE, os.environ)
    return build_page(settings | {"auth": sign_in}, store.origins(), sign_in_origins)


def serve_page(event: dict[str, Any]) -> dict[str, Any]:
    return _page().response(header(event, "if-none-match"))


def _find(event: dict[str, Any], store: UploadStore, *, held_too: bool = False) -> Upload:
    """The upload the path names; with `held_too`, also one held in quarantine."""
    upload_id = parse_id(path_param(event, "id"))
    upload = store.find(upload_id)
    if upload is None and held_too:
        upload = store.find_quarantined(upload_id)
    if upload is None:
        raise NotFoundError("no upload with this id", "upload_not_found")
    return upload


def get_upload(event: dict[str, Any], store: UploadStore) -> dict[str, Any]:
    upload = _find(event, store)
    body = _upload_json(upload) | {"downloadUrl": store.download_url(upload.key)}
    if upload.filename is not None:
        body["filename"] = upload.filename
    thumbnail = store.current_thumbnail(upload)
    if thumbnail is not None and UNREADABLE in thumbnail:
        body["thumbnailError"] = {"code": thumbnail[UNREADABLE], "message": NO_THUMBNAIL}
    elif thumbnail is not None:
        body["thumbnailUrl"] = store.download_url(store.thumbnail_key(upload))
    return json_response(200, body)


NO_THUMBNAIL = "the image cannot be decoded, so it has no thumbnail; the upload itself is kept"


def delete_upload(event: dict[str, Any], store: UploadStore) -> dict[str, Any]:
    store.delete(_find(event, store, held_too=True))
    return empty_response(204)


UPLOAD_ROUTES = ("POST /uploads", "POST /uploads/presign")
"""Routes whose refusals count as refused uploads (metric `UploadsRefused`, by reason)."""
PUBLIC_ROUTES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"GET /": serve_page}
"""Routes without an owner: public even when sign-in is on."""
ROUTES: dict[str, Route] = {
    "POST /uploads": create_upload,
    "POST /uploads/presign": presign_upload,
    "GET /uploads": list_uploads,
    "GET /uploads/{id}": get_upload,
    "DELETE /uploads/{id}": delete_upload,
}


def _dispatch(
    event: dict[str, Any],
) -> tuple[dict[str, Any], ApiError | None, Exception | None]:
    """The response, the error it reports, and the unexpected exception behind that, if any."""
    error: ApiError
    failure: Exception | None = None
    try:
        key = check_event(event).get("routeKey") or ""
        if key in PUBLIC_ROUTES:
            return PUBLIC_ROUTES[key](event), None, None
        route = ROUTES.get(key)
        if route is None:
            raise NotFoundError("no such route", "route_not_found")
        caller = owner(event, AUTH_MODE)
        return route(event, store if caller is None else store.for_owner(caller)), None, None
    except ApiError as raised:
        error = raised
    except (ClientError, BotoCoreError) as raised:
        error, failure = (
            StorageUnavailableError("the storage service failed; try again later"),
            raised,
        )
    except Exception as raised:
        error, failure = ApiError("internal server error"), raised
    return error_response(error.status, error.code, error.message), error, failure


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Entry point; logs exactly one structured line per request (with the traceback on failure).

    Whatever the event, the answer is a response: a malformed one gets a 400 (`malformed_event`).
    Only local mode's fault switch makes the invocation fail instead, as an unhandled error does
    on Lambda: API Gateway then answers 500 `{"message":"Internal Server Error"}`.
    """
    raise_if_switched_on()
    started = time.perf_counter()
    response, error, failure = _dispatch(event)
    fields = _log_fields(event, request_context(event))
    fields |= {
        "status": response["statusCode"],
        "durationMs": round((time.perf_counter() - started) * 1000, 2),
        "awsRequestId": getattr(context, "aws_request_id", None),
    }
    if AUTH_MODE != "none":
        caller = subject(event)
        fields["caller"] = caller if is_valid_subject(caller, AUTH_MODE) else None
    if error is not None:
        fields["errorCode"] = error.code
        if fields["route"] in UPLOAD_ROUTES and error.status < 500:
            emit({"UploadsRefused": (1, "Count")}, {"Reason": error.code})
    logger.log(
        logging.ERROR if failure else logging.INFO, "request", exc_info=failure, extra=fields
    )
    return response


def _log_fields(event: object, request: dict[str, Any]) -> dict[str, Any]:
    """What identifies the request in the log, each field only if it has a plain value."""
    http = request.get("http")
    found = {
        "method": http.get("method") if isinstance(http, dict) else None,
        "route": event.get("routeKey") if isinstance(event, dict) else None,
        "path": event.get("rawPath") if isinstance(event, dict) else None,
        "apiRequestId": request.get("requestId"),
    }
    return {k: v if isinstance(v, str | None) else repr(v)[:200] for k, v in found.items()}
