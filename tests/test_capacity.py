"""The capacity and cost model (scripts/capacity.py): limits per stack config, which one binds,
and the cost of a million uploads."""

from __future__ import annotations

import pytest

from components.config import parse_settings
from scripts.capacity import (
    FULL_VCPU_MB,
    S3_WAIT_S,
    THUMBNAIL_CPU_S,
    duration_s,
    limits,
    measure_upload_cpu_s,
    monthly_cost,
    report,
)


def stack(**keys: object):
    """A stack's UploadService arguments from its settings (values as the CLI passes them)."""
    return parse_settings({f"serverless-uploads:{k}": str(v) for k, v in keys.items()})


def test_durations_scale_with_the_cpu_share_up_to_one_vcpu():
    assert duration_s(1.0, FULL_VCPU_MB) == pytest.approx(1.0 + S3_WAIT_S)
    assert duration_s(1.0, FULL_VCPU_MB // 2) == pytest.approx(2.0 + S3_WAIT_S, rel=1e-3)
    assert duration_s(1.0, 10240) == pytest.approx(1.0 + S3_WAIT_S)  # no more than one vCPU


def test_a_small_reservation_binds_before_the_api():
    settings = stack(throttleRateLimit=100, onUploadReservedConcurrency=10)
    first = limits(settings, upload_cpu_s=0.01)[0]
    assert first.name == "on_upload concurrency"
    assert first.uploads_per_s == pytest.approx(10 / duration_s(THUMBNAIL_CPU_S, 512))


def test_the_api_binds_with_the_defaults():
    assert limits(stack(), upload_cpu_s=0.01)[0].name == "API throttling"


def test_the_cost_of_a_million_uploads_is_itemised():
    cost = monthly_cost(stack(bucketKmsKey="create"), alarms=15, upload_cpu_s=0.01)
    assert cost["API Gateway (HTTP API)"] == pytest.approx(2.0)  # 1 MB = two 512 KB units
    assert cost["Lambda requests"] == pytest.approx(0.40)
    assert cost["KMS key"] == 1.0
    assert all(value > 0 for value in cost.values())
    arm = monthly_cost(stack(), 15, 0.01)["Lambda on_upload compute"]
    x86 = monthly_cost(stack(functionArchitecture="x86_64"), 15, 0.01)
    assert x86["Lambda on_upload compute"] > arm


def test_the_upload_measurement_runs_the_real_handler():
    cpu_s = measure_upload_cpu_s(runs=3)
    assert 0 < cpu_s < 5


def test_the_report_names_the_binding_limit_and_a_total():
    text = report("prod", stack(throttleRateLimit=100), upload_cpu_s=0.01)
    assert "Binds first: **API throttling** (100 uploads/s" in text
    assert "| **total** |" in text
