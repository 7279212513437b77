"""docs/deploying.md and docs/add-an-environment.md name only what exists: every make target and
make variable is the Makefile's, every `.ci/` script is there and run by a workflow, every
repository or environment variable and every job is the workflows'."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from offline.__main__ import COMMANDS

PROJECT_DIR = Path(__file__).resolve().parent.parent
PAGES = [PROJECT_DIR / "docs" / "deploying.md", PROJECT_DIR / "docs" / "add-an-environment.md"]
MAKEFILE = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
CI_FILES = [
    *sorted((PROJECT_DIR / ".github").rglob("*.yml")),
    *sorted(p for p in (PROJECT_DIR / ".ci").iterdir() if p.is_file()),
]
CI_TEXT = "\n".join(p.read_text(encoding="utf-8") for p in CI_FILES)
WORKFLOW_TEXT = "\n".join(
    p.read_text(encoding="utf-8") for p in sorted((PROJECT_DIR / ".github").rglob("*.yml"))
)
JOBS = {
    name
    for path in sorted((PROJECT_DIR / ".github" / "workflows").glob("*.yml"))
    for name in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"]
}
TEXT = {page.name: page.read_text(encoding="utf-8") for page in PAGES}


def code_spans(text: str) -> list[str]:
    """Inline code and the lines of fenced blocks: where the pages name commands."""
    blocks = re.findall(r"^```\w*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", text, flags=re.M | re.S))
    return inline + [line for block in blocks for line in block.splitlines()]


def make_commands(text: str) -> list[tuple[str, list[str]]]:
    """(target, [VARIABLE, ...]) of each `make ...` the page names."""
    found = []
    for span in code_spans(text):
        for match in re.finditer(r"\bmake((?: +[A-Za-z0-9_./-]+(?:=(?:\"[^\"]*\"|\S*))?)+)", span):
            words = re.findall(r"[A-Za-z0-9_./-]+(?:=(?:\"[^\"]*\"|\S*))?", match.group(1))
            targets = [w for w in words if "=" not in w]
            variables = [w.split("=")[0] for w in words if "=" in w]
            found.append((targets[0] if targets else "", variables))
    return found


def makefile_target_exists(target: str) -> bool:
    return re.search(rf"^{re.escape(target)}:", MAKEFILE, re.MULTILINE) is not None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_make_target_and_variable_named_exists(page):
    commands = make_commands(TEXT[page.name])
    assert commands, page.name
    for target, variables in commands:
        assert makefile_target_exists(target), f"{page.name}: make {target}"
        for variable in variables:
            assert re.search(rf"\$\({variable}\)", MAKEFILE), f"{page.name}: {variable}="


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_ci_script_named_exists_and_a_workflow_runs_it(page):
    scripts = set(re.findall(r"\.ci/[a-z-]+", TEXT[page.name]))
    for script in scripts:
        assert (PROJECT_DIR / script).is_file(), script
        if script != ".ci/run":
            assert f"run: {script}" in WORKFLOW_TEXT or f"{script} " in WORKFLOW_TEXT, script
    assert ".ci/run" not in scripts or "bash .ci/run" in WORKFLOW_TEXT


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_variable_named_is_one_the_workflows_read(page):
    spans = code_spans(TEXT[page.name])
    named = {
        name
        for span in spans
        for name in re.findall(r"\b(?:vars\.)?((?:AWS|PULUMI)_[A-Z0-9_]+)\b", span)
    }
    assert named, page.name
    for name in named:
        assert re.search(rf"\bvars\.{name}\b", CI_TEXT) or re.search(rf"\b{name}\b", CI_TEXT), (
            f"{page.name}: {name}"
        )


def test_every_job_in_the_ci_table_is_a_workflow_job():
    table = [line for line in TEXT["deploying.md"].splitlines() if line.startswith("| `")]
    jobs = {re.match(r"\| `([a-z-]+)`", line).group(1) for line in table}
    assert {"test", "plan", "preview", "up-dev", "up-staging", "up-prod", "drift"} <= jobs
    assert jobs <= JOBS


def test_every_offline_command_named_exists():
    for text in TEXT.values():
        for command in re.findall(r"python -m offline (\w[\w-]*)", text):
            assert command in COMMANDS, command


def test_the_checks_can_fail():
    assert not makefile_target_exists("deploy-everything")
    assert make_commands("run `make plan STACK=qa ARGS=--quiet`") == [("plan", ["STACK", "ARGS"])]
    assert not re.search(r"\bvars\.AWS_ROLE_ARN\b", CI_TEXT), "the old single role is gone"
