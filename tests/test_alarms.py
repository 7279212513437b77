"""ServiceAlarms: each alarm watches the right metric of the right resource and tells the topic;
the topic is CloudWatch's only, encrypted with the stack's key."""

from __future__ import annotations

import json
import re

import pytest

from components.alarms import ServiceAlarms, ServiceAlarmsArgs
from components.config import ConfigError, parse_settings
from components.function import PythonFunction, PythonFunctionArgs
from components.upload_service import UploadService
from offline import ResourceGraph

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def alarms(graph: ResourceGraph) -> dict[str, dict]:
    """Alarm role -> its inputs."""
    return {a.name.removeprefix("uploads-alarms-alarm-"): a.inputs for a in graph.of_type(ALARM)}


def physical(graph: ResourceGraph, name: str, key: str = "name") -> str:
    return graph.named(name).outputs[key]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_alarm_watches_its_resource_and_tells_the_topic(stack_graphs, stack):
    graph = stack_graphs(stack)
    topic = graph.one(TOPIC).outputs["arn"]
    found = alarms(graph)
    for function, timeout in (("uploads-uploads", 30), ("uploads-on-upload", 30)):
        name = physical(graph, f"{function}-function")
        queue = physical(graph, f"{function}-dead-letter-queue")
        errors = found[f"{function}-errors"]
        assert (errors["namespace"], errors["metricName"]) == ("AWS/Lambda", "Errors")
        assert errors["dimensions"] == {"FunctionName": name}
        assert (errors["statistic"], errors["period"], errors["threshold"]) == ("Sum", 60, 0)
        assert errors["comparisonOperator"] == "GreaterThanThreshold"
        assert found[f"{function}-throttles"]["metricName"] == "Throttles"
        duration = found[f"{function}-duration"]
        assert (duration["extendedStatistic"], duration["threshold"]) == ("p99", timeout * 800)
        assert duration["dimensions"] == {"FunctionName": name}
        visible = found[f"{function}-dead-letters"]
        assert visible["namespace"] == "AWS/SQS"
        assert visible["metricName"] == "ApproximateNumberOfMessagesVisible"
        assert visible["dimensions"] == {"QueueName": queue}
        assert (visible["threshold"], visible["comparisonOperator"]) == (
            1,
            "GreaterThanOrEqualToThreshold",
        )
        age = found[f"{function}-dead-letter-age"]
        assert age["metricName"] == "ApproximateAgeOfOldestMessage"
        assert (age["dimensions"], age["threshold"]) == ({"QueueName": queue}, 3600)
    api = graph.one("aws:apigatewayv2/api:Api").outputs["id"]
    rate = found["api-5xx"]
    metrics = {q["id"]: q.get("metric") for q in rate["metricQueries"]}
    assert metrics["errors"]["metricName"] == "5xx"
    assert metrics["requests"]["metricName"] == "Count"
    assert {m["dimensions"]["ApiId"] for m in metrics.values() if m} == {api}
    assert rate["threshold"] == 1
    assert _error_rate(rate, errors=3, requests=200) == 1.5
    assert _error_rate(rate, errors=0, requests=0) == 0
    assert found["api-latency"]["dimensions"] == {"ApiId": api}
    assert found["api-integrationlatency"]["metricName"] == "IntegrationLatency"
    for role, alarm in found.items():
        assert alarm["alarmActions"] == [topic] == alarm["okActions"], role
        assert alarm["treatMissingData"] == "notBreaching", role
        runbook = "Runbook: https://runbooks.example.com/serverless-uploads/operations#"
        assert runbook in alarm["alarmDescription"], role  # dev's alarmRunbookUrl


def test_concurrency_alarms_only_where_concurrency_is_reserved(stack_graphs):
    assert not any(role.endswith("-concurrency") for role in alarms(stack_graphs("dev")))
    prod = alarms(stack_graphs("prod"))
    assert prod["uploads-uploads-concurrency"]["threshold"] == 160  # 80 % of 200
    assert prod["uploads-on-upload-concurrency"]["threshold"] == 40  # 80 % of 50
    assert prod["uploads-on-upload-concurrency"]["metricName"] == "ConcurrentExecutions"


def test_topic_policy_lets_only_cloudwatch_of_this_account_publish(stack_graphs):
    graph = stack_graphs("prod")
    topic = graph.one(TOPIC)
    policy = graph.one("aws:sns/topicPolicy:TopicPolicy")
    assert policy.inputs["arn"] == topic.outputs["arn"]
    allow, deny = json.loads(policy.inputs["policy"])["Statement"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert (allow["Action"], allow["Resource"]) == ("sns:Publish", topic.outputs["arn"])
    assert allow["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:123456789012:alarm:*"},
    }
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_topic_is_encrypted_with_the_stacks_key_where_it_has_one(stack_graphs):
    prod = stack_graphs("prod")
    key = prod.one("aws:kms/key:Key")
    assert prod.one(TOPIC).inputs["kmsMasterKeyId"] == key.outputs["arn"]
    grant = {s["Sid"]: s for s in key.policy()["Statement"]}[
        "CloudWatchAlarmsPublishToEncryptedTopics"
    ]
    assert grant["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    # AWS's documented statement for CloudWatch -> encrypted SNS, without a condition.
    assert grant["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert "Condition" not in grant
    assert stack_graphs("dev").one(TOPIC).inputs.get("kmsMasterKeyId") is None


def test_subscriptions_come_from_the_stack_config(build):
    config = {
        "serverless-uploads:auth": "none",
        "serverless-uploads:alarmEmails": '["oncall@example.com"]',
        "serverless-uploads:alarmHttpsEndpoints": '["https://chat.example.com/hook/1"]',
    }
    args = parse_settings(config)
    graph = build(lambda: UploadService("uploads", args))
    topic = graph.one(TOPIC).outputs["arn"]
    subscriptions = {
        (s.inputs["protocol"], s.inputs["endpoint"]) for s in graph.of_type(SUBSCRIPTION)
    }
    assert subscriptions == {
        ("email", "oncall@example.com"),
        ("https", "https://chat.example.com/hook/1"),
    }
    assert {s.inputs["topic"] for s in graph.of_type(SUBSCRIPTION)} == {topic}


def test_thresholds_come_from_the_stack_config(build):
    args = parse_settings(
        {
            "serverless-uploads:auth": "none",
            "serverless-uploads:alarmDeadLetterAgeMinutes": "30",
            "serverless-uploads:alarmApi5xxPercent": "5",
            "serverless-uploads:alarmApiLatencyP99Ms": "800",
            "serverless-uploads:alarmRunbookUrl": "https://wiki.example.com/uploads/operations",
        }
    )
    graph = build(lambda: UploadService("uploads", args))
    found = alarms(graph)
    assert found["uploads-on-upload-dead-letter-age"]["threshold"] == 1800
    assert found["api-5xx"]["threshold"] == 5
    assert found["api-latency"]["threshold"] == 800
    assert found["api-5xx"]["alarmDescription"].endswith(
        "Runbook: https://wiki.example.com/uploads/operations#api-5xx"
    )


def test_alarms_can_be_turned_off(build):
    args = parse_settings({"serverless-uploads:auth": "none", "serverless-uploads:alarms": "false"})
    graph = build(lambda: UploadService("uploads", args))
    assert ALARM not in graph.types()
    assert TOPIC not in graph.types()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("alarmEmails", '["not-an-address"]'),
        ("alarmHttpsEndpoints", '["http://chat.example.com/hook"]'),
        ("alarmDeadLetterAgeMinutes", "20160"),
        ("alarmRunbookUrl", "wiki/operations"),
    ],
)
def test_bad_alarm_settings_are_refused_by_name(key, value):
    with pytest.raises(ConfigError, match=key):
        parse_settings({f"serverless-uploads:{key}": value})


def test_an_age_threshold_past_the_queues_retention_is_refused(build):
    def program():
        function = PythonFunction(
            "worker",
            PythonFunctionArgs(source="examples/minimal/hello", dead_letter_retention_days=1),
        )
        ServiceAlarms("a", ServiceAlarmsArgs(functions=[function], dead_letter_age_seconds=86400))

    with pytest.raises(Exception, match="dead_letter_age_seconds 86400 must be below"):
        build(program)


def test_standalone_alarms_are_children_of_the_component(build):
    def program():
        function = PythonFunction("worker", PythonFunctionArgs(source="examples/minimal/hello"))
        ServiceAlarms("worker-alarms", ServiceAlarmsArgs(functions=[function]))

    graph = build(program)
    component = graph.one("uploads:index:ServiceAlarms")
    children = graph.children(component)
    assert {c.type for c in children} == {TOPIC, "aws:sns/topicPolicy:TopicPolicy", ALARM}
    assert len(graph.of_type(ALARM)) == 5  # errors, throttles, duration, dead letters, age
    assert graph.misnamed() == []


class _Series(float):
    """One datapoint of a CloudWatch time series: a division by zero gives no value (NaN), as
    metric math does, instead of raising."""

    def __rtruediv__(self, other: float) -> float:
        return other / float(self) if self else float("nan")


def _error_rate(alarm: dict, *, errors: float, requests: float) -> float:
    """The alarm's expression evaluated per datapoint with CloudWatch's IF(condition, trueValue,
    falseValue) ("Using metric math", IF expression). Only IF, arithmetic and comparisons are
    allowed: MAX over an array mixing a series and a scalar is what AWS rejects."""
    [expression] = [q["expression"] for q in alarm["metricQueries"] if q.get("expression")]
    assert set(re.findall(r"[A-Z]{2,}", expression)) <= {"IF"}, expression
    python = expression.replace("IF(", "_if(")
    namespace = {"_if": lambda c, t, f: t if c else f}
    return eval(python, namespace, {"errors": errors, "requests": _Series(requests)})  # noqa: S307
