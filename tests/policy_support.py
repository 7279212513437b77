"""Test helpers for the policy rules: the offline graph as the rules see it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from offline import ResourceGraph
from offline.policy_check import Shape, views
from policy.rules import ResourceView, Violation, evaluate


def rule_ids(violations: Iterable[Violation]) -> set[str]:
    return {v.rule_id for v in violations}


Mutation = Callable[[list[ResourceView]], list[ResourceView]]


def edit(name: str, **changes: Any) -> Mutation:
    """Replace fields of the resource named `name` (props are merged shallowly). The mutation
    can run again (on each shape of the resources)."""

    def mutate(resources: list[ResourceView]) -> list[ResourceView]:
        assert any(r.name == name for r in resources), name
        props = changes.get("props")
        fields = {k: v for k, v in changes.items() if k != "props"}
        return [
            replace(r, **fields, **({"props": {**r.props, **props}} if props else {}))
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
    graph: ResourceGraph, mutation: Mutation, config: Mapping[str, str], shape: Shape = "inputs"
) -> list[Violation]:
    """Every rule on one shape of the resources: inputs, or outputs as pulumi-aws returns them
    (what the engine's stack validation sees)."""
    return evaluate(mutation(views(graph, shape)), config)
