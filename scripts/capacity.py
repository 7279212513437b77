"""Capacity and cost of each stack, from its config: `make capacity` (figures only).

For every stack file: the upload rate each limit allows (API throttling, each function's
concurrency divided by its duration, S3's request rates per prefix), which limit binds first, and
the monthly cost of one million uploads by service. Durations are CPU seconds measured on the
development machine (one full vCPU) scaled by Lambda's CPU share, memory / 1769 MB (Lambda gives
a function one full vCPU at 1769 MB), plus the time spent waiting on S3. Unit prices are cited
below with their source and the date they were read; re-check them before you rely on a figure.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from components.config import parse_settings  # noqa: E402
from components.upload_service import UploadServiceArgs  # noqa: E402
from offline.project import load_stack_config, stack_names  # noqa: E402

FULL_VCPU_MB = 1769
"""Lambda allocates CPU in proportion to memory: one full vCPU at 1769 MB."""
UNRESERVED_POOL = 1000
"""Lambda's default concurrency quota per account and region, shared by unreserved functions."""

THUMBNAIL_CPU_S = 0.081
"""libvips thumbnail of the 24-megapixel photo-like JPEG (8.7 MB): CPU seconds measured by
`make bench-thumbnails` (docs/thumbnails.md)."""
S3_WAIT_S = 0.1
"""Time a function waits on S3 per upload (one PUT; or GET, HEAD and PUT), as docs/thumbnails.md
assumes."""
S3_WRITES_PER_S = 3500
S3_READS_PER_S = 5500
"""S3's request rates per partitioned prefix (PUT/COPY/POST/DELETE, and GET/HEAD): Amazon S3
User Guide, "Best practices design patterns: optimizing Amazon S3 performance"."""

PRICES_READ = "2025-06"
"""When the unit prices below were read from AWS's pricing pages (US East, N. Virginia)."""
PRICES = {
    "lambda_gb_s_arm64": (0.0000133334, "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_s_x86_64": (0.0000166667, "https://aws.amazon.com/lambda/pricing/"),
    "lambda_request": (0.20 / 1e6, "https://aws.amazon.com/lambda/pricing/"),
    "http_api_request": (1.00 / 1e6, "https://aws.amazon.com/api-gateway/pricing/"),
    "s3_put": (0.005 / 1000, "https://aws.amazon.com/s3/pricing/"),
    "s3_get": (0.0004 / 1000, "https://aws.amazon.com/s3/pricing/"),
    "s3_gb_month": (0.023, "https://aws.amazon.com/s3/pricing/"),
    "logs_gb": (0.50, "https://aws.amazon.com/cloudwatch/pricing/"),
    "alarm_month": (0.10, "https://aws.amazon.com/cloudwatch/pricing/"),
    "dashboard_month": (3.00, "https://aws.amazon.com/cloudwatch/pricing/"),
    "metric_month": (0.30, "https://aws.amazon.com/cloudwatch/pricing/"),
    "xray_trace": (5.00 / 1e6, "https://aws.amazon.com/xray/pricing/"),
    "kms_key_month": (1.00, "https://aws.amazon.com/kms/pricing/"),
}
"""Unit -> (US dollars, source). HTTP API: the first 300 million requests a month, metered in
512 KB steps; S3 Standard: the first 50 TB a month; X-Ray: traces recorded beyond the free
100,000 a month (an upper bound: the default sampling rule records fewer)."""

UPLOADS = 1_000_000
IMAGE_MB = 1.0
"""The model's average image, sent through the API."""
LOG_KB_PER_UPLOAD = 2.5
"""Both functions' JSON log lines, EMF lines and Lambda's platform lines for one upload."""
CUSTOM_METRICS = 20
"""EMF metrics with each dimension set (FunctionName; FunctionName and Reason for refusals)."""
S3_PUTS, S3_GETS = 2, 2
"""Per upload: the upload and its thumbnail; on_upload's GET and HEAD of the original."""


class _StubS3:
    """Stands in for S3: the measurement counts the function's own CPU, not the network."""

    def put_object(self, **_params: Any) -> dict[str, Any]:
        return {}

    def generate_presigned_url(self, *_args: Any, **_params: Any) -> str:
        return "https://bucket.s3.amazonaws.com/key?signature"


def measure_upload_cpu_s(runs: int = 20) -> float:
    """The `uploads` function's CPU seconds for one IMAGE_MB image sent as JSON base64 (parse,
    decode, header checks, response), median of `runs`, on this machine."""
    from PIL import Image  # noqa: PLC0415 - only the measurement needs it

    side = int((IMAGE_MB * 1024 * 1024 / 3) ** 0.5)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    body = json.dumps({"image": base64.b64encode(out.getvalue()).decode()})
    event = {
        "version": "2.0",
        "routeKey": "POST /uploads",
        "rawPath": "/uploads",
        "headers": {"content-type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST", "path": "/uploads"}, "requestId": "r"},
    }
    source = REPO / "lambda_src"
    os.environ.update(
        BUCKET_NAME="capacity", AUTH_MODE="none", AWS_DEFAULT_REGION="us-east-1", LOG_LEVEL="ERROR"
    )
    sys.path[:0] = [str(source), str(source / "uploads")]
    spec = importlib.util.spec_from_file_location("uploads_handler", source / "uploads/handler.py")
    assert spec is not None
    assert spec.loader is not None
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    handler.store = handler.store.__class__(_StubS3(), "capacity", "uploads/", "thumbnails/", 900)
    samples = []
    for _ in range(runs):
        with contextlib.redirect_stdout(io.StringIO()):  # its metric lines
            started = time.process_time()
            response = handler.handler(dict(event), None)
            samples.append(time.process_time() - started)
        assert response["statusCode"] == 201, response
    return sorted(samples)[len(samples) // 2]


@dataclass(frozen=True)
class Limit:
    name: str
    uploads_per_s: float
    why: str


def duration_s(cpu_s: float, memory_mb: int) -> float:
    """CPU seconds on one full vCPU -> Lambda's duration at `memory_mb`, plus the S3 wait."""
    return cpu_s * FULL_VCPU_MB / min(memory_mb, FULL_VCPU_MB) + S3_WAIT_S


def limits(args: UploadServiceArgs, upload_cpu_s: float) -> list[Limit]:
    """Each limit's sustained upload rate, lowest (the binding one) first."""
    found = [
        Limit(
            "API throttling",
            args.api.throttling_rate_limit,
            f"rate {args.api.throttling_rate_limit}/s, burst {args.api.throttling_burst_limit}",
        )
    ]
    for label, reserved, memory, cpu in (
        ("uploads concurrency", args.uploads_reserved_concurrency,
         args.function.memory_mb, upload_cpu_s),
        ("on_upload concurrency", args.on_upload_reserved_concurrency,
         args.on_upload_memory_mb, THUMBNAIL_CPU_S),
    ):  # fmt: skip
        seconds = duration_s(cpu, memory)
        slots = UNRESERVED_POOL if reserved is None else reserved
        pool = "account's unreserved pool" if reserved is None else "reserved"
        found.append(
            Limit(label, slots / seconds, f"{slots} ({pool}) / {seconds:.3f} s at {memory} MB")
        )
    found.append(
        Limit(
            "S3 per prefix",
            min(S3_WRITES_PER_S / 1, S3_READS_PER_S / S3_GETS),
            f"{S3_READS_PER_S} GET+HEAD/s / {S3_GETS} per upload under uploads/",
        )
    )
    return sorted(found, key=lambda limit: limit.uploads_per_s)


def monthly_cost(args: UploadServiceArgs, alarms: int, upload_cpu_s: float) -> dict[str, float]:
    """US dollars for one million uploads of IMAGE_MB, by service, plus the fixed monthly costs."""
    price = {unit: value for unit, (value, _) in PRICES.items()}
    gb_s = price[f"lambda_gb_s_{args.function.architecture}"]
    upload_gb_s = duration_s(upload_cpu_s, args.function.memory_mb) * (
        args.function.memory_mb / 1024
    )
    thumb_gb_s = duration_s(THUMBNAIL_CPU_S, args.on_upload_memory_mb) * (
        args.on_upload_memory_mb / 1024
    )
    api_units = math.ceil(IMAGE_MB * 1024 / 512)
    cost = {
        "API Gateway (HTTP API)": UPLOADS * api_units * price["http_api_request"],
        "Lambda requests": UPLOADS * 2 * price["lambda_request"],
        "Lambda uploads compute": UPLOADS * upload_gb_s * gb_s,
        "Lambda on_upload compute": UPLOADS * thumb_gb_s * gb_s,
        "S3 requests": UPLOADS * (S3_PUTS * price["s3_put"] + S3_GETS * price["s3_get"]),
        "S3 storage (a month)": UPLOADS * IMAGE_MB / 1024 * price["s3_gb_month"],
        "CloudWatch Logs": UPLOADS * LOG_KB_PER_UPLOAD / 1024**2 * price["logs_gb"],
        "CloudWatch alarms, dashboard, metrics": alarms * price["alarm_month"]
        + (price["dashboard_month"] if args.alarms is not None else 0)
        + CUSTOM_METRICS * price["metric_month"],
    }
    if args.function.tracing:
        cost["X-Ray (upper bound)"] = UPLOADS * 2 * price["xray_trace"]
    if args.bucket.kms_key == "create":
        cost["KMS key"] = price["kms_key_month"]
    return cost


def alarm_count(args: UploadServiceArgs) -> int:
    """ServiceAlarms' alarms for this config: 5 per function (+1 with a reservation), 3 API."""
    if not args.alarms is not None:
        return 0
    reserved = [args.uploads_reserved_concurrency, args.on_upload_reserved_concurrency]
    return 2 * 5 + sum(r is not None for r in reserved) + 3


def report(stack: str, args: UploadServiceArgs, upload_cpu_s: float) -> str:
    rows = limits(args, upload_cpu_s)
    lines = [
        f"## {stack}",
        "",
        "| limit | uploads/s | from |",
        "| --- | --- | --- |",
        *(f"| {r.name} | {r.uploads_per_s:,.0f} | {r.why} |" for r in rows),
        "",
        f"Binds first: **{rows[0].name}** ({rows[0].uploads_per_s:,.0f} uploads/s, "
        f"{rows[0].uploads_per_s * 3600 * 24 * 30 / 1e6:,.0f} million a month).",
        "",
        f"| 1 million uploads of {IMAGE_MB:g} MB a month | US$ |",
        "| --- | --- |",
    ]
    cost = monthly_cost(args, alarm_count(args), upload_cpu_s)
    lines += [f"| {service} | {dollars:,.2f} |" for service, dollars in cost.items()]
    lines.append(f"| **total** | **{sum(cost.values()):,.2f}** |")
    return "\n".join(lines)


def main() -> None:
    upload_cpu_s = measure_upload_cpu_s()
    print(
        f"CPU s on one vCPU: uploads {upload_cpu_s:.4f} (a {IMAGE_MB:g} MB PNG as JSON, measured "
        f"now), on_upload {THUMBNAIL_CPU_S} (24 MP JPEG, make bench-thumbnails); "
        f"plus {S3_WAIT_S} s waiting on S3 each"
    )
    print(f"Unit prices: US East (N. Virginia), read {PRICES_READ}:")
    for unit, (value, source) in PRICES.items():
        print(f"- {unit}: ${value:.10g} ({source})")
    for stack in stack_names(REPO):
        args = parse_settings(load_stack_config(REPO, stack))
        print()
        print(report(stack, args, upload_cpu_s))


if __name__ == "__main__":
    main()
