"""The human output of `plan`, in the spirit of `pulumi preview`: a tree of the stack, its
components and resources with the properties a reviewer checks, the config in effect, the
outputs, a summary and the policy report; or, with `--diff`, what differs between two stacks.

Everything is built from `rich.text.Text`, never from markup strings: values such as `[secret]`
or a JSON list would otherwise be read as style tags.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from offline.diff import ABSENT, ResourceChange
from offline.graph import Resource
from offline.highlights import highlights
from offline.preview import NOT_CHECKED, STACK_TYPE, Plan, config_changes
from offline.values import SECRET, plain


def show(value: Any) -> str:
    """A value on one line: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value or '""'
    return json.dumps(value, separators=(", ", ": "))


def _shown(value: Any) -> str:
    return ABSENT if value is None else show(value)


def render_plan(console: Console, plan: Plan, *, quiet: bool = False) -> None:
    if quiet:  # still says which stack: several quiet plans often share one log
        console.print(Text(f"Stack {plan.stack} of {plan.project} (offline)"))
    else:
        console.print(Text(f"Previewing stack {plan.stack} of {plan.project} (offline)\n"))
        console.print(_tree(plan))
        console.print(_config(plan))
        console.print(_outputs(plan))
    console.print(_summary(plan))
    console.print(_policy(plan))


def _tree(plan: Plan) -> Tree:
    tree = Tree(_line(STACK_TYPE, plan.stack_name, []), guide_style="dim")
    nodes: dict[str | None, Tree] = {}
    for resource in plan.graph:
        parent = nodes.get(resource.parent, tree)
        nodes[resource.urn] = parent.add(_line(resource.type, resource.name, _facts(resource)))
    return tree


def _facts(resource: Resource) -> list[tuple[str, str]]:
    facts = [
        (label, show(value)) for label, value in highlights(resource.type, plain(resource.inputs))
    ]
    if resource.protect:
        facts.append(("protect", "true"))
    if resource.retain_on_delete:
        facts.append(("retainOnDelete", "true"))
    return facts


def _line(type_: str, name: str, facts: list[tuple[str, str]]) -> Text:
    line = Text.assemble(("+ ", "green bold"), (type_, "green"), "  ", (name, "bold"))
    if facts:
        line.append("\n")
        for index, (label, value) in enumerate(facts):
            line.append("  " if index else "")
            line.append(f"{label}=", style="dim")
            line.append(value, style="yellow" if label in ("protect", "retainOnDelete") else "")
    return line


def _heading(title: str, detail: str = "", style: str = "") -> Text:
    return Text.assemble(("\n" + title + ":", "bold"), (detail, style))


def _section(title: str, rows: Iterable[tuple[str, str, str]]) -> Text:
    rows = list(rows)
    text = _heading(title)
    width = max((len(key) for key, _, _ in rows), default=0)
    for key, value, note in rows:
        text.append(f"\n    {key.ljust(width)}  ")
        text.append(value)
        if note:
            text.append(f"  ({note})", style="dim")
    if not rows:
        text.append("\n    (none)", style="dim")
    return text


def _config(plan: Plan) -> Text:
    sources = {"default": "declared default", "stack": f"Pulumi.{plan.stack}.yaml"}
    shown = plan.config_shown()
    rows = [(key, value or '""', sources[plan.config[key].source]) for key, value in shown.items()]
    text = _section("Config", rows)
    if any(entry.secret for entry in plan.config.values()):
        text.append(f"\n    {SECRET}: {NOT_CHECKED}")
    return text


def _outputs(plan: Plan) -> Text:
    """As a first `pulumi preview` shows them: what AWS computes at creation is unknown."""
    outputs = plain(plan.graph.outputs, plan.root)
    unknown = set(plan.graph.unknown_outputs())
    rows = [
        (key, "output<string>", f"unknown until created; offline: {show(outputs[key])}")
        if key in unknown
        else (key, show(outputs[key]), "")
        for key in sorted(outputs)
    ]
    return _section("Outputs", rows)


def _summary(plan: Plan) -> Text:
    return _heading("Resources").append(f"\n    + {plan.to_create} to create", style="green")


def _policy(plan: Plan, title: str = "Policy") -> Text:
    violations = plan.violations
    if not violations:
        return _heading(title, " no violations", "green")
    advisory = len(violations) - len(plan.mandatory)
    counts = f" {len(plan.mandatory)} mandatory, {advisory} advisory"
    text = _heading(title, counts, "red" if plan.mandatory else "yellow")
    for v in violations:
        text.append(
            f"\n    {v.level:<9}  ", style="red bold" if v.level == "mandatory" else "yellow"
        )
        text.append(f"{v.rule_id}  ", style="bold")
        text.append(f"{v.resource_name}\n        {v.message}")
        text.append(f"\n        fix: {v.remediation}", style="dim")
    return text


def render_diff(
    console: Console, plan: Plan, other: Plan, changes: list[ResourceChange], *, quiet: bool = False
) -> None:
    """Resources only in one stack, then each changed field with both values, then config."""
    if not quiet:
        title = f"Comparing stack {plan.stack} -> {other.stack}"
        console.print(Text(f"{title} (resources matched by type and logical name)\n"))
    rows: list[tuple[str, str, str, str]] = []
    for change in changes:
        if change.kind == "added":
            rows.append(("+", change.name, f"only in {other.stack}", change.type))
        elif change.kind == "removed":
            rows.append(("-", change.name, f"only in {plan.stack}", change.type))
        else:
            for field in change.fields:
                rows.append(
                    ("~", change.name, field.path, f"{show(field.before)} -> {show(field.after)}")
                )
    for key, mine, theirs in config_changes(plan, other):
        rows.append(("~", "config", key, f"{_shown(mine)} -> {_shown(theirs)}"))
    name_width = max((len(r[1]) for r in rows), default=0)
    path_width = max((len(r[2]) for r in rows), default=0)
    styles = {"+": "green", "-": "red", "~": "yellow"}
    for mark, name, path, detail in [] if quiet else rows:
        line = Text(f"{mark} ", style=styles[mark])
        line.append(f"{name.ljust(name_width)}  ", style="bold")
        line.append(f"{path.ljust(path_width)}  ")
        line.append(detail)
        console.print(line, soft_wrap=True)
    changed = sum(c.kind == "changed" for c in changes)
    added = sum(c.kind == "added" for c in changes)
    removed = sum(c.kind == "removed" for c in changes)
    summary = f" {changed} changed, {added} only in {other.stack}, {removed} only in {plan.stack}"
    console.print(_heading("Differences", f"{summary} ({len(rows)} lines)"))
    for stacked in (plan, other):
        console.print(_policy(stacked, f"Policy ({stacked.stack})"))
