"""S3 conditional requests (`IfNoneMatch="*"`, `IfMatch=<etag>`) with any botocore.

S3 honours `If-None-Match: *` on PutObject since August 2024 and `If-Match` since November 2024,
both on CopyObject since 2025 ("Amazon S3 adds conditional write functionality to copy
operations"), and `If-Match` on DeleteObject since September 2025 (conditional-deletes.html);
botocore accepts them as parameters only from those releases on. Lambda's Python runtimes bundle
their own boto3 and botocore, whose version AWS documents as depending on the runtime version and
the Region (it publishes no fixed version per runtime), and the packaging does not ship one. So a
function cannot count on the parameters: `enable_conditional_writes` checks the client's model
and, when a parameter is missing, sends it as the HTTP header itself, the way botocore does.
"""

from __future__ import annotations

import logging
from typing import Any

_HEADERS = {"IfNoneMatch": "If-None-Match", "IfMatch": "If-Match"}
_OPERATIONS = {
    "PutObject": ("IfNoneMatch", "IfMatch"),
    "CopyObject": ("IfNoneMatch", "IfMatch"),
    "DeleteObject": ("IfMatch",),
}
_CONTEXT_KEY = "uploads_common_conditional_headers"


def enable_conditional_writes(client: Any, logger: logging.Logger) -> list[str]:
    """Let `put_object`, `copy_object` and `delete_object` take their conditions whatever the
    client's botocore.

    Returns the `Operation.Parameter`s its model lacked (now sent as headers, and logged once);
    empty when none was missing.
    """
    missing = []
    for operation, names in _OPERATIONS.items():
        members = client.meta.service_model.operation_model(operation).input_shape.members
        lacking = [name for name in names if name not in members]
        if lacking:
            # Before validation: take them out of the parameters. Before signing: add the headers.
            client.meta.events.register(f"before-parameter-build.s3.{operation}", _take_parameters)
            client.meta.events.register(f"before-call.s3.{operation}", _add_headers)
            missing += [f"{operation}.{name}" for name in lacking]
    if missing:
        logger.info("this botocore lacks %s: sent as HTTP headers", ", ".join(missing))
    return missing


def _take_parameters(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    headers = {header: str(params.pop(name)) for name, header in _HEADERS.items() if name in params}
    context[_CONTEXT_KEY] = headers


def _add_headers(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    params["headers"].update(context.get(_CONTEXT_KEY, {}))
