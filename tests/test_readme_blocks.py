"""Every Python block of the README runs. Blocks that use the offline engine themselves run as
plain scripts; all the others run in order, as one program, under the offline engine (so a
block may use what an earlier one defined, as a reader following along would)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from offline import run_program

PROJECT_DIR = Path(__file__).resolve().parent.parent
README = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
USES_ENGINE = re.compile(r"^\s*(from|import) offline\b", re.MULTILINE)


def python_blocks() -> list[tuple[int, str]]:
    """(line of the opening fence, code) of every ```python block."""
    return [(README.count("\n", 0, m.start()) + 1, m.group(1)) for m in FENCE.finditer(README)]


BLOCKS = python_blocks()
PROGRAM_BLOCKS = [(line, code) for line, code in BLOCKS if not USES_ENGINE.search(code)]
SCRIPT_BLOCKS = [(line, code) for line, code in BLOCKS if USES_ENGINE.search(code)]


def execute(line: int, code: str, namespace: dict) -> None:
    try:
        exec(compile(code, f"README.md:{line}", "exec"), namespace)  # noqa: S102
    except Exception as exc:
        raise AssertionError(
            f"README.md block at line {line}: {type(exc).__name__}: {exc}"
        ) from exc


def test_the_readme_has_python_blocks():
    assert len(PROGRAM_BLOCKS) >= 4
    assert len(SCRIPT_BLOCKS) >= 1
    assert len(PROGRAM_BLOCKS) + len(SCRIPT_BLOCKS) == README.count("```python")


def test_readme_programs_run_under_the_offline_engine(monkeypatch):
    monkeypatch.chdir(PROJECT_DIR)  # the examples name sources relative to the project
    namespace: dict = {"__name__": "__main__"}
    ran: list[int] = []

    def program() -> None:
        for line, code in PROGRAM_BLOCKS:
            execute(line, code, namespace)
            ran.append(line)

    graph = run_program(program, stack="readme")
    assert ran == [line for line, _ in PROGRAM_BLOCKS]
    duplicated = [urn for urn, n in Counter(r.urn for r in graph).items() if n > 1]
    assert duplicated == [], "the real engine rejects a second resource with the same URN"
    assert graph.of_type("uploads:index:StorageBucket")
    assert graph.of_type("uploads:index:UploadService")


def test_readme_scripts_run(monkeypatch, capsys):
    monkeypatch.chdir(PROJECT_DIR)
    for line, code in SCRIPT_BLOCKS:
        execute(line, code, {"__name__": "__main__"})
    assert capsys.readouterr().out  # the examples print what they found
