"""A StorageBucket's CORS rule and the check of its origins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from ._component import HTTP_ORIGIN


def check_origins(owner: str, origins: Sequence[pulumi.Input[str]]) -> None:
    """Refuse a static origin CORS would never match (outputs are checked by S3 itself)."""
    bad = [o for o in origins if isinstance(o, str) and not HTTP_ORIGIN.match(o)]
    if bad:
        raise ValueError(f"{owner}: CORS origins must look like https://host[:port]: {bad}")


def cors_rule(
    origins: list[pulumi.Input[str]],
    methods: Sequence[str],
    headers: Sequence[str],
    max_age_seconds: int,
) -> dict[str, Any]:
    """The one rule of the bucket's CORS configuration."""
    return {
        "allowed_origins": origins,
        "allowed_methods": list(methods),
        "allowed_headers": list(headers),
        "max_age_seconds": max_age_seconds,
    }
