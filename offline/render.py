"""The human output of `plan`, in the spirit of `pulumi preview`: a tree of the stack, its
components and resources with the properties a reviewer checks, the config in effect, the
outputs, a summary and the policy report; or, with `--diff`, what differs between two stacks.

Everything is built from `rich.text.Text`, never from markup strings: values such as `[secret]`
or a JSON list would otherwise be read as style tags.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from offline.diff import ABSENT, ResourceChange
from offline.diff_text import LINE_LIMIT, by_component, fit, fit_pair, show
from offline.graph import Resource
from offline.highlights import highlights
from offline.preview import NOT_CHECKED, STACK_TYPE, Plan, config_changes
from offline.values import SECRET, plain


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
    """The configuration differences first (they cause the rest), then the resources only in one
    stack and each changed field with both values, grouped under the component that owns them;
    no line longer than LINE_LIMIT. Then the summary and both policy reports."""
    config = [
        ("~", key, "", (_shown(mine), _shown(theirs)))
        for key, mine, theirs in config_changes(plan, other)
    ]
    groups = [
        (heading, [row for change in grouped for row in _rows(change, plan, other)])
        for heading, grouped in by_component(changes, plan.graph, other.graph)
    ]
    if not quiet:
        title = f"Comparing stack {plan.stack} -> {other.stack}"
        console.print(Text(f"{title} (resources matched by type and logical name)"))
        console.print(_heading("Config", f" {len(config)} differences, which cause those below"))
        _print_rows(console, config)
        console.print(_heading("Resources", " by the component that owns them"))
        for heading, rows in groups:
            console.print(Text(f"  {fit(heading, LINE_LIMIT - 2)}", style="bold"))
            _print_rows(console, rows)
    changed = sum(c.kind == "changed" for c in changes)
    added = sum(c.kind == "added" for c in changes)
    removed = sum(c.kind == "removed" for c in changes)
    lines = len(config) + sum(len(rows) for _, rows in groups)
    summary = f" {changed} changed, {added} only in {other.stack}, {removed} only in {plan.stack}"
    console.print(_heading("Differences", f"{summary} ({lines} lines)"))
    for stacked in (plan, other):
        console.print(_policy(stacked, f"Policy ({stacked.stack})"))


_Row = tuple[str, str, str, Any]
"""(mark, name, field path, detail): the detail a string, or a (before, after) pair."""


def _rows(change: ResourceChange, plan: Plan, other: Plan) -> list[_Row]:
    if change.kind == "added":
        return [("+", change.name, f"only in {other.stack}", change.type)]
    if change.kind == "removed":
        return [("-", change.name, f"only in {plan.stack}", change.type)]
    return [("~", change.name, f.path, (f.before, f.after)) for f in change.fields]


def _print_rows(console: Console, rows: list[_Row]) -> None:
    """One line per row, names and paths aligned within the group, values fitted to the line."""
    name_width = min(max((len(r[1]) for r in rows), default=0), 60)
    path_width = min(max((len(r[2]) for r in rows), default=0), 60)
    styles = {"+": "green", "-": "red", "~": "yellow"}
    for mark, name, path, detail in rows:
        line = Text(f"    {mark} ", style=styles[mark])
        line.append(f"{fit(name, 60).ljust(name_width)}  ", style="bold")
        if path_width:
            line.append(f"{fit(path, 60).ljust(path_width)}  ")
        room = LINE_LIMIT - len(line.plain)
        line.append(fit_pair(*detail, room) if isinstance(detail, tuple) else fit(detail, room))
        console.print(line, soft_wrap=True)
    if not rows:
        console.print(Text("    (none)", style="dim"))
