"""What two runs register differently, resource by resource and field by field.

Resources are matched by type and logical name, never by URN: the URN holds the stack name, so
comparing `dev` with `prod` by URN would report every resource as removed and added again.
Physical names, ids and ARNs also differ per stack (Pulumi auto-names every resource), and other
resources' inputs carry them, so before comparing, each such value is replaced by a reference to
the resource and attribute it came from (`${uploads-bucket-bucket.arn}`): a policy that names
"the bucket's ARN" in both stacks is the same policy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from offline.values import plain

if TYPE_CHECKING:
    from offline.graph import Resource, ResourceGraph

ABSENT = "(none)"
"""Shown for a field one side does not set."""


@dataclass(frozen=True)
class FieldChange:
    path: str
    """Dotted path of the field: `retentionInDays`, `policy.Statement[2].Resource`,
    `options.protect` for resource options."""
    before: Any
    after: Any


@dataclass(frozen=True)
class ResourceChange:
    type: str
    name: str
    kind: str
    """"added" (only in the other run), "removed" (only in this one) or "changed"."""
    fields: tuple[FieldChange, ...] = ()


def compare(mine: ResourceGraph, theirs: ResourceGraph) -> list[ResourceChange]:
    """Every resource that `theirs` registers differently from `mine`, in `mine`'s order (then
    the ones only `theirs` has)."""
    left, right = _comparable(mine), _comparable(theirs)
    changes = []
    for key, before in left.items():
        if key not in right:
            changes.append(ResourceChange(*key, "removed"))
            continue
        fields = tuple(_fields(before, right[key], ""))
        if fields:
            changes.append(ResourceChange(*key, "changed", fields))
    changes += [ResourceChange(*key, "added") for key in right if key not in left]
    return changes


def _comparable(graph: ResourceGraph) -> dict[tuple[str, str], dict[str, Any]]:
    """(type, name) -> inputs with physical values as references, plus the options."""
    substitute = _references(graph)
    names = {r.urn: r.name for r in graph}
    return {
        (r.type, r.name): {
            **substitute(plain(r.inputs)),
            "options": {
                "protect": r.protect,
                "retainOnDelete": r.retain_on_delete,
                "dependsOn": sorted(names.get(urn, urn) for urn in r.explicit_dependencies),
                "parent": names.get(r.parent or ""),
            },
        }
        for r in graph
    }


def _references(graph: ResourceGraph) -> Any:
    """A function replacing, in any nested value, the physical values the cloud generated."""
    table: dict[str, str] = {}
    for resource in graph:
        if resource.custom:
            table.update(generated_values(resource))
    if not table:
        return lambda value: value
    # Whole values only: a short generated id (API Gateway's are 6 to 10 characters) must not
    # match inside a longer token such as a hash.
    alternatives = "|".join(re.escape(v) for v in sorted(table, key=len, reverse=True))
    pattern = re.compile(f"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")

    def substitute(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [substitute(v) for v in value]
        if isinstance(value, str):
            return pattern.sub(lambda m: table[m.group()], value)
        return value

    return substitute


def generated_values(resource: Resource) -> dict[str, str]:
    """Output value -> `${name.attribute}` for the outputs derived from the resource's physical
    identity (its id or auto-generated name), which the program did not choose."""
    chosen = {v for v in resource.inputs.values() if isinstance(v, str)}
    identity = [
        v
        for v in (resource.outputs.get(k) for k in ("id", "name", "bucket"))
        if isinstance(v, str) and len(v) >= 6 and v not in chosen
    ]
    return {
        value: f"${{{resource.name}.{key}}}"
        for key, value in resource.outputs.items()
        if isinstance(value, str) and value not in chosen and any(i in value for i in identity)
    }


def _fields(before: Any, after: Any, path: str) -> Iterator[FieldChange]:
    before, after = _parsed(before), _parsed(after)
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before.keys() | after.keys()):
            sub = f"{path}.{key}" if path else key
            yield from _fields(before.get(key, ABSENT), after.get(key, ABSENT), sub)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (one, two) in enumerate(zip(before, after, strict=True)):
            yield from _fields(one, two, f"{path}[{index}]")
    elif isinstance(before, list) and isinstance(after, list):
        yield from _members(before, after, path)
    elif before != after:
        yield FieldChange(path, before, after)


def _members(before: list[Any], after: list[Any], path: str) -> Iterator[FieldChange]:
    """Lists of different lengths (policy statements, rules, alarm names): the members only one
    side has, at their index on that side, rather than two whole lists."""
    kept_before = [json.dumps(item, sort_keys=True) for item in before]
    kept_after = [json.dumps(item, sort_keys=True) for item in after]
    for index, item in enumerate(before):
        if kept_before[index] not in kept_after:
            yield FieldChange(f"{path}[{index}]", item, ABSENT)
    for index, item in enumerate(after):
        if kept_after[index] not in kept_before:
            yield FieldChange(f"{path}[{index}]", ABSENT, item)


def _parsed(value: Any) -> Any:
    """A JSON document held in a string (a policy) compared by its content."""
    if isinstance(value, str) and value.startswith(("{", "[")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
