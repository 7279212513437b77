"""The preflight: a stack whose reserved concurrency the account cannot give fails its preview in
one line, before any resource; an unreadable quota warns and lets the run go on."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline import ProgramError, run_stack

PROJECT_DIR = Path(__file__).resolve().parent.parent
QUOTA = "lambda/L-B99A9384"
RESERVED = {"prod": 250, "staging": 25}
"""uploadsReservedConcurrency + onUploadReservedConcurrency of the stack files."""


def warnings(graph) -> list[str]:
    return [message for level, message in graph.logs if level == "warning"]


@pytest.mark.parametrize("stack", sorted(RESERVED))
def test_a_quota_that_leaves_the_floor_unreserved_is_enough(stack):
    graph = run_stack(stack, PROJECT_DIR, quotas={QUOTA: RESERVED[stack] + 100})
    assert graph.of_type("aws:lambda/function:Function")
    assert not [w for w in warnings(graph) if "preflight" in w]


@pytest.mark.parametrize("stack", sorted(RESERVED))
def test_one_execution_less_fails_in_one_line_naming_needed_available_and_keys(stack):
    with pytest.raises(ProgramError) as failure:
        run_stack(stack, PROJECT_DIR, quotas={QUOTA: RESERVED[stack] + 99})
    message = str(failure.value)
    assert "\n" not in message
    assert f"Lambda concurrency needed {RESERVED[stack]} " in message
    assert f"available {RESERVED[stack] - 1} " in message
    assert "lower uploadsReservedConcurrency or onUploadReservedConcurrency" in message


def test_a_new_accounts_quota_of_ten_fails_prod():
    with pytest.raises(ProgramError, match=r"needed 250 \(uploadsReservedConcurrency 200 \+ "):
        run_stack("prod", PROJECT_DIR, quotas={QUOTA: 10})


def test_an_unreadable_quota_is_a_warning_not_a_failure():
    graph = run_stack("prod", PROJECT_DIR, quotas={QUOTA: None})
    assert graph.of_type("aws:lambda/function:Function")
    [warning] = [w for w in warnings(graph) if "preflight" in w]
    assert "cannot read the Lambda concurrent executions quota" in warning
    assert "a quota of at least 350" in warning


def test_a_stack_that_reserves_nothing_never_reads_the_quota():
    graph = run_stack("dev", PROJECT_DIR, quotas={QUOTA: None})
    assert not [w for w in warnings(graph) if "preflight" in w]
