"""Local mode's fault switch: while the file `UPLOADS_LOCAL_FAULT_FILE` names exists, the function
fails on purpose (for the failure drill in docs/operations.md and the tests of retries, dead-letter
queue and redrive).

Never on AWS: Lambda sets `AWS_LAMBDA_RUNTIME_API` in every execution environment (local mode does
not), and `PythonFunction` refuses variables starting with `UPLOADS_LOCAL_`.
"""

from __future__ import annotations

import os
from pathlib import Path

FAULT_FILE_ENV = "UPLOADS_LOCAL_FAULT_FILE"


class InjectedFaultError(RuntimeError):
    """The fault switch is on: raised out of the handler, so the invocation ends in a function
    error, as an unhandled exception does on Lambda."""


def raise_if_switched_on() -> None:
    """InjectedFaultError with the switch file's text while local mode has the switch on."""
    path = os.environ.get(FAULT_FILE_ENV)
    if not path or "AWS_LAMBDA_RUNTIME_API" in os.environ:
        return
    try:
        message = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return
    raise InjectedFaultError(message or "fault switch on")
