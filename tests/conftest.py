"""Shared test helpers: run components or whole stacks under the offline engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from offline import ResourceGraph, run_program, run_stack
from offline.preview import Plan, make_plan

PROJECT_DIR = Path(__file__).resolve().parent.parent
SLOW_FILES_FIRST = (
    "tests/test_typescript_client.py",  # npm ci and the plugin's own virtualenv on a fresh clone
    "tests/test_benchmarks.py",
    "tests/local/test_operations_doc.py",
)
"""Files whose one-off setup takes a minute or more on a fresh clone: run first, so that under
`pytest -n auto --dist loadfile` (make test) the other worker runs the rest meanwhile instead of
waiting for them at the end."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(PROJECT_DIR).as_posix()
        return SLOW_FILES_FIRST.index(path) if path in SLOW_FILES_FIRST else len(SLOW_FILES_FIRST)

    items.sort(key=rank)  # stable: every other test keeps its order


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
