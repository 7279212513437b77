"""What the Terraform AWS provider (hashicorp/terraform-provider-aws, which pulumi-aws bridges)
calls for each resource type the program and the bootstrap's CI roles act on, per phase, mapped
to the IAM action that authorises the call (IAM Service Authorization Reference). The deploy,
preview and drift roles are checked against it in both directions (tests/test_provider_calls.py):
every row is allowed, and nothing is granted that no row needs.

Each row names the provider file (`internal/service/<file>`), line and function of the call, in
the version of that file the table was read from; the versions are listed at the top of
provider_calls.tsv. The exact upstream commit pulumi-aws 7.51.1 pins is its `upstream` git
submodule, which no file of pulumi-aws records, so the newest stored version of each file was
read: when pulumi-aws is upgraded, re-check the rows of the resources whose code changed. The
rows include the provider's waiters and retries (a create that re-reads until the setting shows,
a delete that polls until the resource is gone), and leave out calls behind an argument no stack
sets (`publish`, object lock, an SNS subscription's filter policy, ...).

Left out on purpose, so denied: `iam:UpdateAssumeRolePolicy`. The provider calls it when a role's
trust policy changes; the program's trust policies are constants (Lambda only), and a deploy
role that may rewrite trust could hand a role to another account (docs/security.md). A change
to a trust policy is a replacement of the role instead.

Phases: `create`, `read` (also every refresh, preview and drift check), `update`, `delete`
(also every replacement and `pulumi destroy`), and `tag`: tags inside a create call, where the
service's API reference asks for its tagging permission too (IAM CreateRole, KMS CreateKey,
Lambda CreateFunction, SQS CreateQueue, CloudWatch Logs CreateLogGroup, SNS CreateTopic,
CloudWatch PutMetricAlarm); Cognito's CreateUserPool authorises its tags itself
(`aws:RequestTag` on cognito-idp:CreateUserPool, and no dependent action in the IAM Service
Authorization Reference).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class Call(NamedTuple):
    type: str
    phase: str
    action: str
    """The IAM action that authorises the call."""
    operation: str
    """The AWS API operation the provider calls."""
    source: str
    """`<file>:<line> <function>` under internal/service/ of terraform-provider-aws."""


TABLE = Path(__file__).with_name("provider_calls.tsv")
"""The rows, one call a line: type, phase, IAM action, AWS operation, `<file>:<line> <function>`."""


def _load(table: Path) -> list[Call]:
    rows = (line.split("\t") for line in table.read_text(encoding="utf-8").splitlines())
    return [Call(*row) for row in rows if row[0] and not row[0].startswith("#")]


CALLS: list[Call] = _load(TABLE)
"""Every call, by resource type (provider_calls.tsv)."""

LOG_DELIVERY = [
    Call("aws:apigatewayv2/stage:Stage", "create", action, "(by API Gateway)", source)
    for action, source in (
        ("logs:CreateLogDelivery", "apigateway http-api-logging"),
        ("logs:GetLogDelivery", "apigateway http-api-logging"),
        ("logs:UpdateLogDelivery", "apigateway http-api-logging"),
        ("logs:DeleteLogDelivery", "apigateway http-api-logging"),
        ("logs:ListLogDeliveries", "apigateway http-api-logging"),
        ("logs:PutResourcePolicy", "apigateway http-api-logging"),
        ("logs:DescribeResourcePolicies", "apigateway http-api-logging"),
        ("logs:DescribeLogStreams", "apigateway http-api-logging"),
        ("logs:GetLogEvents", "apigateway http-api-logging"),
        ("logs:FilterLogEvents", "apigateway http-api-logging"),
        ("logs:DescribeLogGroups", "apigateway http-api-logging"),
        ("logs:CreateLogGroup", "apigateway http-api-logging"),
    )
]
"""What AWS's "Configuring logging for an HTTP API" (API Gateway Developer Guide) asks of the
caller that turns a stage's access logs on: API Gateway makes these calls, not the provider."""
