"""The README stays short, and every relative link of the README and of docs/ leads somewhere:
an existing file or folder, and the heading its #anchor names."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
README = PROJECT_DIR / "README.md"
PAGES = [
    README,
    PROJECT_DIR / "lambda_src" / "README.md",
    *sorted((PROJECT_DIR / "docs").rglob("*.md")),
]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.MULTILINE)


def prose(page: Path) -> str:
    """The page without its code blocks (a `# comment` in a shell block is no heading)."""
    return FENCE.sub("", page.read_text(encoding="utf-8"))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(prose(page)):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def relative_links(page: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(page))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # https:, mailto:
    ]


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        destination = (page.parent / unquote(path)).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor}")
    return broken


def test_slugs_follow_github():
    assert slug("Local mode (`make dev`)") == "local-mode-make-dev"
    assert slug("Thumbnails: image limits, engine and memory") == (
        "thumbnails-image-limits-engine-and-memory"
    )
    assert slug("`make plan` and the offline engine") == "make-plan-and-the-offline-engine"


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## A section\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md#a-section) [self](#page) [web](https://example.com/x)\n"
        "[gone](missing.md) [bad anchor](other.md#nowhere) [bad self](#nope)\n"
        "```sh\n# not a heading: [in code](ignored.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nowhere: no heading #nowhere",
        "#nope: no heading #nope",
    ]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(PROJECT_DIR)) for p in PAGES])
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_the_readme_is_short_and_links_every_docs_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    linked = {
        (README.parent / target.partition("#")[0]).resolve() for target in relative_links(README)
    }
    docs = PROJECT_DIR / "docs"
    top_pages = {p.resolve() for p in docs.glob("*.md")} | {
        (docs / "components/README.md").resolve()
    }
    assert top_pages - linked == set()


def ci_packages() -> set[str]:
    """The Debian packages .ci/run installs when they are missing."""
    script = (PROJECT_DIR / ".ci" / "run").read_text(encoding="utf-8")
    return {
        name for group in re.findall(r"packages\+=\(([^)]*)\)", script) for name in group.split()
    }


def test_the_quick_start_names_what_ci_installs():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- apt-install.*?-->\n```sh\n(.*?)```", text, re.DOTALL)
    assert block, "the README shows the apt command"
    command = block.group(1).split()
    assert command[:3] == ["sudo", "apt-get", "install"]
    assert ci_packages() <= set(command)
    assert {"chromium", "qemu-user"} <= set(command)
