"""Each stack's resource graph from the offline engine, as JSON: the golden that
tests/test_stack_graphs.py compares every stack against, property for property.

    python scripts/stack_graphs.py            # print
    python scripts/stack_graphs.py --write    # refresh tests/golden/stack_graphs.json

Refresh it only for a change meant to alter what a stack deploys, and review the diff: a change
to how settings are read (issue 26) must leave it byte for byte as it was. The Lambda archives'
content (`code`, `sourceCodeHash`) is left out: it follows the handler code, not the
configuration.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import components  # noqa: E402
from offline.engine import run_stack  # noqa: E402
from offline.graph import ResourceGraph  # noqa: E402
from offline.values import plain  # noqa: E402

GOLDEN = ROOT / "tests" / "golden" / "stack_graphs.json"
STACKS = (
    ("dev", ROOT),
    ("staging", ROOT),
    ("prod", ROOT),
    ("dev", ROOT / "examples" / "minimal"),
    ("dev", ROOT / "examples" / "python"),
)
CODE_HASH = "<archive content>"
"""What stands for a function's archive and its hash: they follow the code, not the config."""


def label(stack: str, project_dir: Path) -> str:
    """`dev`, or `examples/minimal:dev`."""
    where = project_dir.relative_to(ROOT).as_posix()
    return stack if where == "." else f"{where}:{stack}"


def snapshot(graph: ResourceGraph, root: Path) -> dict[str, Any]:
    """Every resource by URN with what the engine would receive, and the stack's outputs."""
    resources = {}
    for r in graph:
        inputs = plain(dict(r.inputs), root)
        if "sourceCodeHash" in inputs:
            inputs["sourceCodeHash"] = CODE_HASH
            inputs["code"] = {"fileArchive": CODE_HASH}
        resources[r.urn] = {
            "type": r.type,
            "parent": r.parent,
            "custom": r.custom,
            "inputs": inputs,
            "dependencies": sorted(r.dependencies),
            "explicitDependencies": sorted(r.explicit_dependencies),
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
            "deleteBeforeReplace": r.delete_before_replace,
            "ignoreChanges": sorted(r.ignore_changes),
            "provider": r.provider,
        }
    return {"resources": resources, "outputs": plain(dict(graph.outputs), root)}


def _package_as_installed() -> None:
    """The examples import the installed wheel (`serverless_uploads`); here it is `components`."""
    sys.modules.setdefault("serverless_uploads", components)
    for module in pkgutil.iter_modules(components.__path__):
        imported = importlib.import_module(f"components.{module.name}")
        sys.modules.setdefault(f"serverless_uploads.{module.name}", imported)


def all_stacks() -> dict[str, Any]:
    _package_as_installed()
    graphs = {}
    for stack, folder in STACKS:
        with contextlib.chdir(folder):  # `pulumi up` runs a program in its project folder
            graphs[label(stack, folder)] = snapshot(run_stack(stack, folder), ROOT)
    return graphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {GOLDEN.relative_to(ROOT)}")
    text = json.dumps(all_stacks(), indent=1, sort_keys=True) + "\n"
    if parser.parse_args().write:
        GOLDEN.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
