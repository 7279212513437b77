"""The bootstrap's permissions boundary holds every grant the program gives its functions: each
action on each resource of every function role's policy, in every stack, is allowed by the
boundary when the function makes the call (tests/iam_evaluation.py). A grant the boundary lacks
would pass every offline test and be denied on AWS, where a role's effective permissions are its
policy AND its boundary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline import run_stack
from offline.fake_cloud import FAKE_ACCOUNT_ID as ACCOUNT
from offline.project import stack_names
from tests.iam_evaluation import Request, allowed

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG = {"serverless-uploads-bootstrap:githubRepository": "octo-org/serverless-uploads"}
EVERYTHING = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
"""An identity policy allowing all: what is left to decide is the boundary's."""


@pytest.fixture(scope="module")
def boundary() -> dict:
    bootstrap = run_stack("ci", PROJECT_DIR / "bootstrap", overrides=CONFIG)
    return json.loads(bootstrap.one("aws:iam/policy:Policy").inputs["policy"])


def _list(value: object) -> list[str]:
    return value if isinstance(value, list) else [value]  # type: ignore[return-value]


def calls(stack: str, stack_graphs) -> list[tuple[str, Request]]:
    """(function, request) for every action and resource each function's role is granted, as
    the function makes it: from its code (lambda:SourceFunctionArn), S3's KMS calls through S3."""
    graph = stack_graphs(stack)
    found = []
    for function in graph.of_type("aws:lambda/function:Function"):
        arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function.outputs['name']}"
        [role] = [
            r
            for r in graph.of_type("aws:iam/role:Role")
            if r.outputs["arn"] == function.inputs["role"]
        ]
        [policy] = [
            p
            for p in graph.of_type("aws:iam/rolePolicy:RolePolicy")
            if p.inputs["role"] == role.outputs["name"]
        ]
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            for action in _list(statement["Action"]):
                for resource in _list(statement["Resource"]):
                    context = {"lambda:SourceFunctionArn": arn, "aws:ResourceAccount": ACCOUNT}
                    if action.startswith("kms:"):
                        context["kms:ViaService"] = "s3.us-east-1.amazonaws.com"
                    request = Request(action, resource.replace("*", "x"), context)
                    found.append((function.name, request))
    return found


@pytest.mark.parametrize("stack", stack_names(PROJECT_DIR))
def test_the_boundary_allows_every_grant_of_every_function(boundary, stack_graphs, stack):
    requests = calls(stack, stack_graphs)
    assert requests
    denied = [
        f"{name}: {r.action} on {r.resource}"
        for name, r in requests
        if not allowed(r, [EVERYTHING], boundary)
    ]
    assert denied == []


def test_the_boundary_check_can_fail(boundary, stack_graphs):
    """Without object writes in the boundary, the upload function's grant is denied."""
    trimmed = {
        **boundary,
        "Statement": [s for s in boundary["Statement"] if s["Sid"] != "UseObjects"],
    }
    requests = [r for _, r in calls("dev", stack_graphs) if r.action == "s3:PutObject"]
    assert requests
    assert not any(allowed(r, [EVERYTHING], trimmed) for r in requests)
