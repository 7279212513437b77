"""ServiceDashboard: every widget shows metrics of resources that exist in the stack, and the saved
queries read the service's own log groups."""

from __future__ import annotations

import json

import pytest

from components.dashboard import METRICS_NAMESPACE, QUERIES
from offline import ResourceGraph

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
QUERY = "aws:cloudwatch/queryDefinition:QueryDefinition"
DIMENSION_OWNERS = {
    "FunctionName": ("aws:lambda/function:Function", "name"),
    "QueueName": ("aws:sqs/queue:Queue", "name"),
    "ApiId": ("aws:apigatewayv2/api:Api", "id"),
}
"""Each dimension the dashboard uses -> the resource type and attribute it names."""
NAMESPACE_DIMENSIONS = {
    "AWS/Lambda": {"FunctionName"},
    "AWS/SQS": {"QueueName"},
    "AWS/ApiGateway": {"ApiId"},
    METRICS_NAMESPACE: {"FunctionName"},
}
HANDLER_METRICS = {
    "UploadsAccepted", "UploadsRefused", "ThumbnailsWritten", "ThumbnailsRefused",
    "UploadsQuarantined", "ThumbnailMs",
}  # fmt: skip
"""What the handlers emit (lambda_src/uploads_common/metrics.py callers)."""


def body(graph: ResourceGraph) -> dict:
    return json.loads(graph.one(DASHBOARD).inputs["dashboardBody"])


def existing(graph: ResourceGraph, dimension: str) -> set[str]:
    type_, attribute = DIMENSION_OWNERS[dimension]
    return {r.outputs[attribute] for r in graph.of_type(type_)}


def metric_rows(widget: dict) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of each row of a metric widget."""
    rows = []
    for row in widget["properties"]["metrics"]:
        plain = [item for item in row if not isinstance(item, dict)]
        namespace, metric, *pairs = plain
        rows.append((namespace, metric, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return rows


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_widget_names_metrics_of_resources_in_the_stack(stack_graphs, stack):
    graph = stack_graphs(stack)
    widgets = body(graph)["widgets"]
    rows = [row for w in widgets if w["type"] == "metric" for row in metric_rows(w)]
    assert rows
    for namespace, metric, dimensions in rows:
        assert set(dimensions) == NAMESPACE_DIMENSIONS[namespace], (namespace, metric)
        for dimension, value in dimensions.items():
            assert value in existing(graph, dimension), (metric, dimension, value)
        if namespace == METRICS_NAMESPACE:
            assert metric in HANDLER_METRICS
    for widget in widgets:
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "us-east-1"
    [status] = [w for w in widgets if w["type"] == "alarm"]
    alarms = {a.outputs["arn"] for a in graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(status["properties"]["alarms"]) == alarms


def test_the_dashboard_shows_what_on_call_reads_first(stack_graphs):
    graph = stack_graphs("prod")
    titles = [w["properties"]["title"] for w in body(graph)["widgets"]]
    functions = sorted(existing(graph, "FunctionName"))
    assert titles[:5] == [
        "Alarms",
        "Uploads per minute",
        "API 4xx / 5xx",
        "API latency p50 / p99 (ms)",
        "Thumbnails written vs refused",
    ]
    assert {f"{f}: errors, throttles, duration" for f in functions} <= set(titles)
    assert "Dead-letter queues: depth and oldest age (s)" in titles
    queues = {
        dims["QueueName"]
        for w in body(graph)["widgets"]
        if w["type"] == "metric"
        for _, _, dims in metric_rows(w)
        if "QueueName" in dims
    }
    assert queues == existing(graph, "QueueName")


def test_widgets_do_not_overlap(stack_graphs):
    cells = set()
    for widget in body(stack_graphs("prod"))["widgets"]:
        x, y, w, h = widget["x"], widget["y"], widget["width"], widget["height"]
        assert x + w <= 24
        mine = {(col, row) for col in range(x, x + w) for row in range(y, y + h)}
        assert not mine & cells
        cells |= mine


def test_the_dashboard_and_queries_are_named_per_stack(stack_graphs):
    dev, prod = stack_graphs("dev"), stack_graphs("prod")
    assert dev.one(DASHBOARD).inputs["dashboardName"] == "uploads-dashboard-dev"
    assert prod.one(DASHBOARD).inputs["dashboardName"] == "uploads-dashboard-prod"
    names = {q.inputs["name"] for q in prod.of_type(QUERY)}
    assert names == {f"uploads-dashboard-prod/{query}" for query in QUERIES}


def test_saved_queries_read_the_services_log_groups(stack_graphs):
    graph = stack_graphs("prod")
    groups = {g.outputs["name"] for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")}
    functions = {
        graph.named(f"uploads-{f}-log-group").outputs["name"] for f in ("uploads", "on-upload")
    }
    for query in graph.of_type(QUERY):
        assert set(query.inputs["logGroupNames"]) <= groups
        assert functions <= set(query.inputs["logGroupNames"])
    for query in graph.of_type(QUERY):
        # A query starts with a command: Logs Insights refuses a leading pipe.
        assert not query.inputs["queryString"].lstrip().startswith("|")
    failures = graph.named("uploads-dashboard-query-on-upload-failures").inputs["queryString"]
    assert 'filter outcome = "failed"' in failures
    assert "key" in failures


def test_no_dashboard_when_turned_off(build):
    from components.upload_service import UploadService, UploadServiceArgs

    graph = build(lambda: UploadService("svc", UploadServiceArgs(auth="none", dashboard=False)))
    assert DASHBOARD not in graph.types()
    assert QUERY not in graph.types()
