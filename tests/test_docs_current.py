"""Docs that cannot go stale: each figure or list a page states is held against what it states."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from offline.project import stack_names

PROJECT_DIR = Path(__file__).resolve().parent.parent
DOCS = PROJECT_DIR / "docs"
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import bench_deploy  # noqa: E402
import wheel_figures  # noqa: E402

NUMBERS = {5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def read(page: str) -> str:
    return (DOCS / page).read_text(encoding="utf-8")


# --- api.md: the curl examples work against a deployed stack ------------------------------------


def test_every_api_call_in_the_examples_carries_the_token() -> None:
    text = read("api.md")
    commands = re.findall(r"^curl .*?(?<!\\)$", text, re.MULTILINE | re.DOTALL)
    to_api = [command for command in commands if '"$API_URL' in command]
    assert len(to_api) >= 7, "the API examples are gone"
    missing = [c for c in to_api if '-H "authorization: Bearer $TOKEN"' not in c]
    assert not missing, f"docs/api.md: calls to the API without the token: {missing}"
    assert re.search(r"^TOKEN=\$\(aws cognito-idp initiate-auth ", text, re.MULTILINE)


# --- layout.md: the tree as it is -------------------------------------------------------------


def layout_entries() -> tuple[set[str], str]:
    """(paths the layout's tree names, the tree's text)."""
    tree = re.search(r"```\n(.*?)```", read("layout.md"), re.DOTALL)[1]
    entries: set[str] = set()
    parent = ""
    for line in tree.splitlines():
        match = re.match(r"^( ?)( ?)(\S[^ ]*(?:, \S+)*)", line)
        if not match or line.startswith("   "):
            continue  # a description's continuation
        names = [n.strip() for n in match[3].split(",")]
        if not match[2]:
            parent = names[0] if names[0].endswith("/") else ""
            entries.update(names)
        else:
            entries.update(parent + name for name in names)
    return entries, tree


def tracked() -> list[str]:
    return subprocess.run(
        ["git", "ls-files"],  # noqa: S607 - git on this repository
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


def test_the_layout_names_only_what_exists() -> None:
    entries, _ = layout_entries()
    missing = []
    for entry in entries:
        pattern = re.sub(r"<[^>]+>", "*", entry.rstrip("/"))
        if not list(PROJECT_DIR.glob(pattern)):
            missing.append(entry)
    assert not missing, f"docs/layout.md names what the tree does not have: {sorted(missing)}"


def test_the_layout_covers_every_top_level_entry_and_component_module() -> None:
    entries, tree = layout_entries()
    files = tracked()
    top = {f.split("/")[0] + ("/" if "/" in f else "") for f in files}
    top = {t for t in top if not t.startswith(".") and t not in ("README.md", "Makefile")}
    covered = {re.sub(r"<[^>]+>", "*", e.split("/")[0]) for e in entries}
    uncovered = [t for t in sorted(top) if not any(Path(t.rstrip("/")).match(c) for c in covered)]
    assert not uncovered, f"docs/layout.md leaves out: {uncovered}"
    # The public modules, each a component or what a user imports; private helpers may be named
    # with the module they serve.
    modules = [Path(f).name for f in files if re.fullmatch(r"components/[a-z][^/]*\.py", f)]
    unnamed = [m for m in modules if m not in tree]
    assert not unnamed, f"docs/layout.md does not name components/{unnamed}"
    functions = {f.split("/")[1] for f in files if f.startswith("lambda_src/") and f.count("/") > 1}
    assert {f"lambda_src/{name}/" for name in functions} <= entries


# --- using-the-components.md: how many components, and which languages get them ------------------


def test_the_component_count_and_the_python_only_ones_are_what_the_package_has() -> None:
    schema = json.loads((PROJECT_DIR / "schema.json").read_text(encoding="utf-8"))
    in_schema = {token.rsplit(":", 1)[1] for token in schema["resources"]}
    table = read("components/README.md")
    documented = set(re.findall(r"^\| \[(\w+)\]\(", table, re.MULTILINE))
    text = " ".join(read("using-the-components.md").split())
    assert f"The package has {NUMBERS[len(documented)]} components" in text
    assert f"{NUMBERS[len(in_schema)]} of them" in text
    for name in in_schema:
        assert name in text.split("are one Pulumi package")[0], name
    python_only = sorted(documented - in_schema)
    assert f"{' and '.join(python_only)} are Python-only" in text


# --- deploying.md: the stack outputs ----------------------------------------------------------


def test_deploying_lists_every_stack_output(stack_graphs) -> None:
    exported = set()
    for stack in stack_names(PROJECT_DIR):
        exported |= set(stack_graphs(stack).outputs)
    block = re.search(r"^pulumi stack output +#(.*?)^API_URL", read("deploying.md"), re.M | re.S)
    listed = set(re.findall(r"\b[a-z]+[A-Z]\w*\b", block[1]))
    assert listed == exported, f"deploying.md lists {sorted(listed)}, the stacks export {exported}"


# --- figures ----------------------------------------------------------------------------------


WHEEL_TOLERANCE = 0.1
"""How far the page's wheel figures may lag the wheel before this fails (`make docs` rewrites
them): a file or two added does not stop everyone's landing, a stale page does."""


def test_the_wheel_figures_are_the_wheels(tmp_path: Path) -> None:
    row = wheel_figures.wheel_row(wheel_figures.build_wheel(tmp_path))
    stated = wheel_figures.WHEEL_ROW.search(read("packaging-and-versions.md"))
    assert stated, "docs/packaging-and-versions.md has no wheel row"
    figures = [int(n) for n in re.findall(r"(\d+) (?:KiB|files)", stated[0])]
    actual = [int(n) for n in re.findall(r"(\d+) (?:KiB|files)", row)]
    assert len(figures) == len(actual) == 3, stated[0]
    off = [abs(s - a) / a for s, a in zip(figures, actual, strict=True)]
    assert max(off) <= WHEEL_TOLERANCE, f"the page says {stated[0]}, the wheel is {row}: make docs"


def test_the_first_page_figures_are_the_benchmarks_own() -> None:
    table = bench_deploy.FIRST_PAGE_TABLE.search(read("benchmarks.md"))
    assert table, "docs/benchmarks.md lost the generated first-page table"
    body = table[0]
    venv = float(re.search(r"\| (\d+) MB \|", body)[1])
    pip_s, default_s = (float(s) for s in re.findall(r"\| (\d+\.\d) s \|", body))
    written = bench_deploy.figures_table(venv, pip_s, default_s)
    assert written in body, "not the table scripts/bench_deploy.py --write-docs writes"
    assert default_s / pip_s <= 0.5, f"make dev took {default_s / pip_s:.2f}x pip (target 0.5x)"
