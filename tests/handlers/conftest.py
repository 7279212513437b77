"""Fixtures for the Lambda handlers in `lambda_src/`, run against moto's in-process S3.

Each test loads a handler module afresh (unique module name) with its environment set and inside
`mock_aws`, so its module-level boto3 client talks to moto. Everything a test changes (environment,
`sys.path`, the modules imported from `lambda_src/`) is undone afterwards.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus, urlencode

import boto3
import pytest
from moto import mock_aws
from PIL import Image

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"
EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
BUCKET = "uploads-test-bucket"
REGION = "us-east-1"
# Settings the handlers read; cleared so that the host's environment cannot leak into a test.
HANDLER_ENV = (
    "BUCKET_NAME",
    "UPLOAD_PREFIX",
    "THUMBNAIL_PREFIX",
    "MAX_UPLOAD_BYTES",
    "PRESIGN_MAX_BYTES",
    "URL_EXPIRY_SECONDS",
    "THUMBNAIL_MAX_PX",
    "LIST_MAX_LIMIT",
    "LOG_LEVEL",
    "AUTH_MODE",
    "AUTH_ISSUER",
    "AUTH_CLIENT_ID",
    "IMAGE_MAX_PIXELS",
    "IMAGE_MAX_FRAMES",
    "JPEG_MAX_SCANS",
)


@dataclass
class LambdaContext:
    """The attributes of the Lambda Python runtime's context object that handlers use."""

    function_name: str = "uploads"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:uploads"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/uploads"
    log_stream_name: str = "2024/03/12/[$LATEST]0123456789abcdef0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


def offline_aws_environment(monkeypatch: pytest.MonkeyPatch, *, session_token: bool = True) -> None:
    """Fake credentials and region for moto; the host's AWS config, profile, endpoints and the
    handlers' settings cannot leak in. IAM users' keys come without a session token."""
    for name in (
        *HANDLER_ENV, "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_COGNITO_IDP", "AWS_SESSION_TOKEN",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    if session_token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto S3 with the test bucket; fake credentials and region, host AWS config ignored."""
    offline_aws_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def lambda_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Put `lambda_src/` (for `uploads_common`) and function folders on sys.path, as in Lambda.

    Yields `add(folder)`; on teardown, forgets every module imported from `lambda_src/`.
    """
    before = set(sys.modules)
    monkeypatch.syspath_prepend(str(LAMBDA_SRC))
    yield lambda folder: monkeypatch.syspath_prepend(str(LAMBDA_SRC / folder))
    for name in set(sys.modules) - before:
        module_file = getattr(sys.modules[name], "__file__", None) or ""
        if module_file.startswith(str(LAMBDA_SRC)):
            del sys.modules[name]


@pytest.fixture
def load_function(
    s3: Any, lambda_modules: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., ModuleType]:
    """`load_function("uploads", MAX_UPLOAD_BYTES=10)`: import a fresh `<folder>/handler.py`."""

    def load(folder: str, **env: object) -> ModuleType:
        monkeypatch.setenv("BUCKET_NAME", BUCKET)
        monkeypatch.setenv("AUTH_MODE", "none")
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        lambda_modules(folder)
        return import_handler(folder)

    return load


def import_handler(folder: str) -> ModuleType:
    """Import `<folder>/handler.py` afresh under a unique module name, so that its module-level
    setup (environment, boto3 clients) runs again."""
    path = LAMBDA_SRC / folder / "handler.py"
    spec = importlib.util.spec_from_file_location(f"{folder}_handler_{uuid.uuid4().hex}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def api_event(
    method: str,
    route: str,
    *,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | str | dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, shaped as AWS sends it.

    `body`: a dict is sent as JSON, bytes as a base64-encoded binary body, a str as is.
    `claims`: the verified JWT's claims, as a JWT authorizer passes them on (with the bearer token
    in the `authorization` header, which the function never reads).
    Keys AWS leaves out when empty (query, path parameters, body) are left out here too.
    """
    path = route
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    is_base64 = isinstance(body, bytes)
    if isinstance(body, dict):
        body = json.dumps(body)
        headers = {"content-type": "application/json"} | (headers or {})
    elif isinstance(body, bytes):
        body = base64.b64encode(body).decode("ascii")
    now = time.time()
    request_id = base64.b64encode(uuid.uuid4().bytes[:10]).decode("ascii")
    all_headers = {
        "accept": "*/*",
        "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        "user-agent": "pytest",
        "x-amzn-trace-id": "Root=1-65f0c0de-0123456789abcdef01234567",
        "x-forwarded-for": "192.0.2.1",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    } | {k.lower(): v for k, v in (headers or {}).items()}
    if body is not None:
        all_headers["content-length"] = str(len(body))
    if claims is not None:
        all_headers["authorization"] = "Bearer eyJraWQiOiJ0ZXN0In0.e30.c2ln"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
            "requestId": request_id,
            "routeKey": f"{method} {route}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = path_params
    if body is not None:
        event["body"] = body
    return event


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any
    raw: dict[str, Any]


@dataclass
class Api:
    """Calls the `uploads` handler with built events and decodes the response."""

    module: ModuleType
    context: LambdaContext

    def send(self, event: dict[str, Any]) -> ApiResponse:
        raw = self.module.handler(event, self.context)
        text = raw.get("body") or ""
        return ApiResponse(
            raw["statusCode"], raw["headers"], json.loads(text) if text else None, raw
        )

    def call(self, method: str, route: str, **kwargs: Any) -> ApiResponse:
        return self.send(api_event(method, route, **kwargs))


@pytest.fixture
def make_api(
    load_function: Callable[..., ModuleType], lambda_context: LambdaContext
) -> Callable[..., Api]:
    """`make_api(MAX_UPLOAD_BYTES=10)`: the `uploads` function loaded with extra settings."""
    return lambda **env: Api(load_function("uploads", **env), lambda_context)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


def image_bytes(
    fmt: str, size: tuple[int, int] = (64, 48), *, orientation: int | None = None
) -> bytes:
    """A real image made with Pillow: fmt is JPEG, PNG, GIF or WEBP."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    if orientation is None:
        image.save(out, fmt)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation  # Orientation
        image.save(out, fmt, exif=exif)
    return out.getvalue()


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    return image_bytes


@pytest.fixture(scope="session")
def png() -> bytes:
    return image_bytes("PNG")


@pytest.fixture(scope="session")
def jpeg() -> bytes:
    return image_bytes("JPEG")


@pytest.fixture
def bucket() -> str:
    return BUCKET


@pytest.fixture
def events_dir() -> Path:
    return EVENTS_DIR


@pytest.fixture
def build_event() -> Callable[..., dict[str, Any]]:
    return api_event


def s3_event(*keys: str, bucket: str = BUCKET) -> dict[str, Any]:
    """An S3 notification with one "ObjectCreated:Put" record per key, keys URL-encoded as by S3."""
    template = json.loads((EVENTS_DIR / "s3_object_created.json").read_text())["Records"][0]
    records = []
    for key in keys:
        record = json.loads(json.dumps(template))
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        record["s3"]["object"]["key"] = quote_plus(key, safe="/")
        records.append(record)
    return {"Records": records}


@pytest.fixture
def build_s3_event() -> Callable[..., dict[str, Any]]:
    return s3_event
