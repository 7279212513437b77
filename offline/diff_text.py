"""`plan --diff` laid out for a reviewer: resource changes grouped under the component that owns
them, and values shortened to fit a line, saying how much was left out."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from offline.diff import ResourceChange
    from offline.graph import ResourceGraph

LINE_LIMIT = 200
"""No line of `--diff` is longer: a CI log or a review comment shows it whole."""
STACK_GROUP = "(stack)"
"""The group of resources no component owns."""


def show(value: Any) -> str:
    """A value on one line: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value or '""'
    return json.dumps(value, separators=(", ", ": "))


def fit(value: Any, limit: int) -> str:
    """`show(value)` in at most `limit` characters: a list keeps its first items and counts the
    rest, anything else keeps its start and counts the characters cut."""
    text = show(value)
    if len(text) <= limit:
        return text
    if isinstance(value, list):
        for keep in range(len(value) - 1, 0, -1):
            shortened = (
                f"{show(value[:keep])[:-1]}, ...] (+{len(value) - keep} of {len(value)} items)"
            )
            if len(shortened) <= limit:
                return shortened
    for keep in range(max(limit - 8, 1), 0, -1):
        shortened = f"{text[:keep]}... (+{len(text) - keep} characters)"
        if len(shortened) <= limit:
            return shortened
    return text[:limit]


def fit_pair(before: Any, after: Any, limit: int) -> str:
    """`before -> after` in at most `limit` characters, the room shared fairly: a short side
    leaves the rest to the other."""
    room = max(limit - len(" -> "), 2)
    first, second = show(before), show(after)
    if len(first) + len(second) > room:
        first, second = _without_common_start(first, second)
        before, after = first, second
    half = room // 2
    if len(first) <= half:
        return f"{first} -> {fit(after, room - len(first))}"
    if len(second) <= half:
        return f"{fit(before, room - len(second))} -> {second}"
    return f"{fit(before, half)} -> {fit(after, room - half)}"


def _without_common_start(first: str, second: str, context: int = 12) -> tuple[str, str]:
    """Both texts without the long start they share, which says nothing about the change (a
    JSON document differing in its last key), keeping `context` characters of it."""
    pairs = enumerate(zip(first, second, strict=False))
    same = next((i for i, (one, two) in pairs if one != two), min(len(first), len(second)))
    if same <= context + 20:
        return first, second
    cut = same - context
    return f"(+{cut} characters)...{first[cut:]}", f"(+{cut} characters)...{second[cut:]}"


def by_component(
    changes: Iterable[ResourceChange], mine: ResourceGraph, theirs: ResourceGraph
) -> list[tuple[str, list[ResourceChange]]]:
    """(component heading, its changes), components in the order their first change comes."""
    owners = {**_owners(theirs), **_owners(mine)}
    groups: dict[str, list[ResourceChange]] = {}
    for change in changes:
        groups.setdefault(owners.get((change.type, change.name), STACK_GROUP), []).append(change)
    return list(groups.items())


def _owners(graph: ResourceGraph) -> dict[tuple[str, str], str]:
    """(type, name) -> `name (type)` of the nearest component above the resource."""
    by_urn = {resource.urn: resource for resource in graph}
    owners = {}
    for resource in graph:
        parent = by_urn.get(resource.parent or "")
        while parent is not None and parent.custom:
            parent = by_urn.get(parent.parent or "")
        if parent is not None:
            owners[(resource.type, resource.name)] = f"{parent.name} ({parent.type})"
    return owners
