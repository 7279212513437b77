"""A stack's plan: the program run offline, the config in effect, the policy report, and the
JSON document `python -m offline plan --json` prints (schema in docs/plan-json.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.archives import lambda_archives
from offline.diff import ABSENT, ResourceChange
from offline.engine import run_stack
from offline.graph import Resource, ResourceGraph
from offline.policy_check import Violation, check
from offline.project import ConfigProblem, ConfigValue, stack_config, unknown_namespaces
from offline.project import project_name as read_project_name
from offline.values import SECRET, plain

NOT_CHECKED = (
    "set with `pulumi config set --secret`; offline there is no key to decrypt it, so its value "
    "was not checked: the program ran with a stand-in that passes the setting's checks"
)
"""What the plan says of a secure value (the real engine decrypts it for the program)."""
SCHEMA_VERSION = 1
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Plan:
    project: str
    stack: str
    root: Path
    graph: ResourceGraph
    config: dict[str, ConfigValue]
    violations: list[Violation] = field(default_factory=list)

    @property
    def stack_name(self) -> str:
        """The stack resource's logical name, as `pulumi preview` shows it."""
        return f"{self.project}-{self.stack}"

    @property
    def to_create(self) -> int:
        """Resources `pulumi up` would create on an empty stack, the stack itself included."""
        return len(self.graph) + 1

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    def config_shown(self) -> dict[str, str]:
        """Config values as they may be printed: secrets masked."""
        return {key: SECRET if c.secret else c.value for key, c in sorted(self.config.items())}


def make_plan(stack: str, project_dir: Path, graph: ResourceGraph | None = None) -> Plan:
    """Run the project's program for `stack` (unless its `graph` is given) and check the result.

    Raises ProjectError (missing stack file, config naming an unknown namespace) and the engine's
    ProgramError (the program or its config validation failed).
    """
    root = project_dir.resolve()
    config = stack_config(root, stack)
    project = read_project_name(root)
    graph = graph if graph is not None else run_stack(stack, root)
    problems = unknown_namespaces(config, project, providers(graph))
    if problems:
        raise ConfigProblem("invalid stack configuration:\n  " + "\n  ".join(problems))
    violations = check(graph, {key: SECRET if c.secret else c.value for key, c in config.items()})
    return Plan(project, stack, root, graph, config, violations)


def providers(graph: ResourceGraph) -> set[str]:
    """Packages of the custom resources the program registered (`aws` for `aws:s3/...`)."""
    return {r.type.split(":", 1)[0] for r in graph if r.custom}


def document(
    plan: Plan, changes: list[ResourceChange] | None = None, other: Plan | None = None
) -> dict[str, Any]:
    """The `--json` document (docs/plan-json.md)."""
    names = {r.urn: r.name for r in plan.graph}
    result: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "project": plan.project,
        "stack": plan.stack,
        "summary": {"create": plan.to_create},
        "resources": [_resource(r, names, plan.root) for r in plan.graph],
        "config": {
            key: {
                "value": value,
                "source": plan.config[key].source,
                "secret": plan.config[key].secret,
                "checked": not plan.config[key].secret,
            }
            for key, value in plan.config_shown().items()
        },
        "outputs": plain(plan.graph.outputs, plan.root),
        "unknownOutputs": plan.graph.unknown_outputs(),
        "archives": [a.document(plan.root) for a in lambda_archives(plan.graph)],
        "policy": policy_document(plan.violations),
    }
    if changes is not None and other is not None:
        result["diff"] = diff_document(plan, other, changes)
    return result


def _resource(resource: Resource, names: dict[str, str], root: Path) -> dict[str, Any]:
    return {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "parent": names.get(resource.parent or ""),
        "custom": resource.custom,
        "inputs": plain(resource.inputs, root),
        "options": {
            "protect": resource.protect,
            "retainOnDelete": resource.retain_on_delete,
            "dependsOn": [names.get(u, u) for u in resource.explicit_dependencies],
        },
    }


def policy_document(violations: list[Violation]) -> dict[str, Any]:
    return {
        "mandatory": sum(v.level == "mandatory" for v in violations),
        "advisory": sum(v.level == "advisory" for v in violations),
        "violations": [
            {
                "ruleId": v.rule_id,
                "level": v.level,
                "resource": v.resource_name,
                "urn": v.urn,
                "message": v.message,
                "remediation": v.remediation,
            }
            for v in violations
        ],
    }


def config_changes(plan: Plan, other: Plan) -> list[tuple[str, str | None, str | None]]:
    """(key, value here, value there) for each config value the two stacks set differently."""
    mine, theirs = plan.config_shown(), other.config_shown()
    return [
        (key, mine.get(key), theirs.get(key))
        for key in sorted(mine.keys() | theirs.keys())
        if mine.get(key) != theirs.get(key)
    ]


def diff_document(plan: Plan, other: Plan, changes: list[ResourceChange]) -> dict[str, Any]:
    def listed(kind: str) -> list[dict[str, str]]:
        return [{"type": c.type, "name": c.name} for c in changes if c.kind == kind]

    return {
        "other": other.stack,
        "onlyInStack": listed("removed"),
        "onlyInOther": listed("added"),
        "changed": [
            {
                "type": c.type,
                "name": c.name,
                "fields": [
                    {"path": f.path, "stack": _json(f.before), "other": _json(f.after)}
                    for f in c.fields
                ],
            }
            for c in changes
            if c.kind == "changed"
        ],
        "config": [
            {"key": key, "stack": mine, "other": theirs}
            for key, mine, theirs in config_changes(plan, other)
        ],
    }


def _json(value: Any) -> Any:
    return None if value == ABSENT else value
