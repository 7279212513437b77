"""What every rule shares: the resource view it reads, the violation it reports, the registry.

Nothing here imports Pulumi, `components` or `offline`: the same code runs inside the CrossGuard
pack (where the pack's directory is on `sys.path`) and inside `python -m offline plan`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Level = Literal["mandatory", "advisory"]

PROJECT = "serverless-uploads"
"""The Pulumi project whose stack config the rules read (`serverless-uploads:protectData`)."""


class _Unknown:
    """A value `pulumi preview` cannot know yet (it depends on an output of a resource to be
    created). Rules never report a violation on an unknown value."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class ResourceView:
    """One resource as a rule sees it, from the offline graph or from the real engine."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    """Inputs with Pulumi's camelCase names, as they reach the provider; UNKNOWN where unknown."""
    protect: bool = False
    retain_on_delete: bool | None = False
    """None where the source cannot tell: the CrossGuard analyzer protocol does not carry it."""
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    """URNs this resource depends on (through its inputs or `depends_on`)."""


@dataclass(frozen=True)
class Violation:
    rule_id: str
    level: Level
    urn: str
    resource_name: str
    message: str
    remediation: str


ResourceCheck = Callable[[ResourceView, Mapping[str, str]], Iterable[str]]
"""One resource (of the rule's types) and the stack config -> a message per problem found."""

StackCheck = Callable[
    [Sequence[ResourceView], Mapping[str, str]], Iterable[tuple[ResourceView, str]]
]
"""All resources and the stack config -> (offending resource, message) per problem found."""


@dataclass(frozen=True)
class Rule:
    """One policy: an AWS Security Hub FSBP control or checkov id where one exists."""

    id: str
    level: Level
    description: str
    """What it checks, in one sentence (docs/policy.md's rule table shows it)."""
    remediation: str
    resource_types: tuple[str, ...] = ()
    """Non-empty for a per-resource rule (`check_resource`); empty for a stack rule."""
    check_resource: ResourceCheck | None = None
    check_stack: StackCheck | None = None

    def run(
        self, resources: Sequence[ResourceView], stack_config: Mapping[str, str]
    ) -> list[Violation]:
        found: list[tuple[ResourceView, str]] = []
        if self.check_resource is not None:
            for resource in resources:
                if resource.type in self.resource_types:
                    found.extend((resource, m) for m in self.check_resource(resource, stack_config))
        if self.check_stack is not None:
            found.extend(self.check_stack(resources, stack_config))
        return [
            Violation(self.id, self.level, r.urn, r.name, message, self.remediation)
            for r, message in found
        ]


RULES: list[Rule] = []
"""Every rule, in the order the modules register them (docs/policy.md's table follows it)."""


def resource_rule(
    rule_id: str, level: Level, description: str, remediation: str, *types: str
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register the decorated function as a per-resource check for `types`."""

    def register(check: ResourceCheck) -> ResourceCheck:
        RULES.append(Rule(rule_id, level, description, remediation, types, check_resource=check))
        return check

    return register


def stack_rule(
    rule_id: str, level: Level, description: str, remediation: str
) -> Callable[[StackCheck], StackCheck]:
    """Register the decorated function as a check over the whole stack (cross-resource rules)."""

    def register(check: StackCheck) -> StackCheck:
        RULES.append(Rule(rule_id, level, description, remediation, check_stack=check))
        return check

    return register


# --- helpers the rule modules share ----------------------------------------------------------


def known(value: Any) -> bool:
    return value is not UNKNOWN


def get(props: Any, *path: str | int) -> Any:
    """`props[a][b]...`, or None where a step is missing; UNKNOWN where a step is unknown."""
    value = props
    for step in path:
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(step, int):
            if not isinstance(value, list | tuple) or len(value) <= step:
                return None
        elif not isinstance(value, Mapping):
            return None
        value = value[step] if isinstance(step, int) else value.get(step)
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def policy_document(value: Any) -> dict[str, Any] | None:
    """A JSON policy input, parsed; None when unknown (preview) or not JSON."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


SETTING_DEFAULTS = {"auth": "cognito", "protectData": "false"}
"""The defaults `Pulumi.yaml` declares for the settings the rules read (a test keeps them equal):
the pack cannot import the project, and a stack may leave a setting out."""


def setting(stack_config: Mapping[str, str], key: str) -> str:
    """A project setting in Pulumi's wire form (`serverless-uploads:key` -> str), or its default."""
    return str(stack_config.get(f"{PROJECT}:{key}", SETTING_DEFAULTS[key]))


def protect_data(stack_config: Mapping[str, str]) -> bool:
    return setting(stack_config, "protectData").strip().lower() == "true"


def owned(
    child: ResourceView, owner_type: str, resources: Sequence[ResourceView], name_prop: str
) -> ResourceView | None:
    """The resource of `owner_type` that `child` configures (a bucket's public access block, a
    function's event invoke config).

    By name when both names are known (`child.props[name_prop]` against the owner's physical name
    or id); otherwise by relation (see `related`), since during `pulumi preview` of a new stack
    the name is an unknown output.
    """
    owners = [r for r in resources if r.type == owner_type]
    reference = child.props.get(name_prop)
    if isinstance(reference, str) and known(reference):
        for owner in owners:
            if reference in _physical_names(owner):
                return owner
    return next(iter(related(child, owners)), None)


def related(resource: ResourceView, candidates: Sequence[ResourceView]) -> list[ResourceView]:
    """The candidates `resource` depends on, those in the same component first. A source that
    records no dependencies (a single resource under CrossGuard resource validation) falls back
    to the candidates in the same component."""
    siblings = [c for c in candidates if c.parent is not None and c.parent == resource.parent]
    if not resource.dependencies:
        return siblings
    depended = [c for c in candidates if c.urn in resource.dependencies]
    return sorted(depended, key=lambda c: c.parent != resource.parent)


def _physical_names(resource: ResourceView) -> set[str]:
    names = {resource.props.get(key) for key in ("bucket", "name", "functionName", "id", "arn")}
    return {n for n in names if isinstance(n, str) and known(n)}


def children_of(
    owner: ResourceView, child_type: str, resources: Sequence[ResourceView], name_prop: str
) -> list[ResourceView]:
    owner_type = owner.type
    return [
        r
        for r in resources
        if r.type == child_type and owned(r, owner_type, resources, name_prop) is owner
    ]
