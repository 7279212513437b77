"""CORS headers on the emulated S3's actual responses, not only on preflights, as S3 sends them.

moto's S3 answers a preflight (OPTIONS) from the bucket's CORS rules but adds nothing to the
response of the request that follows, once its server's global allow-everything CORS is off. A
browser then keeps that response from the page: the web page's presigned POST of a large file
fails although S3 would accept it. This WSGI middleware adds `Access-Control-Allow-Origin` (and
`Vary: Origin`, exposed headers) when one of the bucket's rules allows the request's origin and
method, as S3 does.

Reference: S3 API Reference "PutBucketCors" (S3 uses the first CORSRule whose AllowedOrigin and
AllowedMethod match the request).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

Rule = Mapping[str, Any]
"""A CORS rule as S3's API spells it (`AllowedOrigins`, `AllowedMethods`, `ExposeHeaders`)."""


def matching_rule(rules: Sequence[Rule], origin: str, method: str) -> Rule | None:
    """The first rule that allows `origin` (`*` wildcards, as S3 allows) and `method`."""
    for rule in rules:
        if method in rule.get("AllowedMethods", ()) and any(
            fnmatchcase(origin, pattern) for pattern in rule.get("AllowedOrigins", ())
        ):
            return rule
    return None


class ActualRequestCors:
    """Wraps moto's WSGI app; `rules` maps a bucket name to its CORS rules (path-style URLs)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], rules: Mapping[str, Sequence[Rule]]):
        self.app = app
        self.rules = rules

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        origin = environ.get("HTTP_ORIGIN")
        method = environ.get("REQUEST_METHOD", "")
        bucket = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
        rule = None
        if origin and method != "OPTIONS":
            rule = matching_rule(self.rules.get(bucket, ()), origin, method)
        if rule is None:
            return self.app(environ, start_response)
        added = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if rule.get("ExposeHeaders"):
            added.append(("Access-Control-Expose-Headers", ", ".join(rule["ExposeHeaders"])))

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept + added, exc_info)

        return self.app(environ, start)
