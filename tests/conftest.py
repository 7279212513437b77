"""Shared test helpers: run components or whole stacks under the offline engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from offline import ResourceGraph, run_program, run_stack
from offline.preview import Plan, make_plan

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def build() -> Callable[..., ResourceGraph]:
    """`build(lambda: Component(...), config={...})` -> the registered resource graph."""

    def _build(
        program: Callable[[], object], config: dict[str, str] | None = None
    ) -> ResourceGraph:
        return run_program(program, config=config)

    return _build


@pytest.fixture(scope="session")
def stack_graphs() -> Callable[[str], ResourceGraph]:
    """The whole program for a stack, run once per session per stack."""
    cache: dict[str, ResourceGraph] = {}

    def _graph(stack: str) -> ResourceGraph:
        if stack not in cache:
            cache[stack] = run_stack(stack, PROJECT_DIR)
        return cache[stack]

    return _graph


@pytest.fixture(scope="session")
def stack_plans(stack_graphs: Callable[[str], ResourceGraph]) -> Callable[[str], Plan]:
    """`plan STACK` for this project, from the session's run of the stack's program."""
    cache: dict[str, Plan] = {}

    def _plan(stack: str) -> Plan:
        if stack not in cache:
            cache[stack] = make_plan(stack, PROJECT_DIR, graph=stack_graphs(stack))
        return cache[stack]

    return _plan
