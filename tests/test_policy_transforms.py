"""Violations built the way a user could build them: through the components' `transforms` escape
hatch (or their arguments), then caught by the rules. The same small program, a bucket and a
function behind an HTTP API, with the function's alarms, is clean with its defaults."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.alarms import ServiceAlarms, ServiceAlarmsArgs
from components.function import PythonFunction, PythonFunctionArgs
from components.http_api import HttpApi, HttpApiArgs
from components.storage import StorageBucket, StorageBucketArgs
from offline import run_program
from policy.rules import evaluate
from tests.policy_support import rule_ids, views

HELLO = Path(__file__).resolve().parent.parent / "examples" / "minimal" / "hello"
PROTECTED = {"serverless-uploads:protectData": "true", "serverless-uploads:auth": "cognito"}


def violations(
    bucket: Mapping[str, Any] | None = None,
    function: Mapping[str, Any] | None = None,
    api: Mapping[str, Any] | None = None,
    config: Mapping[str, str] | None = None,
    alarms: Mapping[str, Any] | None = None,
) -> set[str]:
    """Rule ids the program breaks, given each component's extra arguments."""

    def program() -> None:
        storage = StorageBucket("files", StorageBucketArgs(**(bucket or {})))
        hello = PythonFunction(
            "hello",
            PythonFunctionArgs(
                **{
                    "source": HELLO,
                    "statements": storage.grant_list(),
                    # what UploadService derives from the account: UPL-ROLE-BOUNDARY is mandatory
                    "permissions_boundary": BOUNDARY,
                    **(function or {}),
                }
            ),
        )
        HttpApi("api", HttpApiArgs(routes={"GET /hello": hello}, **(api or {})))
        subscribed = {
            "emails": ["ops@example.com"],
            "runbook_url": "https://runbooks.example.com/operations",
            **(alarms or {}),
        }
        ServiceAlarms("alarms", ServiceAlarmsArgs(functions=[hello], **subscribed))

    graph = run_program(program, config=dict(config or {}))
    return rule_ids(evaluate(views(graph), dict(config or {})))


BOUNDARY = "arn:aws:iam::123456789012:policy/uploads-permissions-boundary"
TLS_ANY_VERSION = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::files/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}
"""A bucket policy that requires TLS but accepts TLS 1.0 and 1.1."""


def allow(action: str, resource: str) -> dict[str, str]:
    """A role policy transform: the function's whole policy replaced by one statement."""
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}


def unprotect(_props: dict, opts: pulumi.ResourceOptions) -> None:
    opts.protect = False


CASES = {
    "S3.8": {"bucket": {"transforms": {"public_access_block": {"block_public_policy": False}}}},
    "S3.12": {
        "bucket": {
            "transforms": {"ownership_controls": {"rule": {"object_ownership": "ObjectWriter"}}}
        }
    },
    "CKV_AWS_19": {"bucket": {"transforms": {"encryption": {"rules": []}}}},
    "S3.5": {"bucket": {"transforms": {"policy": {"policy": json.dumps(TLS_ANY_VERSION)}}}},
    "S3.14": {
        "bucket": {
            "transforms": {"versioning": {"versioning_configuration": {"status": "Suspended"}}}
        }
    },
    "S3.13": {
        "bucket": {
            "transforms": {
                "lifecycle": {
                    "rules": [{"id": "expire", "status": "Enabled", "expiration": {"days": 30}}]
                }
            }
        }
    },
    "UPL-PROTECT-DATA": {
        "bucket": {"protect": True, "transforms": {"bucket": unprotect}},
        "config": PROTECTED,
    },
    "KMS.4": {
        "bucket": {"kms_key": "create", "transforms": {"kms_key": {"enable_key_rotation": False}}}
    },
    "Lambda.2": {"function": {"transforms": {"function": {"runtime": "python3.9"}}}},
    "Lambda.7": {"function": {"tracing": False}},
    "UPL-LAMBDA-LOG-GROUP": {
        "function": {"transforms": {"function": {"logging_config": {"log_format": "JSON"}}}}
    },
    "CKV_AWS_116": {
        "function": {"transforms": {"event_invoke_config": {"destination_config": None}}}
    },
    "SQS.1": {
        "function": {"transforms": {"dead_letter_queue": {"sqs_managed_sse_enabled": False}}}
    },
    "IAM.21": {"function": {"transforms": {"policy": allow("s3:*", "arn:aws:s3:::files/*")}}},
    "CKV_AWS_355": {"function": {"transforms": {"policy": allow("s3:ListBucket", "*")}}},
    "APIGateway.9": {"api": {"transforms": {"stage": {"access_log_settings": None}}}},
    "UPL-ALARMS": {"alarms": {"transforms": {"alarm": {"alarm_actions": []}}}},
    "UPL-ALARM-SUBSCRIBERS": {"alarms": {"emails": []}},
    "UPL-ALARM-RUNBOOK": {"alarms": {"runbook_url": "docs/operations.md"}},
    "UPL-ALARM-SUBSCRIBERS-PROD": {
        "alarms": {"emails": []},
        "bucket": {"protect": True},
        "config": PROTECTED,
    },
    "UPL-APIGW-THROTTLING": {
        "api": {
            "transforms": {"stage": {"default_route_settings": {"detailed_metrics_enabled": False}}}
        }
    },
    "CKV_AWS_66": {"api": {"transforms": {"log_group": {"retention_in_days": 0}}}},
}


def test_the_program_is_clean_with_its_defaults():
    assert violations() == set()
    assert violations(bucket={"protect": True}, config=PROTECTED) == set()


@pytest.mark.parametrize("rule_id", CASES)
def test_a_transform_that_weakens_a_child_fails_its_rule(rule_id):
    assert violations(**CASES[rule_id]) == {rule_id}
