"""Every Python block of the README and of docs/ runs. Blocks that use the offline engine
themselves run as plain scripts; all the others of one page run in order, as one program, under
the offline engine (so a block may use what an earlier one on its page defined, as a reader
following along would)."""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

import components
from offline import run_program

PROJECT_DIR = Path(__file__).resolve().parent.parent
PAGES = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
USES_ENGINE = re.compile(r"^\s*(from|import) offline\b", re.MULTILINE)


def python_blocks(page: Path) -> list[tuple[str, str]]:
    """(page:line of the opening fence, code) of every ```python block of `page`."""
    text = page.read_text(encoding="utf-8")
    name = page.relative_to(PROJECT_DIR)
    return [
        (f"{name}:{text.count(chr(10), 0, m.start()) + 1}", m.group(1))
        for m in FENCE.finditer(text)
    ]


BLOCKS = {page: python_blocks(page) for page in PAGES}
PROGRAMS = {
    page: [(where, code) for where, code in blocks if not USES_ENGINE.search(code)]
    for page, blocks in BLOCKS.items()
}
SCRIPT_BLOCKS = [
    (where, code)
    for blocks in BLOCKS.values()
    for where, code in blocks
    if USES_ENGINE.search(code)
]
PROGRAM_PAGES = [page for page, blocks in PROGRAMS.items() if blocks]


def execute(where: str, code: str, namespace: dict) -> None:
    try:
        exec(compile(code, where, "exec"), namespace)  # noqa: S102
    except Exception as exc:
        raise AssertionError(f"{where} block: {type(exc).__name__}: {exc}") from exc


def test_the_docs_have_python_blocks():
    assert sum(len(blocks) for blocks in PROGRAMS.values()) >= 5
    assert len(SCRIPT_BLOCKS) >= 1
    total = sum(page.read_text(encoding="utf-8").count("```python") for page in PAGES)
    assert sum(len(blocks) for blocks in BLOCKS.values()) == total


@pytest.mark.parametrize(
    "page", PROGRAM_PAGES, ids=[str(p.relative_to(PROJECT_DIR)) for p in PROGRAM_PAGES]
)
def test_page_programs_run_under_the_offline_engine(monkeypatch, page):
    monkeypatch.chdir(PROJECT_DIR)  # the examples name sources relative to the project
    # The pages import the installed name, serverless_uploads (tests/test_python_consumer.py
    # runs them against the wheel): here it is this checkout's components/.
    monkeypatch.setitem(sys.modules, "serverless_uploads", components)
    for info in pkgutil.iter_modules(components.__path__):
        module = importlib.import_module(f"components.{info.name}")
        monkeypatch.setitem(sys.modules, f"serverless_uploads.{info.name}", module)
    namespace: dict = {"__name__": "__main__"}
    ran: list[str] = []

    def program() -> None:
        for where, code in PROGRAMS[page]:
            execute(where, code, namespace)
            ran.append(where)

    graph = run_program(program, stack="readme")
    assert ran == [where for where, _ in PROGRAMS[page]]
    duplicated = [urn for urn, n in Counter(r.urn for r in graph).items() if n > 1]
    assert duplicated == [], "the real engine rejects a second resource with the same URN"
    assert len(graph) > 0
    if page.parent.name == "components":  # a component's page builds that component
        assert graph.of_type("uploads:index:" + page.stem.title().replace("-", ""))


def test_every_component_page_has_an_example():
    components = {p.stem for p in PROGRAM_PAGES if p.parent.name == "components"}
    assert components == {
        "storage-bucket", "python-function", "http-api", "user-pool", "upload-service",
        "service-alarms", "service-dashboard",
    }  # fmt: skip


def test_doc_scripts_run(monkeypatch, capsys):
    monkeypatch.chdir(PROJECT_DIR)
    for where, code in SCRIPT_BLOCKS:
        execute(where, code, {"__name__": "__main__"})
    assert capsys.readouterr().out  # the examples print what they found
