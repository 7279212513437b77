"""Render `python -m offline plan STACK --json` as Markdown for a GitHub job summary.

    .venv/bin/python scripts/plan_summary.py --stack dev --exit-code 0 plan.json \
        [--base base.json --base-name "main at 1a2b3c4"]

The policy report comes first (it decides the job), then, with `--base` (the same stack planned
from the branch's merge base, as `.ci/plan-summary` does on a pull request), what the branch
changes: the resources it adds, removes or registers differently and with which fields; then
the resources, the config in effect and the outputs, folded. A failed plan (exit code 1, no JSON)
still gets a summary saying so.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

EXIT_MEANING = {
    0: "clean",
    1: "program error",
    2: "mandatory policy violation",
    3: "invalid configuration",
    4: "no such stack",
}


def cell(value: Any) -> str:
    """One Markdown table cell: no line breaks, pipes escaped."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def folded(title: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{title}</summary>", "", *body, "", "</details>", ""]


Base = tuple[str, dict[str, Any] | None]
"""(what the plan is compared with, e.g. "main at 1a2b3c4"; its document, None if that stack
could not be planned there, e.g. it is new on the branch)."""


def changes(base: dict[str, Any], document: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(mark, name, type, what differs) for each resource the branch adds (`+`), removes (`-`)
    or registers with other inputs or options (`~`), matched by type and logical name."""

    def keyed(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(r["type"], r["name"]): r for r in doc.get("resources", [])}

    before, after = keyed(base), keyed(document)
    found = []
    for key, resource in after.items():
        old = before.get(key)
        if old is None:
            found.append(("+", key[1], key[0], ""))
            continue
        fields = [
            f"{part}.{field}" if part == "options" else field
            for part in ("inputs", "options")
            for field in sorted(old[part].keys() | resource[part].keys())
            if old[part].get(field) != resource[part].get(field)
        ]
        if fields:
            found.append(("~", key[1], key[0], ", ".join(fields)))
    found += [("-", key[1], key[0], "") for key in before if key not in after]
    return found


def render(
    stack: str, exit_code: int, document: dict[str, Any] | None, base: Base | None = None
) -> str:
    meaning = EXIT_MEANING.get(exit_code, "failed")
    if document is None:
        return f"### ❌ `{stack}`: plan failed (exit {exit_code}, {meaning})\n\nSee the job log.\n"
    policy = document.get("policy", {})
    violations = policy.get("violations", [])
    mark = "✅" if exit_code == 0 else "❌"
    what, changed = f"{document['summary']['create']} to create", []
    if base is not None and base[1] is None:
        what = f"{what}, new against {base[0]} (the stack cannot be planned there)"
    elif base is not None and base[1] is not None:
        changed = changes(base[1], document)
        counts = {m: sum(c[0] == m for c in changed) for m in "+~-"}
        what = (
            f"against {base[0]}: {counts['+']} to add, {counts['~']} to change, "
            f"{counts['-']} to remove"
        )
    lines = [
        f"### {mark} `{stack}`: {what}, "
        f"{policy.get('mandatory', 0)} mandatory and {policy.get('advisory', 0)} advisory "
        f"policy violations (exit {exit_code}, {meaning})",
        "",
    ]
    if violations:
        lines += table(
            ["Level", "Rule", "Resource", "Problem", "How to fix"],
            (
                [
                    v["level"],
                    f"`{v['ruleId']}`",
                    f"`{v['resource']}`",
                    v["message"],
                    v["remediation"],
                ]
                for v in violations
            ),
        )
        lines.append("")
    if changed:
        lines += table(
            ["", "Resource", "Type", "What differs"],
            ([m, f"`{name}`", type_, fields] for m, name, type_, fields in changed),
        )
        lines.append("")
    elif base is not None and base[1] is not None:
        lines += [f"No resource differs from {base[0]}.", ""]
    resources = [r for r in document.get("resources", []) if r.get("custom", True)]
    lines += folded(
        f"Resources ({len(resources)})",
        table(
            ["Resource", "Type", "Parent", "Protect"],
            (
                [f"`{r['name']}`", r["type"], r.get("parent") or "", r["options"]["protect"]]
                for r in resources
            ),
        ),
    )
    config = document.get("config", {})
    lines += folded(
        f"Config ({len(config)})",
        table(
            ["Key", "Value", "Source"],
            ([f"`{k}`", v["value"], v["source"]] for k, v in config.items()),
        ),
    )
    outputs = json.dumps(document.get("outputs", {}), indent=2, sort_keys=True)
    lines += folded("Outputs", ["```json", outputs, "```"])
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan_json", type=Path)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--exit-code", type=int, required=True)
    parser.add_argument("--base", type=Path, help="the same stack's plan at the merge base")
    parser.add_argument("--base-name", default="the base", help='e.g. "main at 1a2b3c4"')
    args = parser.parse_args(argv)
    base = (args.base_name, _read(args.base)) if args.base else None
    sys.stdout.write(render(args.stack, args.exit_code, _read(args.plan_json), base))
    return 0


def _read(path: Path) -> dict[str, Any] | None:
    """A plan's JSON document, or None when the plan wrote none (it failed)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(main())
