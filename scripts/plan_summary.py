"""Render `python -m offline plan STACK --json` as Markdown for a GitHub job summary.

    .venv/bin/python scripts/plan_summary.py --stack dev --exit-code 0 plan.json

The policy report comes first (it decides the job), then the resources, the config in effect and
the outputs, folded. A failed plan (exit code 1, no JSON) still gets a summary saying so.
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


def render(stack: str, exit_code: int, document: dict[str, Any] | None) -> str:
    meaning = EXIT_MEANING.get(exit_code, "failed")
    if document is None:
        return f"### ❌ `{stack}`: plan failed (exit {exit_code}, {meaning})\n\nSee the job log.\n"
    policy = document.get("policy", {})
    violations = policy.get("violations", [])
    mark = "✅" if exit_code == 0 else "❌"
    lines = [
        f"### {mark} `{stack}`: {document['summary']['create']} to create, "
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
    args = parser.parse_args(argv)
    try:
        document = json.loads(args.plan_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        document = None
    sys.stdout.write(render(args.stack, args.exit_code, document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
