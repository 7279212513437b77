"""The resource graph a program registers, with query helpers in the spirit of CDK's assertions."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from offline.diff import ResourceChange, compare


@dataclass(frozen=True)
class Resource:
    """One registered resource as the engine would receive it."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: Mapping[str, Any]
    """Resolved inputs, with Pulumi's camelCase property names (as they reach the provider)."""
    outputs: Mapping[str, Any]
    """The state the fake cloud answered with: the inputs plus computed values (arn, id, ...)."""
    dependencies: tuple[str, ...] = ()
    """URNs this resource depends on (explicit `depends_on` and those implied by its inputs)."""
    explicit_dependencies: tuple[str, ...] = ()
    """URNs of its `depends_on` option alone: dependencies that no input carries."""
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()
    provider: str = ""

    def depends_on(self, other: Resource) -> bool:
        return other.urn in self.dependencies

    def policy(self, key: str = "policy") -> dict[str, Any]:
        """The JSON policy document held by input `key`, parsed."""
        raw = self.inputs.get(key)
        if not isinstance(raw, str):
            raise AssertionError(f"{self.urn}: input {key!r} is not a JSON document: {raw!r}")
        return json.loads(raw)


@dataclass
class ResourceGraph:
    """Everything a program run registered, in registration order."""

    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    """The stack's exports, resolved."""
    logs: list[tuple[str, str]] = field(default_factory=list)
    """(severity, message) of everything the program and the SDK logged."""
    created_values: frozenset[str] = frozenset()
    """Values the fake cloud computed when it created the resources (ARNs, ids, endpoints)."""

    def unknown_outputs(self) -> list[str]:
        """The stack outputs a first `pulumi preview` shows as unknown (`output<string>`): those
        built from a value AWS computes when it creates a resource. A provider's preview of a
        create leaves such attributes unknown, and so everything derived from them; autonamed
        names are known (the provider assigns them in Check, before the preview's diff)."""
        return sorted(k for k, v in self.outputs.items() if _mentions(v, self.created_values))

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Resource:
        """Exactly one resource of `type_` (and logical `name` if given), else an AssertionError."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise AssertionError(f"expected one {type_} named {name!r}, found {names}")
        return found[0]

    def named(self, name: str) -> Resource:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one resource named {name!r}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise AssertionError(f"no resource with URN {urn}")

    def children(self, parent: Resource | str) -> list[Resource]:
        urn = parent.urn if isinstance(parent, Resource) else parent
        return [r for r in self.resources if r.parent == urn]

    def misnamed(self) -> list[Resource]:
        """Children of a component whose logical name does not start with `<parent name>-`
        (the naming convention that keeps names unique and readable)."""
        by_urn = {r.urn: r for r in self.resources}
        return [
            r
            for r in self.resources
            if r.parent in by_urn and not r.name.startswith(f"{by_urn[r.parent].name}-")
        ]

    def types(self) -> set[str]:
        return {r.type for r in self.resources}

    def diff(self, other: ResourceGraph) -> dict[str, str]:
        """Logical name -> "added", "removed" or "changed" (inputs or options) for every resource
        that `other` registers differently; matched by type and logical name, so two stacks
        compare (`changes()` says which fields differ)."""
        return {change.name: change.kind for change in self.changes(other)}

    def changes(self, other: ResourceGraph) -> list[ResourceChange]:
        """What `other` registers differently, with each changed field and both its values."""
        return compare(self, other)


def _mentions(value: Any, created: frozenset[str]) -> bool:
    """Whether `value` (an output, maybe nested or a secret's wrapper) contains a created value."""
    if isinstance(value, str):
        return any(c in value for c in created)
    if isinstance(value, Mapping):
        return any(_mentions(v, created) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_mentions(v, created) for v in value)
    return False
