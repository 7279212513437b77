"""`make plan` shows what a real first `pulumi preview` can know: a stack output built from an
attribute AWS computes at creation (an endpoint, an ARN, an id) is unknown there, while an
autonamed name is known (the provider assigns it before the preview)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from offline.graph import ResourceGraph

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_outputs_from_created_attributes_are_unknown_and_names_known(stack_graphs):
    graph = stack_graphs("dev")
    unknown = graph.unknown_outputs()
    assert {"apiUrl", "userPoolId", "alarmTopicArn", "uploadsDeadLetterQueueUrl"} <= set(unknown)
    assert {"bucketName", "uploadsFunctionName", "onUploadFunctionName"}.isdisjoint(unknown)


def test_a_value_derived_from_a_created_one_is_unknown_too():
    graph = ResourceGraph(
        outputs={
            "url": "https://abc.execute-api.us-east-1.amazonaws.com/uploads",
            "nested": {"secret": {"value": "arn:aws:sns:us-east-1:123456789012:t-1"}},
            "name": "uploads-bucket-159d073",
            "count": 3,
        },
        created_values=frozenset(
            {
                "https://abc.execute-api.us-east-1.amazonaws.com",
                "arn:aws:sns:us-east-1:123456789012:t-1",
            }
        ),
    )
    assert graph.unknown_outputs() == ["nested", "url"]


def test_the_plan_shows_apiurl_as_a_first_preview_does():
    def plan(*args: str) -> str:
        return subprocess.run(  # noqa: S603 - our own module
            [sys.executable, "-m", "offline", "plan", "dev", *args],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    text = plan()
    [api_url] = [line for line in text.splitlines() if line.strip().startswith("apiUrl ")]
    assert "output<string>" in api_url
    assert "unknown until created; offline: https://" in api_url
    [bucket] = [line for line in text.splitlines() if line.strip().startswith("bucketName ")]
    assert "output<string>" not in bucket
    document = json.loads(plan("--json"))
    assert "apiUrl" in document["unknownOutputs"]
    assert document["outputs"]["apiUrl"].startswith("https://")
