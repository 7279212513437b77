"""The `uploads` function: the HTTP API routes, against moto's S3."""

from __future__ import annotations

import base64
import json
import logging
import sys
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from botocore.exceptions import ClientError, EndpointConnectionError


def upload(api: Any, data: bytes, **fields: Any) -> dict[str, Any]:
    body = {"image": base64.b64encode(data).decode("ascii")} | fields
    response = api.call("POST", "/uploads", body=body)
    assert response.status == 201, response.body
    return response.body


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status == status, response.body
    assert response.headers["content-type"] == "application/json"
    assert response.body["error"]["code"] == code
    assert isinstance(response.body["error"]["message"], str)
    assert response.body["error"]["message"]
    assert "Traceback" not in response.raw["body"]


# --- POST /uploads ---------------------------------------------------------------------------


def test_post_json_image_stores_object_with_content_type_and_filename(
    api: Any, s3: Any, bucket: str, jpeg: bytes
) -> None:
    body = upload(api, jpeg, filename="holiday photo.jpg")

    assert body["contentType"] == "image/jpeg"
    assert body["size"] == len(jpeg)
    assert body["key"] == f"uploads/{body['id']}.jpg"
    stored = s3.get_object(Bucket=bucket, Key=body["key"])
    assert stored["Body"].read() == jpeg
    assert stored["ContentType"] == "image/jpeg"
    assert stored["Metadata"] == {"filename": "holiday photo.jpg"}


def test_post_returns_location_and_a_working_download_url(api: Any, png: bytes) -> None:
    response = api.call(
        "POST",
        "/uploads",
        body={"image": base64.b64encode(png).decode(), "contentType": "image/png"},
    )

    assert response.status == 201
    assert response.headers["location"] == f"/uploads/{response.body['id']}"
    url = urlparse(response.body["downloadUrl"])
    assert url.path.endswith(response.body["key"])
    assert parse_qs(url.query)["X-Amz-Expires"] == ["900"]
    assert requests.get(response.body["downloadUrl"], timeout=5).content == png


def test_post_raw_binary_body_is_stored_by_magic_bytes(
    api: Any, s3: Any, bucket: str, png: bytes
) -> None:
    response = api.call(
        "POST",
        "/uploads",
        body=png,
        headers={"content-type": "image/png"},
        query={"filename": "cat.png"},
    )

    assert response.status == 201, response.body
    stored = s3.get_object(Bucket=bucket, Key=response.body["key"])
    assert stored["ContentType"] == "image/png"
    assert stored["Metadata"] == {"filename": "cat.png"}
    assert response.body["key"].endswith(".png")


def test_post_aws_documentation_shaped_event_is_accepted(
    api: Any, s3: Any, bucket: str, png: bytes, events_dir: Any
) -> None:
    event = json.loads((events_dir / "apigw_v2_post_upload.json").read_text())
    event["body"] = json.dumps({"image": base64.b64encode(png).decode(), "filename": "cat.png"})

    response = api.send(event)

    assert response.status == 201
    assert s3.head_object(Bucket=bucket, Key=response.body["key"])["ContentLength"] == len(png)


def test_post_non_ascii_filename_is_stored_percent_encoded_and_read_back(
    api: Any, s3: Any, bucket: str, png: bytes
) -> None:
    body = upload(api, png, filename="../../Zürich 😀.png")

    metadata = s3.head_object(Bucket=bucket, Key=body["key"])["Metadata"]
    assert metadata["filename"].isascii()
    got = api.call("GET", "/uploads/{id}", path_params={"id": body["id"]})
    assert got.body["filename"] == "Zürich 😀.png"


def test_post_never_overwrites_an_existing_object(
    api: Any, s3: Any, bucket: str, png: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = "0" * 31 + "1"
    s3.put_object(Bucket=bucket, Key=f"uploads/{taken}.png", Body=b"existing")
    store_module = sys.modules[type(api.module.store).__module__]
    monkeypatch.setattr(store_module, "new_upload_id", lambda: taken)

    response = api.call("POST", "/uploads", body={"image": base64.b64encode(png).decode()})

    assert response.status != 201
    assert s3.get_object(Bucket=bucket, Key=f"uploads/{taken}.png")["Body"].read() == b"existing"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_json"),
        ("[" * 100_000, "invalid_json"),
        (json.dumps({"filename": "a.png"}), "invalid_image"),
        (json.dumps({"image": 12}), "invalid_image"),
        (json.dumps({"image": ""}), "invalid_image"),
        (json.dumps({"image": "not base64!"}), "invalid_base64"),
        (json.dumps({"image": "iVBORw0KGgo"}), "invalid_base64"),  # missing padding
        (json.dumps({"image": "aGVs\nbG8="}), "invalid_base64"),  # whitespace is not allowed
        (json.dumps({"image": "ÿÿÿÿ"}), "invalid_base64"),
        (json.dumps({"image": "===="}), "invalid_base64"),
        (json.dumps({"image": "AA==", "contentType": 5}), "invalid_content_type"),
    ],
)
def test_post_malformed_body_is_400(api: Any, s3: Any, body: str, code: str, bucket: str) -> None:
    response = api.call("POST", "/uploads", body=body, headers={"content-type": "application/json"})

    assert_error(response, 400, code)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_post_empty_raw_body_is_400(api: Any, png: bytes) -> None:
    response = api.call("POST", "/uploads", body=b"", headers={"content-type": "image/png"})

    assert_error(response, 400, "empty_image")


@pytest.mark.parametrize(
    "filename",
    [7, "", "a" * 256, "é" * 128, "bad\nname.png", "tab\tname.png", "nul\x00.png", "dir/", ".."],
)
def test_post_bad_filename_is_400(api: Any, filename: object, png: bytes) -> None:
    response = api.call(
        "POST", "/uploads", body={"image": base64.b64encode(png).decode(), "filename": filename}
    )

    assert_error(response, 400, "invalid_filename")


def test_post_filename_of_255_utf8_bytes_is_accepted(api: Any, png: bytes) -> None:
    body = upload(api, png, filename="a" * 251 + ".png")

    got = api.call("GET", "/uploads/{id}", path_params={"id": body["id"]})
    assert got.body["filename"] == "a" * 251 + ".png"


def test_post_exactly_max_upload_bytes_is_accepted_and_one_more_is_413(
    make_api, s3, bucket: str, png: bytes
) -> None:
    api = make_api(MAX_UPLOAD_BYTES=len(png))
    too_big = png + b"\0"

    assert upload(api, png)["size"] == len(png)
    response = api.call("POST", "/uploads", body={"image": base64.b64encode(too_big).decode()})
    raw = api.call("POST", "/uploads", body=too_big, headers={"content-type": "image/png"})

    assert_error(response, 413, "payload_too_large")
    assert_error(raw, 413, "payload_too_large")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_post_text_file_named_jpg_is_415(api: Any, s3: Any, bucket: str) -> None:
    text = b"just some text, not a picture\n"

    response = api.call(
        "POST",
        "/uploads",
        body={"image": base64.b64encode(text).decode(), "filename": "cat.jpg"},
    )

    assert_error(response, 415, "unsupported_media_type")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_post_unsupported_image_type_is_415(api: Any, make_image: Any) -> None:
    bmp = make_image("BMP")

    json_response = api.call("POST", "/uploads", body={"image": base64.b64encode(bmp).decode()})
    raw_response = api.call("POST", "/uploads", body=bmp, headers={"content-type": "image/bmp"})

    assert_error(json_response, 415, "unsupported_media_type")
    assert_error(raw_response, 415, "unsupported_media_type")


def test_post_declared_content_type_that_disagrees_with_bytes_is_415(api: Any, png: bytes) -> None:
    json_response = api.call(
        "POST",
        "/uploads",
        body={"image": base64.b64encode(png).decode(), "contentType": "image/jpeg"},
    )
    raw_response = api.call("POST", "/uploads", body=png, headers={"content-type": "image/gif"})
    unknown = api.call(
        "POST",
        "/uploads",
        body={"image": base64.b64encode(png).decode(), "contentType": "text/plain"},
    )

    assert_error(json_response, 415, "content_type_mismatch")
    assert_error(raw_response, 415, "content_type_mismatch")
    assert_error(unknown, 415, "unsupported_media_type")
    # The field is wrong, not the request's content-type (which was application/json).
    assert unknown.body["error"]["message"] == (
        "\"contentType\" must be image/jpeg, image/png, image/gif or image/webp, got 'text/plain'"
    )


def test_post_raw_body_with_non_image_content_type_is_415(api: Any, png: bytes) -> None:
    response = api.call("POST", "/uploads", body=png, headers={"content-type": "text/plain"})

    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", ["application/octet-stream", "binary/octet-stream"])
def test_post_raw_body_must_declare_its_image_type(
    api: Any, s3: Any, bucket: str, jpeg: bytes, content_type: str
) -> None:
    response = api.call("POST", "/uploads", body=jpeg, headers={"content-type": content_type})

    assert_error(response, 415, "unsupported_media_type")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_every_json_response_says_nosniff(api: Any, png: bytes) -> None:
    created = api.call("POST", "/uploads", body=png, headers={"content-type": "image/png"})
    responses = [
        created,
        api.call("GET", "/uploads"),
        api.call("GET", "/uploads/{id}", path_params={"id": created.body["id"]}),
        api.call("GET", "/uploads/{id}", path_params={"id": "f" * 32}),
        api.call("POST", "/uploads", body=png, headers={"content-type": "text/plain"}),
    ]

    assert [r.status for r in responses] == [201, 200, 200, 404, 415]
    for response in responses:
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-content-type-options"] == "nosniff"


# --- POST /uploads/presign -------------------------------------------------------------------


def decoded_policy(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(base64.b64decode(fields["policy"]))


def test_presign_signs_exact_content_type_and_size_range_for_a_fixed_key(
    api: Any, bucket: str, png: bytes
) -> None:
    response = api.call("POST", "/uploads/presign", body={"contentType": "image/png", "size": 5000})

    assert response.status == 201, response.body
    body = response.body
    assert body["key"] == f"uploads/{body['id']}.png"
    assert body["expiresIn"] == 900
    assert body["fields"]["key"] == body["key"]
    assert body["fields"]["Content-Type"] == "image/png"
    conditions = decoded_policy(body["fields"])["conditions"]
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, 5000] in conditions
    assert {"key": body["key"]} in conditions
    assert {"bucket": bucket} in conditions


def test_presigned_post_uploads_straight_to_s3(api: Any, s3: Any, bucket: str, png: bytes) -> None:
    ticket = api.call(
        "POST", "/uploads/presign", body={"contentType": "image/png", "size": len(png)}
    ).body

    # moto accepts the form but does not check the policy's conditions (asserted above).
    result = requests.post(
        ticket["url"],
        data=ticket["fields"],
        files={"file": ("cat.png", png, "image/png")},
        timeout=5,
    )

    assert result.status_code == 204
    stored = s3.get_object(Bucket=bucket, Key=ticket["key"])
    assert stored["Body"].read() == png
    assert stored["ContentType"] == "image/png"
    got = api.call("GET", "/uploads/{id}", path_params={"id": ticket["id"]})
    assert got.status == 200
    assert got.body["size"] == len(png)


def test_presigned_post_keeps_the_file_name_the_policy_pins(
    api: Any, s3: Any, bucket: str, png: bytes
) -> None:
    body = {"contentType": "image/png", "size": len(png), "filename": "Zürich 😀.png"}
    ticket = api.call("POST", "/uploads/presign", body=body).body
    field = ticket["fields"]["x-amz-meta-filename"]
    assert field.isascii()
    assert {"x-amz-meta-filename": field} in decoded_policy(ticket["fields"])["conditions"]

    result = requests.post(
        ticket["url"], data=ticket["fields"], files={"file": ("f", png, "image/png")}, timeout=5
    )

    assert result.status_code == 204
    got = api.call("GET", "/uploads/{id}", path_params={"id": ticket["id"]})
    assert got.body["filename"] == "Zürich 😀.png"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"size": 10}, 400, "invalid_content_type"),
        ({"contentType": 3, "size": 10}, 400, "invalid_content_type"),
        ({"contentType": "image/png"}, 400, "invalid_size"),
        ({"contentType": "image/png", "size": "10"}, 400, "invalid_size"),
        ({"contentType": "image/png", "size": 1.5}, 400, "invalid_size"),
        ({"contentType": "image/png", "size": True}, 400, "invalid_size"),
        ({"contentType": "image/png", "size": 0}, 400, "invalid_size"),
        ({"contentType": "image/png", "size": 52428801}, 413, "payload_too_large"),
        ({"contentType": "application/pdf", "size": 10}, 415, "unsupported_media_type"),
        ({"contentType": "image/png", "size": 10, "filename": "a\nb"}, 400, "invalid_filename"),
    ],
)
def test_presign_invalid_request_is_rejected(
    api: Any, body: dict[str, Any], status: int, code: str
) -> None:
    assert_error(api.call("POST", "/uploads/presign", body=body), status, code)


def test_presign_accepts_exactly_presign_max_bytes(api: Any) -> None:
    response = api.call(
        "POST", "/uploads/presign", body={"contentType": "image/webp", "size": 52428800}
    )

    assert response.status == 201
    assert ["content-length-range", 1, 52428800] in decoded_policy(response.body["fields"])[
        "conditions"
    ]


# --- GET /uploads ----------------------------------------------------------------------------


def test_list_returns_items_with_iso_dates_and_types(api: Any, png: bytes, jpeg: bytes) -> None:
    png_upload = upload(api, png)
    jpeg_upload = upload(api, jpeg)

    response = api.call("GET", "/uploads")

    assert response.status == 200
    items = {item["id"]: item for item in response.body["items"]}
    assert set(items) == {png_upload["id"], jpeg_upload["id"]}
    assert items[png_upload["id"]]["contentType"] == "image/png"
    assert items[jpeg_upload["id"]]["contentType"] == "image/jpeg"
    assert items[png_upload["id"]]["size"] == len(png)
    assert datetime.fromisoformat(items[png_upload["id"]]["lastModified"]).tzinfo is not None
    assert response.body["nextCursor"] is None


def test_list_pages_visit_every_upload_exactly_once(api: Any, png: bytes) -> None:
    created = {upload(api, png)["id"] for _ in range(7)}

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        response = api.call("GET", "/uploads", query=query)
        assert response.status == 200
        assert len(response.body["items"]) <= 3
        seen += [item["id"] for item in response.body["items"]]
        pages += 1
        cursor = response.body["nextCursor"]
        if cursor is None:
            break

    assert pages == 3
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))


def test_list_shows_the_newest_upload_first_across_pages(
    api: Any, png: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_module = sys.modules[type(api.module.store).__module__]
    clock = iter(range(1_700_000_000_000_000_000, 1_800_000_000_000_000_000, 5_000_000))
    monkeypatch.setattr(store_module, "time", SimpleNamespace(time_ns=lambda: next(clock)))
    created = [upload(api, png)["id"] for _ in range(5)]

    first = api.call("GET", "/uploads", query={"limit": "3"}).body
    rest = api.call("GET", "/uploads", query={"cursor": first["nextCursor"]}).body

    assert [item["id"] for item in first["items"] + rest["items"]] == created[::-1]


def test_list_ignores_thumbnails_and_foreign_keys(
    api: Any, s3: Any, bucket: str, png: bytes
) -> None:
    mine = upload(api, png)
    s3.put_object(Bucket=bucket, Key=f"thumbnails/{mine['id']}.png", Body=png)
    s3.put_object(Bucket=bucket, Key="uploads/notes.txt", Body=b"x")

    items = api.call("GET", "/uploads").body["items"]

    assert [item["key"] for item in items] == [mine["key"]]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", "²", "1,2"])
def test_list_invalid_limit_is_400(api: Any, limit: str) -> None:
    assert_error(api.call("GET", "/uploads", query={"limit": limit}), 400, "invalid_limit")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        base64.urlsafe_b64encode(b"thumbnails/x.png").decode(),
        base64.urlsafe_b64encode(b"uploads/\x00").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "A",
    ],
)
def test_list_invalid_cursor_is_400(api: Any, cursor: str) -> None:
    assert_error(api.call("GET", "/uploads", query={"cursor": cursor}), 400, "invalid_cursor")


def test_list_limit_maximum_follows_list_max_limit(make_api) -> None:
    api = make_api(LIST_MAX_LIMIT=5)

    assert api.call("GET", "/uploads", query={"limit": "5"}).status == 200
    assert_error(api.call("GET", "/uploads", query={"limit": "6"}), 400, "invalid_limit")


# --- GET /uploads/{id} -----------------------------------------------------------------------


def test_get_returns_metadata_and_download_url_without_thumbnail(api: Any, jpeg: bytes) -> None:
    created = upload(api, jpeg, filename="cat.jpg")

    response = api.call("GET", "/uploads/{id}", path_params={"id": created["id"]})

    assert response.status == 200
    body = response.body
    assert {k: body[k] for k in ("id", "key", "size", "contentType", "filename")} == {
        "id": created["id"],
        "key": created["key"],
        "size": len(jpeg),
        "contentType": "image/jpeg",
        "filename": "cat.jpg",
    }
    assert datetime.fromisoformat(body["lastModified"])
    assert requests.get(body["downloadUrl"], timeout=5).content == jpeg
    assert "thumbnailUrl" not in body


def test_get_includes_thumbnail_url_once_the_thumbnail_exists(
    api: Any, s3: Any, bucket: str, png: bytes
) -> None:
    created = upload(api, png)
    s3.put_object(Bucket=bucket, Key=f"thumbnails/{created['id']}.png", Body=b"thumb")

    body = api.call("GET", "/uploads/{id}", path_params={"id": created["id"]}).body

    assert "filename" not in body
    assert urlparse(body["thumbnailUrl"]).path.endswith(f"thumbnails/{created['id']}.png")
    assert requests.get(body["thumbnailUrl"], timeout=5).content == b"thumb"


def test_get_unknown_id_is_404(api: Any) -> None:
    response = api.call("GET", "/uploads/{id}", path_params={"id": "0" * 32})

    assert_error(response, 404, "upload_not_found")


@pytest.mark.parametrize(
    "bad_id",
    ["../x", "..", "a/b", "thumbnails/x", "%2e%2e", "A" * 32, "0" * 31, "0" * 33, "", "presign"],
)
def test_get_and_delete_reject_malformed_ids_without_calling_s3(
    api: Any, bad_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_s3(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("S3 must not be called")

    client = api.module.store.client
    for method in ("list_objects_v2", "head_object", "delete_object", "get_object"):
        monkeypatch.setattr(client, method, no_s3)

    for method in ("GET", "DELETE"):
        response = api.call(method, "/uploads/{id}", path_params={"id": bad_id})
        assert_error(response, 400, "invalid_id")


# --- DELETE /uploads/{id} --------------------------------------------------------------------


def test_delete_removes_original_and_thumbnail(api: Any, s3: Any, bucket: str, png: bytes) -> None:
    created = upload(api, png)
    other = upload(api, png)
    s3.put_object(Bucket=bucket, Key=f"thumbnails/{created['id']}.png", Body=b"thumb")

    response = api.call("DELETE", "/uploads/{id}", path_params={"id": created["id"]})

    assert response.status == 204
    assert response.raw["body"] == ""
    keys = [obj["Key"] for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [other["key"]]
    again = api.call("DELETE", "/uploads/{id}", path_params={"id": created["id"]})
    assert_error(again, 404, "upload_not_found")
    gone = api.call("GET", "/uploads/{id}", path_params={"id": created["id"]})
    assert_error(gone, 404, "upload_not_found")


def test_delete_unknown_id_is_404(api: Any) -> None:
    response = api.call("DELETE", "/uploads/{id}", path_params={"id": "f" * 32})

    assert_error(response, 404, "upload_not_found")


# --- routing, errors and logging -------------------------------------------------------------


@pytest.mark.parametrize(("method", "route"), [("PUT", "/uploads"), ("POST", "/"), ("POST", "/x")])
def test_unknown_route_is_404_json(api: Any, method: str, route: str) -> None:
    assert_error(api.call(method, route), 404, "route_not_found")


def test_event_without_route_key_is_404_json(api: Any) -> None:
    assert_error(api.send({}), 404, "route_not_found")


def test_s3_failure_is_a_generic_502_and_logged_with_traceback(
    api: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, png: bytes
) -> None:
    def failing_put(**_kwargs: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "InternalError", "Message": "secret internals"}}, "PutObject"
        )

    monkeypatch.setattr(api.module.store.client, "put_object", failing_put)

    response = api.call("POST", "/uploads", body={"image": base64.b64encode(png).decode()})

    assert_error(response, 502, "storage_unavailable")
    assert "secret internals" not in response.raw["body"]
    assert "InternalError" not in response.raw["body"]
    [record] = [r for r in caplog.records if r.name == "uploads"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.status == 502


def test_s3_unreachable_is_502(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(**_kwargs: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")

    monkeypatch.setattr(api.module.store.client, "list_objects_v2", unreachable)

    assert_error(api.call("GET", "/uploads"), 502, "storage_unavailable")


def test_unexpected_error_is_a_generic_500_without_details(
    api: Any, monkeypatch: pytest.MonkeyPatch, png: bytes
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("internal detail /var/task/handler.py")

    monkeypatch.setattr(api.module.store.client, "generate_presigned_post", broken)

    response = api.call("POST", "/uploads/presign", body={"contentType": "image/png", "size": 1})

    assert_error(response, 500, "internal_error")
    assert "internal detail" not in response.raw["body"]
