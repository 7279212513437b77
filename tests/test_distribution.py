"""One version, written in pyproject.toml: the package reports it, CHANGELOG.md's newest release
is it. (The built wheel and the installed package: tests/test_installed_package.py.)"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import components

REPO = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
TAG = r"serverless-uploads(?:/plugin)?@(v[0-9][^\s\"'`)]*)"
"""A release tag named in an install instruction (pip, `package add`, YAML)."""
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$")


def test_the_checkout_reports_the_version_pyproject_declares() -> None:
    assert components.__version__ == VERSION


def test_the_changelog_opens_with_unreleased_then_the_current_version() -> None:
    headings = [
        line for line in (REPO / "CHANGELOG.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    ]  # fmt: skip
    assert headings[0] == "## [Unreleased]"
    releases = [RELEASE.match(line) for line in headings[1:]]
    assert all(releases), [h for h, r in zip(headings[1:], releases, strict=True) if not r]
    found = [(r.group(1), r.group(2)) for r in releases if r]
    assert found[0][0] == VERSION
    versions = [tuple(map(int, version.split("."))) for version, _ in found]
    dates = [date for _, date in found]
    assert versions == sorted(versions, reverse=True)
    assert dates == sorted(dates, reverse=True)


def test_the_examples_install_the_components_from_this_repository() -> None:
    """`pulumi install` runs pip in the example's folder: its requirement is the repository
    itself, never a bare name that an index could answer with someone else's package."""
    for example in ("python", "minimal"):
        folder = REPO / "examples" / example
        lines = [
            line.strip()
            for line in (folder / "requirements.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        assert [(folder / line).resolve() for line in lines] == [REPO]


def test_the_docs_name_no_tag_the_checkout_does_not_have() -> None:
    """Install instructions write `@v<version>`; a concrete `@vX.Y.Z` would have to be a tag
    (`make release` makes them), or a reader would copy a command that cannot resolve."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    pages += sorted((REPO / "examples").rglob("README.md"))
    named = {
        (page.relative_to(REPO).as_posix(), tag)
        for page in pages
        for tag in re.findall(
            r"serverless-uploads(?:/plugin)?@(v[0-9][^\s\"'`)]*)", page.read_text("utf-8")
        )
    }
    tags = set(subprocess.run(  # noqa: S603 - git with fixed arguments
        ["git", "-C", str(REPO), "tag", "--list", "v*"],  # noqa: S607
        capture_output=True, text=True, check=True,
    ).stdout.split())  # fmt: skip
    assert {(page, tag) for page, tag in named if tag not in tags} == set()
    placeholders = [page for page in pages if "serverless-uploads@v<version>" in page.read_text()]
    assert placeholders, "the install instructions name the release as @v<version>"
