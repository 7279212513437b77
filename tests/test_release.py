"""`make release` (scripts/release.py) on a throwaway repository: the tag comes from
pyproject.toml, and only once CHANGELOG.md describes that version and the tree is committed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = """# Changelog

## [Unreleased]

## [{version}] - 2026-12-07

### Added
- Something a user notices.

## [0.1.0] - 2026-11-01

### Added
- The start.
"""

EMPTY_ENTRY = "## [0.3.0] - 2026-12-07\n\n## [0.1.0] - 2026-11-01\n- x\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(  # noqa: S603
        ["git", "-C", str(repo), *args],  # noqa: S607
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):
        monkeypatch.setenv(f"{variable}_NAME", "Release Test")
        monkeypatch.setenv(f"{variable}_EMAIL", "release@example.com")
    _git(tmp_path, "init", "--quiet")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0.3.0"\n')
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG.format(version="0.3.0"))
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "--quiet", "-m", "0.3.0")
    return tmp_path


def _release(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / "release.py"), "--repo", str(repo)],
        capture_output=True, text=True, check=False, env=os.environ,
    )  # fmt: skip


def test_release_tags_the_version_pyproject_declares(repo: Path) -> None:
    result = _release(repo)
    assert result.returncode == 0, result.stderr
    assert "git push origin v0.3.0" in result.stdout
    assert _git(repo, "tag", "--list").split() == ["v0.3.0"]
    assert _git(repo, "rev-parse", "v0.3.0^{commit}") == _git(repo, "rev-parse", "HEAD")
    assert "serverless-uploads 0.3.0" in _git(repo, "tag", "-n1", "v0.3.0")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda r: (r / "CHANGELOG.md").write_text(CHANGELOG.format(version="0.2.9")),
            "newest release is 0.2.9, pyproject.toml says 0.3.0",
        ),
        (
            lambda r: (r / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n"),
            "no release section",
        ),
        (
            lambda r: (r / "CHANGELOG.md").write_text(
                "## [0.3.0] - 2026-12-07\n\n## [0.1.0] - 2026-11-01\n- x\n"
            ),
            "entry for 0.3.0 is empty",
        ),
        (lambda r: _git(r, "tag", "v0.3.0"), "v0.3.0 exists already"),
    ],
    ids=["changelog-behind", "no-release", "empty-entry", "tag-exists"],
)
def test_release_refuses_in_one_line(repo: Path, change, reason: str) -> None:
    change(repo)
    if _git(repo, "status", "--porcelain"):
        _git(repo, "commit", "--quiet", "-am", "change")
    tags_before = _git(repo, "tag", "--list")
    result = _release(repo)
    assert result.returncode == 1
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _git(repo, "tag", "--list") == tags_before


def test_release_refuses_uncommitted_changes(repo: Path) -> None:
    (repo / "CHANGELOG.md").write_text(CHANGELOG.format(version="0.3.0") + "- more\n")
    result = _release(repo)
    assert result.returncode == 1
    assert "uncommitted changes" in result.stderr
    assert _git(repo, "tag", "--list") == ""


def test_make_release_runs_the_script() -> None:
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"^release:.*\n\t(.+)$", makefile, re.M)
    assert target
    assert target.group(1) == "$(PYTHON) scripts/release.py"
