"""Run inside the target's python3.13 by scripts/run_on_target.py, with an unzipped archive as
the task root and the function's environment: import the handler, exercise it, print one JSON
line. Standard library only (plus what the archive and the runtime's boto3 bring).

    python3.13 target_probe.py uploads HANDLER
    python3.13 target_probe.py on_upload HANDLER '{"keys": [...], "event_key": "..."}'
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from typing import Any


class Context:
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    function_name = "probe"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def api_event(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event, as API Gateway sends it."""
    headers = {"accept": "*/*", "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "probe"},
            "requestId": "probe",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }  # fmt: skip
    if body is not None:
        event["body"] = json.dumps(body)
        headers["content-type"] = "application/json"
    return event


def uploads(handler: Any) -> dict[str, Any]:
    page = handler(api_event("GET", "/"), Context())
    ticket = handler(
        api_event("POST", "/uploads/presign", {"contentType": "image/png", "size": 5000}),
        Context(),
    )
    return {
        "page": {
            "status": page["statusCode"],
            "type": page.get("headers", {}).get("content-type", ""),
            "html": "<html" in (page.get("body") or "").lower(),
        },
        "presign": {
            "status": ticket["statusCode"],
            "keys": sorted(json.loads(ticket.get("body") or "{}")),
        },
    }


def on_upload(module: Any, handler: Any, spec: dict[str, Any]) -> dict[str, Any]:
    outcomes = {key: list(module.process(key)) for key in spec["keys"]}
    record = {
        "eventName": "ObjectCreated:Post",
        "s3": {"bucket": {"name": module.BUCKET_NAME}, "object": {"key": spec["event_key"]}},
    }
    counts = handler({"Records": [record]}, Context())
    return {"outcomes": outcomes, "counts": counts}


def main() -> None:
    mode, spec = sys.argv[1], sys.argv[2]
    module_name, _, function = spec.rpartition(".")
    started = time.perf_counter()
    module = importlib.import_module(module_name)
    handler = getattr(module, function)
    result: dict[str, Any] = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "import_seconds": round(time.perf_counter() - started, 2),
    }
    if mode == "uploads":
        result |= uploads(handler)
    elif mode == "on_upload":
        result |= on_upload(module, handler, json.loads(sys.argv[3]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
