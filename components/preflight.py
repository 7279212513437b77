"""Checks the account before any resource is created: what a stack asks of it that AWS would
refuse half-way through the first `pulumi up`.

Lambda concurrency: reserving concurrency for a function (`PutFunctionConcurrency`) fails once the
reservations would leave fewer than 100 executions unreserved for the account's other functions.
A new account's quota can be as low as 10, so `prod`'s reservations cannot fit there. The check
reads the quota from Service Quotas and fails the preview with one line: what the stack needs,
what the account has, and which settings to lower. When the quota cannot be read (no permission,
a region without Service Quotas), it warns and lets the run go on.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

LAMBDA_SERVICE_CODE = "lambda"
CONCURRENT_EXECUTIONS = "L-B99A9384"
"""Service Quotas code of Lambda's "Concurrent executions" per account and region."""
UNRESERVED_FLOOR = 100
"""Executions AWS keeps unreserved: reservations may use the quota minus this."""


def check_lambda_concurrency(reservations: Mapping[str, int]) -> None:
    """Fail the run (pulumi.RunError, one line) when the reservations, by config key, exceed what
    the account's concurrency quota leaves after AWS's unreserved floor. -1 reserves nothing."""
    reserved = {key: value for key, value in reservations.items() if value > 0}
    needed = sum(reserved.values())
    if not needed:
        return
    try:
        quota = aws.servicequotas.get_service_quota(
            service_code=LAMBDA_SERVICE_CODE, quota_code=CONCURRENT_EXECUTIONS
        )
    except Exception as exc:  # any failure to read leaves the check undecided
        pulumi.warn(
            f"preflight: cannot read the Lambda concurrent executions quota ({exc}); the stack "
            f"reserves {needed} unchecked: the account needs a quota of at least "
            f"{needed + UNRESERVED_FLOOR}"
        )
        return
    available = int(quota.value) - UNRESERVED_FLOOR
    if needed > available:
        keys = " + ".join(f"{key} {value}" for key, value in reserved.items())
        raise pulumi.RunError(
            f"preflight: Lambda concurrency needed {needed} ({keys}), "
            f"available {max(available, 0)} "
            f"(quota {int(quota.value)} minus the {UNRESERVED_FLOOR} AWS keeps unreserved): lower "
            f"{' or '.join(reserved)}, or raise the quota ({CONCURRENT_EXECUTIONS})"
        )
