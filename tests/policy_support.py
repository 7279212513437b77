"""Test helpers for the policy rules: the offline graph as the rules see it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from offline import ResourceGraph
from policy.rules import ResourceView, Violation, evaluate


def views(graph: ResourceGraph) -> list[ResourceView]:
    """The custom resources of `graph` as ResourceViews (what `plan` hands the rules)."""
    return [
        ResourceView(
            urn=r.urn,
            type=r.type,
            name=r.name,
            props=dict(r.inputs),
            protect=r.protect,
            retain_on_delete=r.retain_on_delete,
            parent=r.parent,
            dependencies=r.dependencies,
        )
        for r in graph
        if r.custom
    ]


def rule_ids(violations: Iterable[Violation]) -> set[str]:
    return {v.rule_id for v in violations}


Mutation = Callable[[list[ResourceView]], list[ResourceView]]


def edit(name: str, **changes: Any) -> Mutation:
    """Replace fields of the resource named `name` (props are merged shallowly)."""

    def mutate(resources: list[ResourceView]) -> list[ResourceView]:
        assert any(r.name == name for r in resources), name
        props = changes.pop("props", None)
        return [
            replace(r, **changes, **({"props": {**r.props, **props}} if props else {}))
            if r.name == name
            else r
            for r in resources
        ]

    return mutate


def drop(name: str) -> Mutation:
    def mutate(resources: list[ResourceView]) -> list[ResourceView]:
        assert any(r.name == name for r in resources), name
        return [r for r in resources if r.name != name]

    return mutate


def violations_after(
    graph: ResourceGraph, mutation: Mutation, config: Mapping[str, str]
) -> list[Violation]:
    return evaluate(mutation(views(graph)), config)
