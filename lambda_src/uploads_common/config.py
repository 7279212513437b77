"""Read settings from environment variables once, at import, with clear errors."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Lambda's own level names (its `application_log_level`) mapped to the stdlib's.
_LAMBDA_LEVELS = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}


class ConfigError(RuntimeError):
    """An environment variable is missing or has a bad value; the message names it."""


def _get(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def env_required(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A required, non-empty string."""
    value = _get(name, environ)
    if value is None:
        raise ConfigError(f"environment variable {name} is required and must not be empty")
    return value


def env_int(
    name: str,
    default: int,
    *,
    minimum: int = 1,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """An integer in [minimum, maximum]; `default` when unset."""
    raw = _get(name, environ)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise ConfigError(
            f"environment variable {name} must be at least {minimum}{upper}, got {value}"
        )
    return value


def env_choice(
    name: str, allowed: tuple[str, ...], environ: Mapping[str, str] | None = None
) -> str:
    """A required value out of `allowed`: no default, so that a function deployed without the
    setting fails loudly instead of guessing (used for AUTH_MODE)."""
    value = _get(name, environ)
    if value not in allowed:
        raise ConfigError(
            f"environment variable {name} must be one of {', '.join(allowed)}, got {value!r}"
        )
    return value


def env_prefix(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """An S3 key prefix such as `uploads/`: not empty, no leading `/`, ends with `/`."""
    value = _get(name, environ) or default
    if value.startswith("/") or not value.endswith("/") or ".." in value.split("/"):
        raise ConfigError(
            f"environment variable {name} must be a key prefix like 'uploads/' "
            f"(no leading '/', ends with '/'), got {value!r}"
        )
    return value


def env_prefixes(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """`(UPLOAD_PREFIX, THUMBNAIL_PREFIX)`; they must not overlap, so thumbnails never retrigger."""
    uploads = env_prefix("UPLOAD_PREFIX", "uploads/", environ)
    thumbnails = env_prefix("THUMBNAIL_PREFIX", "thumbnails/", environ)
    if uploads.startswith(thumbnails) or thumbnails.startswith(uploads):
        raise ConfigError(
            f"environment variables UPLOAD_PREFIX ({uploads!r}) and THUMBNAIL_PREFIX "
            f"({thumbnails!r}) must not overlap"
        )
    return uploads, thumbnails


def env_log_level(name: str = "LOG_LEVEL", environ: Mapping[str, str] | None = None) -> int:
    """A stdlib or Lambda logging level name (case-insensitive); INFO when unset."""
    raw = (_get(name, environ) or "INFO").upper()
    raw = _LAMBDA_LEVELS.get(raw, raw)
    if raw not in LOG_LEVELS:
        allowed = ", ".join((*LOG_LEVELS, *_LAMBDA_LEVELS))
        raise ConfigError(f"environment variable {name} must be one of {allowed}")
    return logging.getLevelNamesMapping()[raw]
