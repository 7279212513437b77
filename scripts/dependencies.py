"""The runtime dependencies pyproject.toml declares, and all they pull in, as resolved in the
running environment (the repository's .venv). Used by the installed-package test and the wheel
benchmark."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def canonical(name: str) -> str:
    """`Pulumi_AWS` -> `pulumi-aws` (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> list[str]:
    """The `dependencies` of pyproject.toml, as written."""
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]


def closure() -> set[str]:
    """Canonical names of the declared dependencies and everything they require (no extras)."""
    found: set[str] = set()
    pending = [Requirement(r) for r in declared()]
    while pending:
        requirement = pending.pop()
        name = canonical(requirement.name)
        if name in found or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        found.add(name)
        pending.extend(Requirement(r) for r in metadata.requires(name) or ())
    return found
