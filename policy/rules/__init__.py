"""The policy rules, written once: the CrossGuard pack (`policy/__main__.py`) wraps them, and
`python -m offline plan` runs them over the offline graph.

Importable as `policy.rules` from the repository root and as `rules` from inside the pack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import import_module

from ._model import RULES, UNKNOWN, Level, ResourceView, Rule, Violation

# Each module registers its rules when imported: this is the order of RULES and of docs/policy.md.
for _module in ("s3", "functions", "api", "iam", "encryption", "alarms"):
    import_module(f".{_module}", __name__)

__all__ = ["RULES", "UNKNOWN", "Level", "ResourceView", "Rule", "Violation", "evaluate"]


def evaluate(
    resources: Sequence[ResourceView],
    stack_config: Mapping[str, str],
    outputs: Sequence[ResourceView] | None = None,
) -> list[Violation]:
    """Every violation of every rule, rule by rule in RULES order.

    `stack_config` is Pulumi's wire form (`"serverless-uploads:protectData" -> "true"`), as
    `offline.project.load_stack_config` returns it and as the CLI passes it to a policy pack.
    Per-resource rules read `resources` (inputs: the engine's Analyze); stack rules read
    `outputs` where given, since the engine hands AnalyzeStack each resource's outputs
    (pulumi/pulumi 1b5949891b pkg/resource/deploy/step_generator.go:3512-3522), else `resources`.
    Every stack rule is written to hold for both shapes (tests/test_policy_rules.py runs both).
    """
    stack_view = resources if outputs is None else outputs
    return [
        v
        for rule in RULES
        for v in rule.run(stack_view if rule.check_stack else resources, stack_config)
    ]
