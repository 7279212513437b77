"""Shared handler code: type detection, settings from the environment, structured logging, and
both functions working together on one bucket."""

from __future__ import annotations

import base64
import importlib
import json
import logging
from typing import Any

import pytest


@pytest.fixture
def common(lambda_modules: Any) -> Any:
    """The `uploads_common` package, imported as the functions import it at runtime."""
    images = importlib.import_module("uploads_common.images")
    logs = importlib.import_module("uploads_common.logs")
    config = importlib.import_module("uploads_common.config")
    return type("Common", (), {"images": images, "logs": logs, "config": config})


@pytest.mark.parametrize(
    ("fmt", "content_type", "ext"),
    [
        ("JPEG", "image/jpeg", "jpg"),
        ("PNG", "image/png", "png"),
        ("GIF", "image/gif", "gif"),
        ("WEBP", "image/webp", "webp"),
    ],
)
def test_magic_bytes_identify_the_four_allowed_types(
    common, make_image, fmt, content_type, ext
) -> None:
    detected = common.images.detect_image_type(make_image(fmt))

    assert (detected.content_type, detected.ext) == (content_type, ext)


@pytest.mark.parametrize(
    "data",
    [b"", b"GIF8", b"RIFF\0\0\0\0WAVEfmt ", b"%PDF-1.7", b"<svg xmlns='...'/>", b"BM\0\0"],
)
def test_magic_bytes_reject_everything_else(common, data: bytes) -> None:
    assert common.images.detect_image_type(data) is None


# --- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "name", "value"),
    [
        ("uploads", "MAX_UPLOAD_BYTES", "four megabytes"),
        ("uploads", "MAX_UPLOAD_BYTES", "0"),
        ("uploads", "PRESIGN_MAX_BYTES", "-5"),
        ("uploads", "URL_EXPIRY_SECONDS", "604801"),
        ("uploads", "LIST_MAX_LIMIT", "1.5"),
        ("uploads", "UPLOAD_PREFIX", "/uploads/"),
        ("uploads", "LOG_LEVEL", "LOUD"),
        ("on_upload", "THUMBNAIL_MAX_PX", "big"),
        ("on_upload", "THUMBNAIL_PREFIX", "uploads/thumbs/"),
    ],
)
def test_bad_setting_fails_at_import_naming_the_variable(
    load_function, function: str, name: str, value: str
) -> None:
    with pytest.raises(RuntimeError, match=name):
        load_function(function, **{name: value})


@pytest.mark.parametrize("function", ["uploads", "on_upload"])
def test_bucket_name_is_required(load_function, function: str) -> None:
    with pytest.raises(RuntimeError, match="BUCKET_NAME"):
        load_function(function, BUCKET_NAME="  ")


def test_settings_have_documented_defaults(load_function) -> None:
    uploads = load_function("uploads")
    on_upload = load_function("on_upload")

    assert (uploads.UPLOAD_PREFIX, uploads.THUMBNAIL_PREFIX) == ("uploads/", "thumbnails/")
    assert uploads.MAX_UPLOAD_BYTES == 4194304
    assert uploads.PRESIGN_MAX_BYTES == 52428800
    assert uploads.URL_EXPIRY_SECONDS == 900
    assert (uploads.LIST_MAX_LIMIT, uploads.LIST_DEFAULT_LIMIT) == (100, 20)
    assert uploads.logger.level == logging.INFO
    assert on_upload.THUMBNAIL_MAX_PX == 256
    assert on_upload.UPLOAD_PREFIX == "uploads/"


def test_custom_prefixes_are_used_for_keys(make_api, png: bytes, s3, bucket: str) -> None:
    api = make_api(UPLOAD_PREFIX="in/", THUMBNAIL_PREFIX="small/")

    created = api.call("POST", "/uploads", body={"image": base64.b64encode(png).decode()}).body

    assert created["key"] == f"in/{created['id']}.png"
    assert s3.head_object(Bucket=bucket, Key=created["key"])["ContentType"] == "image/png"


# --- logging ---------------------------------------------------------------------------------


def request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "uploads" and r.getMessage() == "request"]


def test_each_request_logs_one_structured_json_line(api, caplog, common, lambda_context) -> None:
    response = api.call("GET", "/uploads/{id}", path_params={"id": "0" * 32})

    [record] = request_records(caplog)
    line = json.loads(common.logs.JsonFormatter().format(record))
    assert response.status == 404
    assert line["message"] == "request"
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["route"] == "GET /uploads/{id}"
    assert line["path"] == f"/uploads/{'0' * 32}"
    assert line["status"] == 404
    assert line["errorCode"] == "upload_not_found"
    assert line["awsRequestId"] == lambda_context.aws_request_id
    assert line["apiRequestId"]
    assert isinstance(line["durationMs"], float)


def test_unexpected_error_logs_one_line_with_the_traceback(
    api, caplog, common, monkeypatch
) -> None:
    def boom(**_kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(api.module.store.client, "list_objects_v2", boom)

    assert api.call("GET", "/uploads").status == 500
    [record] = request_records(caplog)
    line = json.loads(common.logs.JsonFormatter().format(record))
    assert line["level"] == "ERROR"
    assert line["errorType"] == "RuntimeError"
    assert line["errorMessage"] == "disk on fire"
    assert any("boom" in frame for frame in line["stackTrace"])


def test_outside_lambda_log_lines_are_json_on_stderr(load_function, lambda_context, capsys) -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()  # as in a plain `python` process: nothing configured logging
    try:
        module = load_function("uploads")
        module.handler({"routeKey": "GET /nope", "rawPath": "/nope"}, lambda_context)
    finally:
        root.handlers[:] = saved

    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert (line["route"], line["status"]) == ("GET /nope", 404)


def test_logging_is_left_alone_when_the_host_configured_it(common) -> None:
    root = logging.Logger("fake-root")
    handler = logging.NullHandler()
    root.addHandler(handler)

    common.logs.configure_logging("uploads", logging.INFO, root=root)

    assert root.handlers == [handler]


@pytest.mark.parametrize(
    ("level", "sdk_level"), [(logging.INFO, logging.WARNING), (logging.DEBUG, logging.DEBUG)]
)
def test_sdk_chatter_is_logged_only_when_debugging(
    common, monkeypatch: pytest.MonkeyPatch, level: int, sdk_level: int
) -> None:
    # Lambda sets the root logger to the function's application log level.
    monkeypatch.setattr(logging.getLogger(), "level", level)
    for library in ("boto3", "botocore", "urllib3"):
        monkeypatch.setattr(logging.getLogger(library), "level", logging.NOTSET)

    common.logs.configure_logging("uploads", level, root=logging.Logger("fake-root"))

    assert logging.getLogger("botocore.credentials").getEffectiveLevel() == sdk_level
    assert logging.getLogger("urllib3").level == sdk_level


# --- both functions on one bucket ------------------------------------------------------------


def test_upload_thumbnail_get_and_delete_end_to_end(
    api, load_function, build_s3_event, make_image, s3
) -> None:
    on_upload = load_function("on_upload")
    created = api.call(
        "POST",
        "/uploads",
        body=make_image("JPEG", (800, 600)),
        headers={"content-type": "image/jpeg"},
    ).body

    assert on_upload.handler(build_s3_event(created["key"]), api.context)["processed"] == 1
    got = api.call("GET", "/uploads/{id}", path_params={"id": created["id"]}).body
    assert got["thumbnailUrl"]
    assert api.call("DELETE", "/uploads/{id}", path_params={"id": created["id"]}).status == 204
    assert s3.list_objects_v2(Bucket=api.module.BUCKET_NAME)["KeyCount"] == 0


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("WARN", logging.WARNING),
        ("FATAL", logging.CRITICAL),
        ("TRACE", logging.DEBUG),
        ("warning", logging.WARNING),
        (None, logging.INFO),
    ],
)
def test_log_level_accepts_lambda_and_stdlib_names(common: Any, name: str | None, level: int):
    """PythonFunction's `log_level` uses Lambda's names; the handlers must accept them."""
    environ = {} if name is None else {"LOG_LEVEL": name}
    assert common.config.env_log_level(environ=environ) == level


def test_log_level_unknown_name_names_the_variable(common: Any):
    with pytest.raises(common.config.ConfigError, match="LOG_LEVEL must be one of DEBUG"):
        common.config.env_log_level(environ={"LOG_LEVEL": "LOUD"})
