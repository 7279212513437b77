"""Run the policy rules (`policy/rules`, the same functions the CrossGuard pack uses) over the
offline graph, as the engine runs a pack: resource rules on inputs, stack rules on outputs
(pulumi/pulumi@1b59498 pkg/resource/deploy/step_generator.go:1408-1412 hands Analyze the
resource's inputs, :3513-3520 hands AnalyzeStack each resource's final outputs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pulumi.runtime import rpc

from offline.graph import ResourceGraph
from policy.rules import ResourceView, Violation, evaluate

__all__ = ["Violation", "check", "views"]


Shape = Literal["inputs", "outputs"]


def views(graph: ResourceGraph, shape: Shape = "inputs") -> list[ResourceView]:
    """The graph's custom resources as the rules see them, secrets in the clear as CrossGuard
    hands them over (pulumi_policy 1.21.0 deserialize.py:65-71 unwraps a secret to its value;
    the rules never print a value): `inputs` as they reach the provider (what
    resource validation sees), or `outputs` (the state the fake cloud answered, shaped like
    pulumi-aws's: inputs plus the physical names, ARNs and ids AWS assigns; what stack
    validation sees)."""
    return [
        ResourceView(
            urn=r.urn,
            type=r.type,
            name=r.name,
            props=_unwrapped(r.inputs if shape == "inputs" else r.outputs),
            protect=r.protect,
            retain_on_delete=r.retain_on_delete,
            parent=r.parent,
            dependencies=r.dependencies,
        )
        for r in graph
        if r.custom
    ]


def _unwrapped(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return _unwrapped(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _unwrapped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrapped(v) for v in value]
    return value


def check(graph: ResourceGraph, stack_config: Mapping[str, str]) -> list[Violation]:
    """Every violation, mandatory ones first."""
    found = evaluate(views(graph), stack_config, outputs=views(graph, "outputs"))
    return sorted(found, key=lambda v: (v.level != "mandatory", v.rule_id, v.resource_name))
