"""Business metrics as CloudWatch Embedded Metric Format (EMF) log lines: no API call, no latency.

One JSON object per line on stdout; CloudWatch Logs extracts the metrics from it. The structure is
the EMF specification's: a root `_aws` member with `Timestamp` (ms since the epoch) and
`CloudWatchMetrics`, a list of directives, each with a `Namespace`, `Dimensions` (a list of
dimension sets, each a list of names of root string members) and `Metrics` (`Name`, `Unit`); the
root then holds each dimension's value and each metric's value. Written here rather than taken
from aws-lambda-powertools, whose `Metrics` import costs more than this whole module (see
`make bench`). Every metric carries the `FunctionName` dimension (the function's real name, so
stacks never mix) and, where given, one more (`Reason`), published both with and without it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

NAMESPACE = "ServerlessUploads"
UNITS = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
        "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
        "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
        "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
        "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    }
)  # fmt: skip
"""The units CloudWatch accepts (MetricDatum.Unit)."""
MAX_METRICS = 100
"""The most metrics one EMF directive may hold."""


def document(
    metrics: Mapping[str, tuple[float, str]],
    dimensions: Mapping[str, str],
    extra: Mapping[str, str] | None = None,
    namespace: str = NAMESPACE,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """The EMF object for `metrics` (name -> (value, unit)) under `dimensions`; with `extra`
    (one more dimension), published both without and with it."""
    if not metrics or len(metrics) > MAX_METRICS:
        raise ValueError(f"an EMF directive holds 1..{MAX_METRICS} metrics, got {len(metrics)}")
    for name, (value, unit) in metrics.items():
        if unit not in UNITS or not name or len(name) > 255 or isinstance(value, bool):
            raise ValueError(f"metric {name!r}: unit {unit!r} or value {value!r} is not valid")
    base = sorted(dimensions)
    sets = [base] + ([sorted({*base, *extra})] if extra else [])
    root: dict[str, Any] = {**dimensions, **(extra or {})}
    clash = set(root) & set(metrics)
    if clash:
        raise ValueError(f"names used as both dimension and metric: {sorted(clash)}")
    root.update((name, value) for name, (value, _unit) in metrics.items())
    root["_aws"] = {
        "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
        "CloudWatchMetrics": [
            {
                "Namespace": namespace,
                "Dimensions": sets,
                "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()],
            }
        ],
    }
    return root


def emit(
    metrics: Mapping[str, tuple[float, str]],
    extra: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> None:
    """Write one EMF line for this function (dimension `FunctionName`)."""
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
    line = json.dumps(document(metrics, {"FunctionName": function}, extra), separators=(",", ":"))
    out = stream or sys.stdout
    out.write(line + "\n")
    out.flush()
