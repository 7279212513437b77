"""The Lambda runtime loop of one local function worker (runs in its own interpreter).

Started by `local.functions` as `python -I -S _bootstrap.py <result fd>`: no site-packages, so the
function sees only its task root (`LAMBDA_TASK_ROOT`, the unpacked archive) and the runtime folder
(`LAMBDA_RUNTIME_DIR`: boto3 and the host builds of the archive's native packages), as on Lambda.
It imports the handler once (the init phase), then reads one invocation per line on stdin and
answers each on the result pipe. Uses the standard library only.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import Any

_request_id = ""
END_OF_INVOCATION = "\x1elocal-mode: end of invocation\x1e"
"""Written to stdout after each invocation, so the server can log its output in order."""


class LambdaContext:
    """The context object Lambda's Python runtime passes to a handler."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_arn: str) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.invoked_function_arn = invoked_arn
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class _JsonFormatter(logging.Formatter):
    """Lambda's JSON log format: timestamp, level, message, logger, requestId, extras.

    This stands in for the runtime's own formatter, so it cannot reuse the functions' code
    (`uploads_common.logs` mirrors the same format for runs outside Lambda)."""

    _standard = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": _request_id,
        }
        if record.exc_info and record.exc_info[1] is not None:
            entry.update(_error(record.exc_info[1]))
        entry.update((k, v) for k, v in vars(record).items() if k not in self._standard)
        return json.dumps(entry, default=str)


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO"))


def _load_handler() -> Any:
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, function_name)


def _log_error(exc: BaseException, kind: str) -> dict[str, Any]:
    """Log an uncaught error the way Lambda's runtime does (one JSON line), return its record."""
    error = _error(exc)
    line = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": "ERROR",
        "message": f"[ERROR] {kind}: {error['errorType']}: {error['errorMessage']}",
        **error,
        "requestId": _request_id,
    }
    print(json.dumps(line), flush=True)
    return error


def main() -> int:
    global _request_id  # noqa: PLW0603 - the log formatter reads the current invocation's id
    results = os.fdopen(int(sys.argv[1]), "w", encoding="utf-8", buffering=1)
    sys.path[:0] = [os.environ["LAMBDA_TASK_ROOT"], os.environ["LAMBDA_RUNTIME_DIR"]]
    os.chdir(os.environ["LAMBDA_TASK_ROOT"])
    _configure_logging()
    try:
        handler = _load_handler()
    except Exception as exc:  # the init error is the answer to every invocation
        results.write(json.dumps({"init": False, **_log_error(exc, "Runtime.ImportModuleError")}))
        results.write("\n")
        return 1
    results.write(json.dumps({"init": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        _request_id = request["requestId"]
        context = LambdaContext(_request_id, request["deadlineMs"], request["invokedArn"])
        try:
            payload = handler(request["event"], context)
        except Exception as exc:
            answer = {"ok": False, **_log_error(exc, "Unhandled")}
        else:
            try:
                answer = {"ok": True, "payload": json.dumps(payload)}
            except (TypeError, ValueError) as exc:
                answer = {"ok": False, **_log_error(exc, "Runtime.MarshalError")}
        sys.stderr.flush()
        print(END_OF_INVOCATION, flush=True)  # the server logs what came before, then answers
        results.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
