"""ServiceAlarms: CloudWatch alarms on a service's functions, dead-letter queues and HTTP API,
all sending ALARM and OK to one SNS topic that only CloudWatch of this account may publish to."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ._checks import HTTPS, Between, Each, Matches, Rule, check_fields, checked
from ._component import EMAIL, HTTPS_URL, Component, Transform, slug
from ._wire import PYTHON_ONLY
from .function import PythonFunction
from .http_api import HttpApi

RUNBOOK = "docs/operations.md"
"""The runbook page; each alarm's description links to its entry (`<runbook_url>#<anchor>`)."""


@dataclass(frozen=True)
class ServiceAlarmsArgs:
    """Arguments of ServiceAlarms: what to watch and when to tell. Defaults page on any failure."""

    functions: Sequence[PythonFunction] = ()
    """Functions to watch: errors, throttles, p99 duration, and their dead-letter queues."""
    api: HttpApi | None = None
    """The HTTP API to watch: 5xx rate and p99 latency. Default None: no API alarms."""
    kms_key: pulumi.Input[str] | None = None
    """ARN of the KMS key that encrypts the topic; its policy must let `cloudwatch.amazonaws.com`
    use it (StorageBucket's `kms_key_for_alarms` does). Default None: SNS's own encryption
    (SSE is not available with the AWS managed key: CloudWatch cannot use `alias/aws/sns`)."""
    emails: Sequence[str] = checked(Each(Matches(EMAIL, "an email address")), ())
    """Email addresses subscribed to the topic (each must confirm the subscription)."""
    https_endpoints: Sequence[str] = checked(Each(HTTPS), ())
    """HTTPS endpoints subscribed to the topic (chat tools' webhooks)."""
    runbook_url: str = checked(Matches(HTTPS_URL, "an https:// URL", also=(RUNBOOK,)), RUNBOOK)
    """Where the runbook lives; each alarm's description links to `<runbook_url>#<entry>`."""
    duration_percent_of_timeout: int = checked(Between(1, 100), 80)
    """Alarm when a function's p99 duration exceeds this share of its timeout."""
    concurrency_percent_of_reservation: int = checked(Between(1, 100), 80)
    """Alarm when a function with reserved concurrency uses more than this share of it."""
    dead_letter_age_seconds: int = checked(Between(60, 14 * 86400 - 60), 3600)
    """Alarm when the oldest failed event has waited this long (well inside the queue's retention:
    the event is lost when it expires)."""
    api_5xx_percent: float = checked(Rule(lambda v: 0 < v <= 100, "above 0, at most 100"), 1.0)
    """Alarm when more than this share of API requests get a 5xx within 5 minutes."""
    api_latency_p99_ms: int = checked(Between(1, 30000), 2000)
    """Alarm when the API's p99 latency exceeds this, in milliseconds."""
    transforms: Mapping[str, Transform | None] = field(default_factory=dict, metadata=PYTHON_ONLY)
    """Escape hatch, per child: topic, topic_policy, subscription, alarm (every alarm)."""

    def __post_init__(self) -> None:
        check_fields(self)

    def validate(self, name: str) -> None:
        owner = f'ServiceAlarms "{name}"'
        for function in self.functions:
            retention = function.args.dead_letter_retention_days * 86400
            if self.dead_letter_age_seconds >= retention:
                raise ValueError(
                    f"{owner}: dead_letter_age_seconds {self.dead_letter_age_seconds} must be "
                    f"below the retention of {function.pulumi_resource_name}'s dead-letter queue "
                    f"({retention} s), or events expire before anyone is told"
                )


class ServiceAlarms(Component):
    """One SNS topic and the alarms an on-call engineer needs on day one."""

    topic: aws.sns.Topic
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    """Alarm role (`<function>-errors`, `api-5xx`, ...) -> alarm."""

    def __init__(
        self, name: str, args: ServiceAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args.validate(name)
        super().__init__("uploads:index:ServiceAlarms", name, args.transforms, opts)
        self._args = args
        self.topic = self._child(
            aws.sns.Topic,
            "topic",
            {"kms_master_key_id": args.kms_key, "display_name": f"{name} alarms"},
        )
        self._child(
            aws.sns.TopicPolicy,
            "topic-policy",
            {"arn": self.topic.arn, "policy": self.topic.arn.apply(_topic_policy)},
        )
        # A webhook URL often holds its access token: it names its subscription by a digest,
        # since names and URNs are never secret (an email address names its own).
        endpoints = [("email", e, slug(e)) for e in args.emails] + [
            ("https", u, f"https-{hashlib.sha256(u.encode()).hexdigest()[:16]}")
            for u in args.https_endpoints
        ]
        for protocol, endpoint, suffix in endpoints:
            self._child(
                aws.sns.TopicSubscription,
                f"subscription-{suffix}",
                {"topic": self.topic.arn, "protocol": protocol, "endpoint": endpoint},
                transform_key="subscription",
            )
        self.alarms = {}
        for function in args.functions:
            self._function_alarms(function)
        if args.api is not None:
            self._api_alarms(args.api)
        self.register_outputs({"topic_arn": self.topic.arn})

    def _alarm(self, role: str, entry: str, what: str, props: dict[str, Any]) -> None:
        url = f"{self._args.runbook_url}#{entry}"
        self.alarms[role] = self._child(
            aws.cloudwatch.MetricAlarm,
            f"alarm-{role}",
            {
                "alarm_description": f"{what} Runbook: {url}",
                "alarm_actions": [self.topic.arn],
                "ok_actions": [self.topic.arn],
                "evaluation_periods": 1,
                "treat_missing_data": "notBreaching",
                **props,
            },
            transform_key="alarm",
        )

    def _function_alarms(self, function: PythonFunction) -> None:
        label = function.pulumi_resource_name
        dims = {"FunctionName": function.name}
        lambda_metric = {"namespace": "AWS/Lambda", "dimensions": dims, "period": 60}
        for metric, entry in (("Errors", "function-errors"), ("Throttles", "function-throttles")):
            self._alarm(
                f"{label}-{metric.lower()}",
                entry,
                f"{label}: {metric} in the last minute.",
                lambda_metric
                | {
                    "metric_name": metric,
                    "statistic": "Sum",
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 0,
                },
            )
        timeout_ms = function.args.timeout_seconds * 1000
        limit = timeout_ms * self._args.duration_percent_of_timeout / 100
        self._alarm(
            f"{label}-duration",
            "function-duration",
            f"{label}: p99 duration above {limit:.0f} ms "
            f"({self._args.duration_percent_of_timeout} % of its {function.args.timeout_seconds} s "
            "timeout) over 5 minutes.",
            lambda_metric
            | {
                "metric_name": "Duration",
                "extended_statistic": "p99",
                "period": 300,
                "comparison_operator": "GreaterThanThreshold",
                "threshold": limit,
            },
        )
        reserved = function.args.reserved_concurrency
        if reserved:
            share = self._args.concurrency_percent_of_reservation
            self._alarm(
                f"{label}-concurrency",
                "function-concurrency",
                f"{label}: more than {share} % of its {reserved} reserved executions in use.",
                lambda_metric
                | {
                    "metric_name": "ConcurrentExecutions",
                    "statistic": "Maximum",
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": reserved * share / 100,
                },
            )
        self._queue_alarms(label, function.dead_letter_queue)

    def _queue_alarms(self, label: str, queue: aws.sqs.Queue) -> None:
        sqs_metric = {
            "namespace": "AWS/SQS",
            "dimensions": {"QueueName": queue.name},
            "statistic": "Maximum",
            "comparison_operator": "GreaterThanOrEqualToThreshold",
        }
        self._alarm(
            f"{label}-dead-letters",
            "dead-letters",
            f"{label}: failed events are waiting in its dead-letter queue.",
            sqs_metric
            | {"metric_name": "ApproximateNumberOfMessagesVisible", "period": 60, "threshold": 1},
        )
        age = self._args.dead_letter_age_seconds
        self._alarm(
            f"{label}-dead-letter-age",
            "dead-letter-age",
            f"{label}: a failed event has waited {age} s; it is lost when the queue's retention "
            "ends.",
            sqs_metric
            | {"metric_name": "ApproximateAgeOfOldestMessage", "period": 300, "threshold": age},
        )

    def _api_alarms(self, api: HttpApi) -> None:
        dims = {"ApiId": api.id}
        percent = self._args.api_5xx_percent
        self._alarm(
            "api-5xx",
            "api-5xx",
            f"API: more than {percent} % of requests answered 5xx over 5 minutes.",
            {
                "comparison_operator": "GreaterThanThreshold",
                "threshold": percent,
                "metric_queries": [
                    _query("errors", "5xx", dims),
                    _query("requests", "Count", dims),
                    {
                        "id": "rate",
                        # Not MAX([requests, 1]): CloudWatch refuses an array mixing a time series
                        # with a scalar at PutMetricAlarm (the provider checks only the length).
                        # IF(condition, trueValue, falseValue) is CloudWatch's documented form
                        # (CloudWatch User Guide, "Using metric math", IF expression).
                        "expression": "IF(requests > 0, 100 * errors / requests, 0)",
                        "label": "5xx %",
                        "return_data": True,
                    },
                ],
            },
        )
        limit = self._args.api_latency_p99_ms
        for metric in ("Latency", "IntegrationLatency"):
            self._alarm(
                f"api-{slug(metric)}",
                "api-latency",
                f"API: p99 {metric} above {limit} ms over 5 minutes.",
                {
                    "namespace": "AWS/ApiGateway",
                    "metric_name": metric,
                    "dimensions": dims,
                    "extended_statistic": "p99",
                    "period": 300,
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": limit,
                },
            )


def _query(query_id: str, metric: str, dims: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": query_id,
        "return_data": False,
        "metric": {
            "namespace": "AWS/ApiGateway",
            "metric_name": metric,
            "dimensions": dims,
            "period": 300,
            "stat": "Sum",
        },
    }


def _topic_policy(topic_arn: str | None) -> str | None:
    """CloudWatch alarms of this account (and no one else) may publish. None while the ARN is
    (unit-test mocks leave a topic's computed ARN unset; components/_component.concat_known)."""
    if topic_arn is None:
        return None
    partition, account = topic_arn.split(":")[1], topic_arn.split(":")[4]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CloudWatchAlarmsOfThisAccountPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {
                            "aws:SourceArn": f"arn:{partition}:cloudwatch:*:{account}:alarm:*"
                        },
                    },
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
    )
