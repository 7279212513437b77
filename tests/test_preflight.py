"""The preflight: a stack whose reserved concurrency the account cannot give fails its preview in
one line, before any resource, counting what is left unreserved (stacks sharing an account);
unreadable settings warn and let the run go on; a function the role is denied (another stack's,
to the pull requests' preview role) is skipped, any other error is not. Every role carries the
bootstrap's boundary, derived from the account, and a missing boundary policy stops the run
before any resource."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from components import preflight
from offline import ProgramError, run_stack
from offline.fake_cloud import FAKE_ACCOUNT_ID

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESERVED = {"prod": 250, "staging": 25}
"""uploadsReservedConcurrency + onUploadReservedConcurrency of the stack files."""
BOUNDARY = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:policy/uploads-permissions-boundary"


def limits(unreserved: int, quota: int = 1000) -> dict[str, int]:
    return {"ConcurrentExecutions": quota, "UnreservedConcurrentExecutions": unreserved}


def warnings(graph) -> list[str]:
    return [message for level, message in graph.logs if level == "warning"]


@pytest.mark.parametrize("stack", sorted(RESERVED))
def test_what_is_left_unreserved_above_the_floor_is_enough(stack):
    graph = run_stack(stack, PROJECT_DIR, lambda_limits=limits(RESERVED[stack] + 100))
    assert graph.of_type("aws:lambda/function:Function")
    assert not [w for w in warnings(graph) if "preflight" in w]


@pytest.mark.parametrize("stack", sorted(RESERVED))
def test_one_execution_less_fails_in_one_line_naming_needed_available_and_keys(stack):
    with pytest.raises(ProgramError) as failure:
        run_stack(stack, PROJECT_DIR, lambda_limits=limits(RESERVED[stack] + 99))
    message = str(failure.value)
    assert "\n" not in message
    assert f"Lambda concurrency needed {RESERVED[stack]} " in message
    assert f"available {RESERVED[stack] - 1} " in message
    assert "lower uploadsReservedConcurrency or onUploadReservedConcurrency" in message


def test_another_stacks_reservations_in_the_same_account_count_against_prod():
    """A quota of 1000 passes a quota check; 700 reserved by others leaves 300 - 100 < 250."""
    with pytest.raises(ProgramError, match=r"needed 250 .* available 200 \(300 unreserved"):
        run_stack("prod", PROJECT_DIR, lambda_limits=limits(300, quota=1000))


def test_unreadable_settings_are_a_warning_not_a_failure():
    graph = run_stack("prod", PROJECT_DIR, lambda_limits=None)
    assert graph.of_type("aws:lambda/function:Function")
    [warning] = [w for w in warnings(graph) if "preflight" in w]
    assert "cannot read Lambda's account settings" in warning
    assert "350 executions unreserved" in warning


def test_a_stack_that_reserves_nothing_never_reads_the_settings():
    graph = run_stack("dev", PROJECT_DIR, lambda_limits=None)
    assert not [w for w in warnings(graph) if "preflight" in w]


Answer = tuple[str, int] | str
"""What GetFunction answers for a function: its (stack tag, reservation), or an error code."""


def _stubbed_lambda(monkeypatch, functions: dict[str, Answer]) -> Stubber:
    """A botocore Lambda client whose answers botocore checks against Lambda's real service model
    (Stubber validates operation names, parameters and response shapes): ListFunctions lists
    `functions` and one function not the program's; GetFunction answers each as given."""
    client = botocore.session.get_session().create_client("lambda", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response("get_account_settings", {"AccountLimit": limits(400)})
    listed = [{"FunctionName": name} for name in functions] + [{"FunctionName": "other"}]
    stubber.add_response("list_functions", {"Functions": listed})
    for name, answer in functions.items():
        expected = {"FunctionName": name}
        if isinstance(answer, str):
            status = 403 if answer == "AccessDeniedException" else 500
            stubber.add_client_error("get_function", answer, answer, status, expected)
            continue
        tag, reserved = answer
        stubber.add_response(
            "get_function",
            {"Tags": {"stack": tag}, "Concurrency": {"ReservedConcurrentExecutions": reserved}},
            expected,
        )
    stubber.activate()

    class Session:
        def __init__(self, **_: object) -> None:
            pass

        def client(self, service: str) -> object:
            assert service == "lambda"
            return client

    import boto3

    monkeypatch.setattr(boto3, "Session", Session)
    return stubber


@pytest.mark.parametrize(("tag", "own"), [("prod", 200), ("dev", 0)])
def test_the_real_reader_gives_back_only_this_stacks_own_reservations(monkeypatch, tag, own):
    stubber = _stubbed_lambda(monkeypatch, {"uploads-uploads-fn-1a2b3c4": (tag, 200)})
    account = preflight.read_lambda_account("prod")
    stubber.assert_no_pending_responses()
    assert account == preflight.LambdaAccount(limit=1000, unreserved=400, own=own)


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "ServiceException", "TooManyRequestsException"]
)
def test_an_error_reading_a_function_is_raised_not_skipped(monkeypatch, code):
    """A function that could not be read may be this stack's: the reading fails (the check then
    warns, undecided) instead of counting it as someone else's."""
    functions: dict[str, Answer] = {
        "uploads-uploads-fn-1a2b3c4": code,
        "uploads-on-upload-fn-9a8b7c6": ("staging", 5),
    }
    _stubbed_lambda(monkeypatch, functions)
    with pytest.raises(ClientError) as failure:
        preflight.read_lambda_account("staging")
    assert failure.value.response["Error"]["Code"] == code


def test_every_role_carries_the_boundary_derived_from_the_account(stack_graphs):
    for stack in ("dev", "staging", "prod"):
        for role in stack_graphs(stack).of_type("aws:iam/role:Role"):
            assert role.inputs["permissionsBoundary"] == BOUNDARY, role.urn
            assert role.inputs["path"] == f"/uploads/{stack}/", role.urn


def test_a_missing_boundary_policy_stops_the_run_before_any_resource():
    with pytest.raises(ProgramError) as failure:
        run_stack("dev", PROJECT_DIR, policies=frozenset())
    assert "preflight: the permissions boundary " + BOUNDARY in str(failure.value)
    assert "run the bootstrap" in str(failure.value)
