"""Alarm rules: a failure nobody is told about is a failure nobody fixes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from ._model import (
    UNKNOWN,
    ResourceView,
    StackCheck,
    as_list,
    get,
    protect_data,
    resource_rule,
    stack_rule,
)

FUNCTION = "aws:lambda/function:Function"
QUEUE = "aws:sqs/queue:Queue"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EVENT_INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def _watches(
    alarm: ResourceView, target: ResourceView, namespace: str, metric: str, dimension: str
) -> bool:
    """Whether `alarm` watches `metric` of `target` and tells someone (an alarm action)."""
    props = alarm.props
    if props.get("namespace") != namespace or props.get("metricName") != metric:
        return False
    if not as_list(props.get("alarmActions")):
        return False
    return _refers(get(props, "dimensions", dimension), alarm, target, "name")


def _refers(value: object, source: ResourceView, target: ResourceView, attribute: str) -> bool:
    """Whether `value` (an input of `source`) is `target`'s `attribute`: equal where both are
    known strings; otherwise (an autonamed resource, or a preview of a new stack, where the name
    is an output still to come) whether `source` depends on `target`. A source that records no
    dependencies at all (CrossGuard resource validation) cannot tell: it counts as referring."""
    own = target.props.get(attribute)
    if isinstance(value, str) and isinstance(own, str):
        return value == own
    return target.urn in source.dependencies or not source.dependencies


def _dead_letter_queues(resources: Sequence[ResourceView]) -> list[ResourceView]:
    """Queues that receive failed asynchronous invocations (on-failure destinations)."""
    queues = [r for r in resources if r.type == QUEUE]
    found = []
    for config in (r for r in resources if r.type == EVENT_INVOKE_CONFIG):
        target = get(config.props, "destinationConfig", "onFailure", "destination")
        found += [q for q in queues if _refers(target, config, q, "arn") and q not in found]
    return found


@stack_rule(
    "UPL-ALARMS",
    "mandatory",
    "Each function has an Errors alarm and each dead-letter queue an age alarm, each with an "
    "action.",
    "Keep UploadService's alarms on (the alarms setting), or add ServiceAlarms for the functions: "
    "a MetricAlarm on AWS/Lambda Errors per function and on AWS/SQS ApproximateAgeOfOldestMessage "
    "per dead-letter queue, with alarmActions.",
)
def _alarmed(
    resources: Sequence[ResourceView], _config: Mapping[str, str]
) -> Iterator[tuple[ResourceView, str]]:
    alarms = [r for r in resources if r.type == ALARM]
    for function in (r for r in resources if r.type == FUNCTION):
        if not any(_watches(a, function, "AWS/Lambda", "Errors", "FunctionName") for a in alarms):
            yield function, "no alarm with an action on its Errors: its failures go unnoticed"
    for queue in _dead_letter_queues(resources):
        metric = "ApproximateAgeOfOldestMessage"
        if not any(_watches(a, queue, "AWS/SQS", metric, "QueueName") for a in alarms):
            yield queue, "no alarm with an action on its oldest message's age: failed events expire"


def _unsubscribed_alarm_topics(resources: Sequence[ResourceView]) -> Iterator[ResourceView]:
    """Topics some alarm notifies (an alarm action) that no subscription delivers from.

    Holds for inputs and outputs alike: a subscription's `topic` and an alarm's actions are the
    topic's ARN, which outputs carry (`arn`) and inputs do not, where `_refers` falls back on the
    dependency the reference makes."""
    alarms = [r for r in resources if r.type == ALARM]
    subscriptions = [r for r in resources if r.type == SUBSCRIPTION]
    for topic in (r for r in resources if r.type == TOPIC):
        notified = any(
            _refers(action, alarm, topic, "arn")
            for alarm in alarms
            for action in as_list(alarm.props.get("alarmActions"))
        )
        if notified and not any(
            _refers(s.props.get("topic"), s, topic, "arn") for s in subscriptions
        ):
            yield topic


def _alarms_reach_someone(production: bool) -> StackCheck:
    """The check for stacks that protect their data (`production`) or for the others."""

    def check(
        resources: Sequence[ResourceView], config: Mapping[str, str]
    ) -> Iterator[tuple[ResourceView, str]]:
        if protect_data(config) == production:
            for topic in _unsubscribed_alarm_topics(resources):
                yield topic, "the alarm topic has no subscriber: its alarms reach nobody"

    return check


_SUBSCRIBE = (
    "Set alarmEmails or alarmHttpsEndpoints: pulumi config set --path 'alarmEmails[0]' "
    "<on-call address> --stack <stack> (docs/deploying.md, one-time setup); each address "
    "confirms the email SNS sends."
)
stack_rule(
    "UPL-ALARM-SUBSCRIBERS-PROD",
    "mandatory",
    "Where the stack protects its data (protectData: prod), each alarm topic has a subscriber.",
    _SUBSCRIBE,
)(_alarms_reach_someone(production=True))
stack_rule(
    "UPL-ALARM-SUBSCRIBERS",
    "advisory",
    "Elsewhere (dev, staging), each alarm topic has a subscriber.",
    _SUBSCRIBE,
)(_alarms_reach_someone(production=False))


@resource_rule(
    "UPL-ALARM-RUNBOOK",
    "advisory",
    "Each alarm's description links its runbook by an https:// URL, which an on-call engineer "
    "can open from the alarm's email or chat message.",
    "Set alarmRunbookUrl to where docs/operations.md is published: pulumi config set "
    "alarmRunbookUrl <url> --stack <stack> (ServiceAlarmsArgs.runbook_url for library users).",
    ALARM,
)
def _runbook_linked(alarm: ResourceView, _config: Mapping[str, str]) -> Iterator[str]:
    description = alarm.props.get("alarmDescription")
    if description is UNKNOWN or (isinstance(description, str) and "https://" in description):
        return
    link = description.rsplit("Runbook: ", 1)[-1] if isinstance(description, str) else None
    yield f"links no runbook URL ({link!r}): nobody paged can open it"
