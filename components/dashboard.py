"""ServiceDashboard: one CloudWatch dashboard for a service and its saved Logs Insights queries,
built from the real names of its functions, queues, API and alarms."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ._component import Component, Transform
from ._wire import PYTHON_ONLY
from .function import PythonFunction
from .http_api import HttpApi

METRICS_NAMESPACE = "ServerlessUploads"
"""The handlers' own metrics (EMF, `lambda_src/uploads_common/metrics.py`)."""

QUERIES = {
    "request-by-id": (
        "A request's whole story: set the id (API request id or Lambda request id) below.",
        "fields @timestamp, @log, level, message, route, status, key, outcome, reason, errorCode\n"
        '| filter requestId = "REQUEST_ID" or apiRequestId = "REQUEST_ID"'
        ' or awsRequestId = "REQUEST_ID"\n'
        "| sort @timestamp asc",
    ),
    "refused-uploads-by-reason": (
        "Uploads refused by the API (4xx) or removed by on_upload, counted by reason.",
        'filter (ispresent(errorCode) and status < 500) or outcome = "removed"\n'
        "| fields coalesce(errorCode, reason) as why\n"
        "| stats count(*) as refused by why\n"
        "| sort refused desc",
    ),
    "on-upload-failures": (
        "on_upload records that failed (then retried, quarantined, dead-lettered), with keys.",
        "fields @timestamp, key, errorType, errorMessage, quarantined, awsRequestId\n"
        '| filter outcome = "failed"\n'
        "| sort @timestamp desc",
    ),
}
"""Saved Logs Insights queries: name -> (what it answers, query)."""


@dataclass(frozen=True)
class ServiceDashboardArgs:
    """Arguments of ServiceDashboard."""

    api: HttpApi
    """The HTTP API in front of the service."""
    uploads: PythonFunction
    """The function that accepts uploads (its metrics: accepted, refused, bytes)."""
    on_upload: PythonFunction
    """The function that checks uploads and writes thumbnails."""
    alarms: Sequence[pulumi.Input[str]] = ()
    """ARNs of alarms to show in the dashboard's alarm status widget."""
    transforms: Mapping[str, Transform | None] = field(default_factory=dict, metadata=PYTHON_ONLY)
    """Escape hatch, per child: dashboard, query (every saved query)."""


class ServiceDashboard(Component):
    """A dashboard and saved Logs Insights queries for an upload service."""

    dashboard: aws.cloudwatch.Dashboard
    dashboard_name: pulumi.Output[str]
    queries: dict[str, aws.cloudwatch.QueryDefinition]

    def __init__(
        self, name: str, args: ServiceDashboardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("uploads:index:ServiceDashboard", name, args.transforms, opts)
        functions = (args.uploads, args.on_upload)
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        names = pulumi.Output.all(
            region=region,
            api=args.api.id,
            uploads=args.uploads.name,
            on_upload=args.on_upload.name,
            queues=[f.dead_letter_queue.name for f in functions],
            alarms=list(args.alarms),
        )
        # Dashboard and query names are unique per account and region: the stack's name keeps
        # two stacks of one account apart.
        title = f"{name}-{pulumi.get_stack()}"
        self.dashboard = self._child(
            aws.cloudwatch.Dashboard,
            "dashboard",
            {"dashboard_name": title, "dashboard_body": names.apply(_body)},
        )
        self.dashboard_name = self.dashboard.dashboard_name
        log_groups = [f.log_group.name for f in functions] + [args.api.log_group.name]
        self.queries = {
            query: self._child(
                aws.cloudwatch.QueryDefinition,
                f"query-{query}",
                {"name": f"{title}/{query}", "query_string": text, "log_group_names": log_groups},
                transform_key="query",
            )
            for query, (_what, text) in QUERIES.items()
        }
        self.register_outputs({"dashboard_name": self.dashboard_name})


def _widget(title: str, metrics: list[list[Any]], region: str, **properties: Any) -> dict:
    return {
        "type": "metric",
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "metrics": metrics,
            "view": "timeSeries",
            "period": 60,
            **properties,
        },
    }


def _body(names: dict[str, Any]) -> str:
    """The dashboard body (CloudWatch's dashboard body structure, widgets laid out in a grid)."""
    region, api = names["region"], ("ApiId", names["api"])
    uploads, on_upload = ("FunctionName", names["uploads"]), ("FunctionName", names["on_upload"])
    ns = METRICS_NAMESPACE
    widgets = [
        _widget(
            "Uploads per minute",
            [
                [ns, "UploadsAccepted", *uploads, {"stat": "Sum", "label": "accepted"}],
                [ns, "UploadsRefused", *uploads, {"stat": "Sum", "label": "refused"}],
                ["AWS/ApiGateway", "Count", *api, {"stat": "Sum", "label": "API requests"}],
            ],
            region,
        ),
        _widget(
            "API 4xx / 5xx",
            [
                ["AWS/ApiGateway", "4xx", *api, {"stat": "Sum"}],
                ["AWS/ApiGateway", "5xx", *api, {"stat": "Sum"}],
            ],
            region,
        ),
        _widget(
            "API latency p50 / p99 (ms)",
            [
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p50"}],
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p99"}],
                ["AWS/ApiGateway", "IntegrationLatency", *api, {"stat": "p99"}],
            ],
            region,
        ),
        _widget(
            "Thumbnails written vs refused",
            [
                [ns, "ThumbnailsWritten", *on_upload, {"stat": "Sum", "label": "written"}],
                [ns, "ThumbnailsRefused", *on_upload, {"stat": "Sum", "label": "refused"}],
                [ns, "UploadsQuarantined", *on_upload, {"stat": "Sum", "label": "quarantined"}],
                [ns, "ThumbnailMs", *on_upload, {"stat": "p99", "yAxis": "right"}],
            ],
            region,
        ),
    ]
    for dimension in (uploads, on_upload):
        widgets.append(
            _widget(
                f"{dimension[1]}: errors, throttles, duration",
                [
                    ["AWS/Lambda", "Errors", *dimension, {"stat": "Sum"}],
                    ["AWS/Lambda", "Throttles", *dimension, {"stat": "Sum"}],
                    ["AWS/Lambda", "Duration", *dimension, {"stat": "p99", "yAxis": "right"}],
                ],
                region,
            )
        )
    widgets.append(
        _widget(
            "Dead-letter queues: depth and oldest age (s)",
            [
                metric
                for queue in names["queues"]
                for metric in (
                    ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue],
                    [
                        "AWS/SQS",
                        "ApproximateAgeOfOldestMessage",
                        "QueueName",
                        queue,
                        {"yAxis": "right"},
                    ],
                )
            ],
            region,
            stat="Maximum",
        )
    )
    top = 0
    if names["alarms"]:
        status = {"title": "Alarms", "alarms": names["alarms"]}
        widgets.insert(0, {"type": "alarm", "x": 0, "y": 0, "width": 24, "height": 4})
        widgets[0]["properties"] = status
        top = 4
    for index, widget in enumerate(w for w in widgets if w["type"] == "metric"):
        widget["x"], widget["y"] = (index % 2) * 12, top + (index // 2) * 6
    return json.dumps({"widgets": widgets})
