"""Structured (JSON) logging that looks the same inside and outside Lambda.

In Lambda the function's log format is JSON: the runtime's handler on the root logger already turns
each record, with the fields passed in `extra`, into one JSON line. Elsewhere (a local run, a
script) `configure_logging` installs `JsonFormatter` on the root logger, with the same field names,
but only when nothing has configured logging yet.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


_LIBRARY_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3", "pyvips")
"""Third-party loggers held at WARNING unless the function logs at DEBUG. pyvips forwards every
libvips GLib message of the `VIPS` domain to its logger (`pyvips/__init__.py`,
`_log_handler_callback`), INFO included: about 14 `VIPS: ...` lines per thumbnail (loader, sizes,
shrink steps, threadpool), each a paid CloudWatch line."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the keys Lambda's own JSON format uses."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        if record.exc_info and record.exc_info[1] is not None:
            exc_type, exc, tb = record.exc_info
            entry["errorType"] = getattr(exc_type, "__name__", str(exc_type))
            entry["errorMessage"] = str(exc)
            entry["stackTrace"] = traceback.format_tb(tb)
        entry.update((k, v) for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES)
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of the call (it may be replaced)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(name: str, level: int, root: logging.Logger | None = None) -> logging.Logger:
    """The logger `name` at `level`; installs JSON output on the root logger if it has none."""
    root = root or logging.getLogger()
    # Lambda's runtime puts its own handler on the root logger. Any other handler means a host (a
    # test runner, an application) configured logging: leave that alone too.
    if not root.handlers:
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    # The SDK logs credential and endpoint discovery at INFO on every cold start, libvips its
    # every step: noise unless the function itself is being debugged.
    for library in _LIBRARY_LOGGERS:
        logging.getLogger(library).setLevel(level if level <= logging.DEBUG else logging.WARNING)
    logger = logging.getLogger(name)
    logger.setLevel(level)
    return logger
