"""HTTP plumbing for API Gateway HTTP API (payload format 2.0): errors, request parts, responses."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class ApiError(Exception):
    """An error the client caused (or may see); rendered as `{"error": {"code", "message"}}`."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequestError(ApiError):
    status = 400
    code = "bad_request"


class NotFoundError(ApiError):
    status = 404
    code = "not_found"


class PayloadTooLargeError(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(ApiError):
    status = 415
    code = "unsupported_media_type"


class StorageUnavailableError(ApiError):
    status = 502
    code = "storage_unavailable"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        # Responses carry presigned URLs: never cache them in between. nosniff: a browser must
        # never read one as anything but JSON (a filename in it is text, never markup).
        "headers": {
            "content-type": JSON,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        }
        | (headers or {}),
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def empty_response(status: int = 204) -> dict[str, Any]:
    return {"statusCode": status, "headers": {}, "body": "", "isBase64Encoded": False}


def error_response(status: int, code: str, message: str) -> dict[str, Any]:
    return json_response(status, {"error": {"code": code, "message": message}})


# The API Gateway HTTP API (payload 2.0) event keys we read, and the JSON types they may have.
_EVENT_SHAPE: dict[str, tuple[type, ...]] = {
    "routeKey": (str,),
    "rawPath": (str,),
    "headers": (dict,),
    "queryStringParameters": (dict,),
    "pathParameters": (dict,),
    "body": (str,),
    "isBase64Encoded": (bool,),
    "requestContext": (dict,),
}
_STRING_MAPS = ("headers", "queryStringParameters", "pathParameters")


def check_event(event: object) -> dict[str, Any]:
    """The event, if it has the shape API Gateway sends (keys may be absent); else a 400.

    API Gateway never sends anything else, so this only guards against a misconfigured
    integration or a hand-made test event, but then with a clear answer instead of a crash.
    """
    if not isinstance(event, dict):
        raise BadRequestError("the event must be a JSON object", "malformed_event")
    for key, types in _EVENT_SHAPE.items():
        value = event.get(key)
        if value is not None and not isinstance(value, types):
            raise BadRequestError(
                f"event field {key} must be a {types[0].__name__}", "malformed_event"
            )
    for key in _STRING_MAPS:
        for name, value in (event.get(key) or {}).items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise BadRequestError(
                    f"event field {key} must map strings to strings", "malformed_event"
                )
    return event


def request_context(event: object) -> dict[str, Any]:
    """`requestContext` and its `http` part, as far as they are objects (for logging)."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    return context if isinstance(context, dict) else {}


def header(event: dict[str, Any], name: str) -> str | None:
    """A request header (API Gateway lowercases names; compare case-insensitively anyway)."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return value
    return None


def media_type(event: dict[str, Any]) -> str:
    """The request's content-type without parameters, lowercased; "" when absent."""
    return (header(event, "content-type") or "").split(";", 1)[0].strip().lower()


def query_param(event: dict[str, Any], name: str) -> str | None:
    return (event.get("queryStringParameters") or {}).get(name)


def path_param(event: dict[str, Any], name: str) -> str:
    return (event.get("pathParameters") or {}).get(name) or ""


def strict_b64decode(value: str, what: str) -> bytes:
    """Decode standard base64, rejecting any character outside the alphabet or bad padding."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError(f"{what} is not valid base64", "invalid_base64") from None


def raw_body(event: dict[str, Any]) -> bytes:
    """The request body as bytes (API Gateway base64-encodes binary bodies)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return strict_b64decode(body, "body")
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not text any client could have sent
        raise BadRequestError("the body is not valid UTF-8 text", "invalid_body") from None


def parse_json_object(data: bytes) -> dict[str, Any] | None:
    """`data` parsed as a JSON object, or None if it is not one."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def json_body(event: dict[str, Any], hint: str = "") -> dict[str, Any]:
    """The body parsed as a JSON object, or a 400 (whose message ends with `hint`)."""
    data = parse_json_object(raw_body(event))
    if data is None:
        raise BadRequestError(f"body must be a JSON object{hint}", "invalid_json")
    return data


JSON = "application/json"
"""The only content-type a JSON request body may have."""
