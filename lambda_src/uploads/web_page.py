"""`GET /`: the upload page, assembled from `web/` and sent with a strict Content-Security-Policy.

`web/index.html` holds `{{style}}`, `{{script}}` and `{{config}}` placeholders; `app.css` and
`app.js` are inlined once per container, so the page is one response with no build step and no
extra routes, and the CSP allows exactly those two inline blocks by their SHA-256 hashes. The
settings the script needs travel in a `<script type="application/json">` data block, which a
browser never executes (so it needs no hash).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WEB_DIR = Path(__file__).resolve().parent / "web"
_PLACEHOLDER = re.compile(r"\{\{(style|script|config)\}\}")

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
}
"""Sent with the page. `no-referrer` keeps the page's URL out of requests to S3; HSTS is ignored
by browsers over plain http (local mode)."""


@dataclass(frozen=True)
class Page:
    html: str
    etag: str
    csp: str

    def response(self, if_none_match: str | None) -> dict[str, Any]:
        """The page, or 304 when the browser already has this version. `no-cache` makes browsers
        revalidate every time, so a deployment shows at once; the ETag keeps that cheap."""
        headers = {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-cache",
            "etag": self.etag,
            "content-security-policy": self.csp,
            **SECURITY_HEADERS,
        }
        if if_none_match is not None and self.etag in _etags(if_none_match):
            return {"statusCode": 304, "headers": headers, "body": "", "isBase64Encoded": False}
        return {"statusCode": 200, "headers": headers, "body": self.html, "isBase64Encoded": False}


def build_page(
    config: Mapping[str, Any], s3_origins: Iterable[str], sign_in_origins: Iterable[str] = ()
) -> Page:
    """The page with `config` for its script; `s3_origins` are where presigned URLs point,
    `sign_in_origins` where the script signs users in (Cognito's API)."""
    style = (WEB_DIR / "app.css").read_text("utf-8")
    script = (WEB_DIR / "app.js").read_text("utf-8")
    for name, text in (("app.css", style), ("app.js", script)):
        if re.search(r"</(style|script)", text, re.IGNORECASE):
            raise ValueError(f"web/{name} must not contain a closing </style> or </script> tag")
    # JSON inside HTML: escape what could end the element or start a comment.
    config_json = json.dumps(dict(config), separators=(",", ":"))
    config_json = config_json.replace("<", "\\u003c").replace(">", "\\u003e")
    parts = {"style": style, "script": script, "config": config_json}
    template = (WEB_DIR / "index.html").read_text("utf-8")
    html = _PLACEHOLDER.sub(lambda match: parts[match.group(1)], template)
    origins = " ".join(sorted(set(s3_origins)))
    connect = " ".join(sorted(set(s3_origins) | set(sign_in_origins)))
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src '{_sha256(script)}'",
            f"style-src '{_sha256(style)}'",
            f"img-src {origins}",  # thumbnails, presigned GETs
            f"connect-src 'self' {connect}",  # the API, presigned POSTs, sign-in
            "form-action 'none'",  # the script sends every form itself
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )
    etag = '"' + hashlib.sha256(f"{html}\n{csp}".encode()).hexdigest()[:32] + '"'
    return Page(html, etag, csp)


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def _etags(header: str) -> set[str]:
    """The entity tags of an `If-None-Match` header (weak ones compare equal, as for GET)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
