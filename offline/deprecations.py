"""What pulumi_aws deprecates, read from the installed package's source.

pulumi_aws marks a deprecated resource class with a class-level `warnings.warn(...)` right after
its `@pulumi.type_token(...)`, and a deprecated argument with `@_utilities.deprecated(...)` on its
getter in the resource's `...Args` class. It logs "... is deprecated" only when a program uses
the `...Args` class or a deprecated function; passing a deprecated argument as a keyword logs
nothing, so the engine also checks the registered inputs against this index, which is cached
per pulumi_aws version (offline/index_cache.py).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pulumi_aws

from offline.index_cache import cached_index

_TOKEN = re.compile(
    r'@pulumi\.type_token\("(?P<token>[^"]+)"\)\s*\nclass \w+\(pulumi\.CustomResource\)'
)
_CLASS_WARNING = re.compile(_TOKEN.pattern + r":\s*\n\s+warnings\.warn\(")
_DEPRECATED_GETTER = re.compile(
    r'@pulumi\.getter(?:\(name="(?P<wire>\w+)"\))?\s*\n\s*'
    r'@_utilities\.deprecated\("""(?P<message>.*?)"""\)\s*\n\s*def (?P<attr>\w+)',
    re.DOTALL,
)


def _sources() -> list[str]:
    root = Path(pulumi_aws.__file__).parent
    return [
        text
        for source in sorted(root.rglob("*.py"))
        if "@pulumi.type_token(" in (text := source.read_text(encoding="utf-8"))
    ]


@cache
def _index() -> dict[str, Any]:
    return cached_index("pulumi_aws-deprecations", "pulumi_aws", Path(__file__), _read_index)


def _read_index() -> dict[str, Any]:
    """Read every source of pulumi_aws once (about half a second): deprecated types and inputs."""
    types: list[str] = []
    inputs: dict[str, dict[str, str]] = {}
    for text in _sources():
        types += (m["token"] for m in _CLASS_WARNING.finditer(text))
        token = _TOKEN.search(text)
        args_end = text.find("\nclass _", 0)
        if token is None or args_end < 0:
            continue
        found = {
            m["wire"] or m["attr"]: m["message"]
            for m in _DEPRECATED_GETTER.finditer(text, 0, args_end)
        }
        if found:
            inputs[token["token"]] = found
    return {"types": sorted(types), "inputs": inputs}


@cache
def deprecated_resource_types() -> frozenset[str]:
    return frozenset(_index()["types"])


def deprecated_inputs() -> dict[str, dict[str, str]]:
    """Resource type -> {input name as sent to the engine -> deprecation message}."""
    return _index()["inputs"]
