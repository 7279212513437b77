"""The `uploads` function answers every input with a 4xx, never a 5xx or an escaping exception."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest

from tests.handlers.conftest import image_bytes


def assert_error(response: Any, status: int, code: str) -> str:
    assert response.status == status, response.body
    assert response.body["error"]["code"] == code
    return response.body["error"]["message"]


# --- the two inputs that gave a 500 ----------------------------------------------------------


@pytest.mark.parametrize("limit", ["9" * 4301, "1" * 5000, "0" * 4301 + "1" + "0" * 10])
def test_list_limit_with_thousands_of_digits_is_400(api: Any, limit: str) -> None:
    # int() refuses more than 4300 digits with a ValueError.
    assert_error(api.call("GET", "/uploads", query={"limit": limit}), 400, "invalid_limit")


def test_list_limit_with_leading_zeros_is_its_value(api: Any) -> None:
    response = api.call("GET", "/uploads", query={"limit": "0" * 5000 + "5"})

    assert response.status == 200, response.body


def test_lone_surrogate_filename_in_json_is_400(api: Any, s3: Any, bucket: str, png: bytes) -> None:
    body = json.dumps({"image": base64.b64encode(png).decode(), "filename": "\ud800.png"})
    assert '"\\ud800.png"' in body  # valid JSON text: the escape is what a client sends

    response = api.call("POST", "/uploads", body=body, headers={"content-type": "application/json"})

    assert_error(response, 400, "invalid_filename")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_lone_surrogate_filename_in_query_is_400(api: Any, build_event: Any, png: bytes) -> None:
    event = build_event("POST", "/uploads", body=png, headers={"content-type": "image/png"})
    event["queryStringParameters"] = {"filename": "cat\udc80.png"}

    assert_error(api.send(event), 400, "invalid_filename")


def test_text_body_with_a_lone_surrogate_is_400(api: Any, build_event: Any) -> None:
    event = build_event("POST", "/uploads", headers={"content-type": "image/png"})
    event["body"] = "\ud800"

    assert_error(api.send(event), 400, "invalid_body")


# --- malformed events ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("requestContext", "x"),
        ("headers", ["content-type", "image/png"]),
        ("headers", {"content-type": 5}),
        ("queryStringParameters", "limit=5"),
        ("queryStringParameters", {"limit": ["5"]}),
        ("pathParameters", [1]),
        ("body", {"image": "AA=="}),
        ("body", 5),
        ("isBase64Encoded", "yes"),
        ("routeKey", ["GET /uploads"]),
        ("rawPath", 7),
    ],
)
def test_malformed_event_field_is_400_and_logged(
    api: Any, build_event: Any, caplog: pytest.LogCaptureFixture, field: str, value: Any
) -> None:
    event = build_event("GET", "/uploads")
    event[field] = value

    with caplog.at_level(logging.INFO):
        message = assert_error(api.send(event), 400, "malformed_event")

    assert field in message
    [record] = [r for r in caplog.records if r.name == "uploads"]
    assert (record.status, record.errorCode) == (400, "malformed_event")


@pytest.mark.parametrize("event", [None, [], "GET /uploads", 5])
def test_event_that_is_not_an_object_is_400(api: Any, event: Any) -> None:
    raw = api.module.handler(event, api.context)

    assert raw["statusCode"] == 400
    assert json.loads(raw["body"])["error"]["code"] == "malformed_event"


# --- raw uploads without the right content-type ----------------------------------------------


def test_raw_image_without_content_type_is_told_what_to_send(api: Any, png: bytes) -> None:
    response = api.call("POST", "/uploads", body=png)  # no content-type header

    message = assert_error(response, 415, "missing_content_type")
    assert "application/json" in message
    assert "image/png" in message


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_raw_image_with_a_wrong_content_type_is_told_what_to_send(
    api: Any, png: bytes, content_type: str
) -> None:
    response = api.call("POST", "/uploads", body=png, headers={"content-type": content_type})

    message = assert_error(response, 415, "unsupported_media_type")
    assert content_type in message
    assert "application/json" in message
    assert "image/png" in message


def test_raw_image_sent_as_json_is_told_what_to_send(api: Any, png: bytes) -> None:
    response = api.call("POST", "/uploads", body=png, headers={"content-type": "application/json"})

    message = assert_error(response, 400, "invalid_json")
    assert "image/png" in message


# --- what another site's page can send without a CORS preflight -----------------------------
# fetch(url, {mode: "no-cors", body: new Blob([json])}) sends no content-type at all, and a form or
# no-cors request may only send text/plain, application/x-www-form-urlencoded or
# multipart/form-data: none of them may store an image, or ask for a presigned POST.


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_json_upload_without_application_json_is_415(
    api: Any, build_event: Any, s3: Any, bucket: str, content_type: str | None
) -> None:
    png = image_bytes("PNG")
    event = build_event(
        "POST", "/uploads", headers={"content-type": content_type} if content_type else None
    )
    event["body"] = json.dumps({"image": base64.b64encode(png).decode()})

    response = api.send(event)

    assert_error(
        response, 415, "missing_content_type" if content_type is None else "unsupported_media_type"
    )
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/vnd.api+json"])
def test_presign_without_application_json_is_415(
    api: Any, build_event: Any, content_type: str | None
) -> None:
    event = build_event(
        "POST", "/uploads/presign", headers={"content-type": content_type} if content_type else None
    )
    event["body"] = json.dumps({"contentType": "image/png", "size": 100})

    response = api.send(event)

    assert_error(
        response, 415, "missing_content_type" if content_type is None else "unsupported_media_type"
    )
    assert "application/json" in response.body["error"]["message"]


def test_json_with_a_charset_parameter_is_json(api: Any, png: bytes) -> None:
    body = json.dumps({"image": base64.b64encode(png).decode()})

    response = api.call(
        "POST", "/uploads", body=body, headers={"content-type": "Application/JSON; charset=utf-8"}
    )

    assert response.status == 201, response.body
