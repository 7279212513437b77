"""Adapters from Pulumi CrossGuard (`pulumi_policy`) to the rules: the pack's `__main__.py` builds
its PolicyPack from `policies()`, so every rule in RULES runs with its own enforcement level.

How the pack learns the stack config at `pulumi preview` time: the CLI starts a Python policy pack
with the stack's config in the `PULUMI_CONFIG` environment variable (a JSON object of
`"namespace:key"` -> value, the same bag it hands a program), together with PULUMI_PROJECT and
PULUMI_STACK. `stack_config()` reads it into the wire form `evaluate` takes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    proxy,
)
from pulumi_policy.deserialize import (
    SPECIAL_SECRET_SIG,
    SPECIAL_SIG_KEY,
    serialize_properties,
)

from ._model import RULES, UNKNOWN, ResourceView, Rule

LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}

_UNKNOWN_SENTINELS = frozenset(
    {
        proxy.UNKNOWN_BOOLEAN_VALUE,
        proxy.UNKNOWN_NUMBER_VALUE,
        proxy.UNKNOWN_STRING_VALUE,
        proxy.UNKNOWN_ARRAY_VALUE,
        proxy.UNKNOWN_ASSET_VALUE,
        proxy.UNKNOWN_ARCHIVE_VALUE,
        proxy.UNKNOWN_OBJECT_VALUE,
    }
)


def stack_config(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The stack config the CLI passed to this process, as `"namespace:key" -> str` (a value that
    arrives as JSON rather than a string is turned back into its JSON text)."""
    raw = json.loads(environ.get("PULUMI_CONFIG") or "{}")
    return {key: v if isinstance(v, str) else json.dumps(v) for key, v in raw.items()}


def plain_props(props: Mapping[str, Any]) -> dict[str, Any]:
    """The SDK's props without its proxies (which raise on unknowns): unknown values become
    UNKNOWN, secrets their plain value."""
    return _restore(serialize_properties(props))


def _restore(value: Any) -> Any:
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return UNKNOWN
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG:
            return _restore(value.get("value"))
        return {key: _restore(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_restore(item) for item in value]
    return value


def view_of_args(args: ResourceValidationArgs) -> ResourceView:
    """One resource under resource validation (the protocol sends no dependencies here)."""
    return _view(args, args.opts.parent, ())


def view_of_resource(resource: PolicyResource) -> ResourceView:
    """One resource under stack validation, with its parent and dependencies."""
    parent = resource.parent.urn if resource.parent is not None else resource.opts.parent
    return _view(resource, parent, tuple(d.urn for d in resource.dependencies))


def _view(
    source: ResourceValidationArgs | PolicyResource,
    parent: str | None,
    dependencies: tuple[str, ...],
) -> ResourceView:
    """The analyzer protocol carries `protect` but not `retainOnDelete`: None (unknown)."""
    return ResourceView(
        urn=source.urn,
        type=source.resource_type,
        name=source.name,
        props=plain_props(source.props),
        protect=bool(source.opts.protect),
        retain_on_delete=None,
        parent=parent,
        dependencies=dependencies,
    )


def policy_for(rule: Rule) -> Policy:
    """The CrossGuard policy that runs `rule`: resource validation for a per-resource rule, stack
    validation for a cross-resource one."""
    common: dict[str, Any] = {
        "name": rule.id,
        "description": rule.description,
        "enforcement_level": LEVELS[rule.level],
        "remediation_steps": rule.remediation,
    }
    if rule.resource_types:

        def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if args.resource_type in rule.resource_types:
                for violation in rule.run([view_of_args(args)], stack_config()):
                    report(violation.message)

        return ResourceValidationPolicy(validate=validate_resource, **common)

    def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
        views = [view_of_resource(r) for r in args.resources]
        for violation in rule.run(views, stack_config()):
            report(violation.message, violation.urn)

    return StackValidationPolicy(validate=validate_stack, **common)


def policies() -> list[Policy]:
    return [policy_for(rule) for rule in RULES]
