"""One version, written in pyproject.toml: the package reports it, CHANGELOG.md's newest release
is it. (The built wheel and the installed package: tests/test_installed_package.py.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import components

REPO = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
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
