"""`GET /` on the `uploads` function: the page, its Content-Security-Policy and its headers."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest


class _Blocks(HTMLParser):
    """The text of each <script>/<style> element, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[str, dict[str, str | None], str]] = []
        self._open: tuple[str, dict[str, str | None]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._open = (tag, dict(attrs))
            self.blocks.append((tag, dict(attrs), ""))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            tag, attrs, text = self.blocks[-1]
            self.blocks[-1] = (tag, attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._open = None


def csp_directives(response: dict[str, Any]) -> dict[str, list[str]]:
    policy = response["headers"]["content-security-policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture
def page(api: Any, build_event: Any) -> dict[str, Any]:
    return api.module.handler(build_event("GET", "/"), api.context)


def test_page_is_html_with_security_and_cache_headers(page: dict[str, Any]) -> None:
    headers = page["headers"]
    assert page["statusCode"] == 200
    assert page["isBase64Encoded"] is False
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', headers["etag"])
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert page["body"].startswith("<!doctype html>")
    assert "{{" not in page["body"]


def test_csp_allows_exactly_the_served_script_and_style(page: dict[str, Any]) -> None:
    parser = _Blocks()
    parser.feed(page["body"])
    executable = [text for tag, attrs, text in parser.blocks if tag == "script" and not attrs]
    styles = [text for tag, _, text in parser.blocks if tag == "style"]
    csp = csp_directives(page)

    assert len(executable) == 1
    assert len(styles) == 1
    assert csp["script-src"] == [sha256(executable[0])]
    assert csp["style-src"] == [sha256(styles[0])]
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'none'"]
    assert "unsafe-inline" not in page["headers"]["content-security-policy"]


def test_csp_allows_self_and_the_buckets_s3_origin_only(page: dict[str, Any], bucket: str) -> None:
    csp = csp_directives(page)
    s3_origins = {f"https://{bucket}.s3.amazonaws.com"}

    assert set(csp["img-src"]) == s3_origins
    assert set(csp["connect-src"]) == {"'self'"} | s3_origins


def test_csp_follows_aws_endpoint_url_in_local_mode(
    make_api: Any, build_event: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5123")
    api = make_api()
    csp = csp_directives(api.module.handler(build_event("GET", "/"), api.context))

    assert csp["img-src"] == ["http://127.0.0.1:5123"]
    assert csp["connect-src"] == ["'self'", "http://127.0.0.1:5123"]


def test_page_config_carries_the_upload_limits(make_api: Any, build_event: Any) -> None:
    api = make_api(MAX_UPLOAD_BYTES=1000, PRESIGN_MAX_BYTES=5000, URL_EXPIRY_SECONDS=60)
    parser = _Blocks()
    parser.feed(api.module.handler(build_event("GET", "/"), api.context)["body"])
    [config] = [text for tag, attrs, text in parser.blocks if attrs.get("id") == "page-config"]

    assert json.loads(config) == {
        "maxUploadBytes": 1000,
        "presignMaxBytes": 5000,
        "urlExpirySeconds": 60,
        "pageSize": 12,
        "imageTypes": ["image/jpeg", "image/png", "image/gif", "image/webp"],
        "auth": {"mode": "none"},
    }


def page_config(api: Any, build_event: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    response = api.module.handler(build_event("GET", "/"), api.context)
    parser = _Blocks()
    parser.feed(response["body"])
    [config] = [text for tag, attrs, text in parser.blocks if attrs.get("id") == "page-config"]
    return json.loads(config), csp_directives(response)


def test_with_cognito_the_page_signs_in_at_the_pools_endpoint(
    make_api: Any, build_event: Any, bucket: str
) -> None:
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example"
    api = make_api(AUTH_MODE="cognito", AUTH_ISSUER=issuer, AUTH_CLIENT_ID="client123")

    config, csp = page_config(api, build_event)

    endpoint = "https://cognito-idp.eu-west-1.amazonaws.com"
    assert config["auth"] == {"mode": "cognito", "clientId": "client123", "endpoint": endpoint}
    assert endpoint in csp["connect-src"]
    assert endpoint not in csp["img-src"]


def test_in_local_mode_the_page_signs_in_at_the_emulated_endpoint(
    make_api: Any, build_event: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDP", "http://127.0.0.1:5124")
    issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
    api = make_api(AUTH_MODE="cognito", AUTH_ISSUER=issuer, AUTH_CLIENT_ID="client123")

    config, csp = page_config(api, build_event)

    assert config["auth"]["endpoint"] == "http://127.0.0.1:5124"
    assert "http://127.0.0.1:5124" in csp["connect-src"]


def test_with_an_external_issuer_the_page_has_no_sign_in(make_api: Any, build_event: Any) -> None:
    api = make_api(AUTH_MODE="jwt", AUTH_ISSUER="https://id.example.com")

    config, csp = page_config(api, build_event)

    assert config["auth"] == {"mode": "jwt"}
    assert "https://id.example.com" not in csp["connect-src"]


@pytest.mark.parametrize("sent", ["{etag}", 'W/{etag}, "other"'])
def test_matching_if_none_match_is_304_without_body(
    api: Any, page: dict[str, Any], build_event: Any, sent: str
) -> None:
    etag = page["headers"]["etag"]
    event = build_event("GET", "/", headers={"if-none-match": sent.format(etag=etag)})
    response = api.module.handler(event, api.context)

    assert response["statusCode"] == 304
    assert response["body"] == ""
    assert response["headers"]["etag"] == etag


def test_stale_if_none_match_gets_the_page(api: Any, build_event: Any) -> None:
    event = build_event("GET", "/", headers={"if-none-match": '"0123"'})
    assert api.module.handler(event, api.context)["statusCode"] == 200


def test_a_closing_tag_in_the_script_is_refused(
    api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    web_page = sys.modules["web_page"]
    for name in ("index.html", "app.css"):
        (tmp_path / name).write_text((web_page.WEB_DIR / name).read_text())
    (tmp_path / "app.js").write_text("const x = '</script><script>alert(1)';")
    monkeypatch.setattr(web_page, "WEB_DIR", tmp_path)

    with pytest.raises(ValueError, match="closing"):
        web_page.build_page({}, ["https://b.s3.amazonaws.com"])
