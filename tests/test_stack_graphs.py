"""Every stack (dev, staging, prod and the examples) registers exactly the resources it did when
the golden was taken, property for property: a change to how settings are read must not change
what any stack deploys (issue 26). Refresh the golden (`python scripts/stack_graphs.py --write`)
only for a change meant to alter a stack, and review its diff."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import stack_graphs  # noqa: E402


def _differences(path: str, before: Any, after: Any) -> Iterator[str]:
    """One line per property that differs, named by its path."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if key not in after:
                yield f"{path}.{key}: removed (was {json.dumps(before[key])[:120]})"
            elif key not in before:
                yield f"{path}.{key}: added ({json.dumps(after[key])[:120]})"
            else:
                yield from _differences(f"{path}.{key}", before[key], after[key])
    elif before != after:
        yield f"{path}: {json.dumps(before)[:120]} -> {json.dumps(after)[:120]}"


def test_differences_name_each_changed_property() -> None:
    before = {"dev": {"resources": {"urn:a": {"inputs": {"memorySize": 256, "timeout": 30}}}}}
    after = {"dev": {"resources": {"urn:a": {"inputs": {"memorySize": 512}}}}}
    assert list(_differences("", before, after)) == [
        ".dev.resources.urn:a.inputs.memorySize: 256 -> 512",
        ".dev.resources.urn:a.inputs.timeout: removed (was 30)",
    ]


def test_every_stack_registers_what_the_golden_holds() -> None:
    golden = json.loads(stack_graphs.GOLDEN.read_text())
    # The JSON round trip makes tuples lists, as in the golden.
    current = json.loads(json.dumps(stack_graphs.all_stacks()))
    assert set(current) == set(golden)
    changed = list(_differences("", golden, current))
    assert not changed, f"{len(changed)} properties changed:\n" + "\n".join(changed[:40])
