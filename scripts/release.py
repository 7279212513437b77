"""Tag a release: `v<version>` from pyproject.toml, once CHANGELOG.md describes it.

`make release` runs it in the repository's checkout. It refuses, with one line saying why, when
the working tree has uncommitted changes, when CHANGELOG.md's newest release is not the version
pyproject.toml declares (with a date) or its entry is empty, or when the tag exists already. It
then makes an annotated tag on HEAD and prints the push that publishes it: `pulumi package add
<URL>/plugin@v<version>` and `pip install git+<URL>@v<version>` resolve that tag
(docs/packaging-and-versions.md).

Run: python scripts/release.py [--repo PATH]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$")


class ReleaseRefused(Exception):
    """The checkout is not ready to tag (the message says why)."""


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - git with our own arguments
        ["git", "-C", str(repo), *args],  # noqa: S607 - git on PATH
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ReleaseRefused(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def changelog_entry(text: str, version: str) -> str:
    """The body of the newest release section, which must be `version`'s."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if RELEASE.match(line)]
    if not starts:
        raise ReleaseRefused("CHANGELOG.md has no release section (## [X.Y.Z] - YYYY-MM-DD)")
    newest = RELEASE.match(lines[starts[0]])
    assert newest is not None
    if newest.group(1) != version:
        raise ReleaseRefused(
            f"CHANGELOG.md's newest release is {newest.group(1)}, pyproject.toml says {version}:"
            f" move the Unreleased entries under ## [{version}] - <date>"
        )
    end = next((i for i in range(starts[0] + 1, len(lines)) if lines[i].startswith("## ")), None)
    body = "\n".join(lines[starts[0] + 1 : end]).strip()
    if not body:
        raise ReleaseRefused(f"CHANGELOG.md's entry for {version} is empty")
    return body


def release(repo: Path) -> str:
    """Tag HEAD as v<version>; returns the tag."""
    version = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    if _git(repo, "status", "--porcelain", "--untracked-files=no").strip():
        raise ReleaseRefused("the working tree has uncommitted changes: commit them first")
    changelog_entry((repo / "CHANGELOG.md").read_text(encoding="utf-8"), version)
    tag = f"v{version}"
    if _git(repo, "tag", "--list", tag).strip():
        raise ReleaseRefused(f"{tag} exists already: raise the version in pyproject.toml")
    _git(repo, "tag", "--annotate", tag, "--message", f"serverless-uploads {version}")
    return tag


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    repo = parser.parse_args().repo
    try:
        tag = release(repo)
    except ReleaseRefused as refused:
        print(f"release refused: {refused}", file=sys.stderr)
        return 1
    print(f"tagged {tag}; publish it with: git push origin {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
