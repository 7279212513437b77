"""`python -m offline plan STACK`: what `pulumi preview` would show, without credentials.

Runs the project's real `__main__.py` on the offline engine with the config `pulumi up` would
use, then prints the plan (or `--json`, or `--diff OTHER_STACK`). Exit codes: 0 clean (advisory
policy findings allowed), 1 program or config error, 2 a mandatory policy violation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from offline.engine import ProgramError
from offline.preview import document, make_plan
from offline.project import ProjectError
from offline.render import render_diff, render_plan

OK, ERROR, POLICY_VIOLATION = 0, 1, 2
_PLAIN_WIDTH = 200
"""Line width when stdout is not a terminal (CI logs, files): wide enough not to wrap."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack", help="stack to preview (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--diff", metavar="OTHER_STACK", help="compare with another stack, field by field"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the summary and the policy report"
    )
    parser.add_argument(
        "--cwd", type=Path, default=Path.cwd(), help="project folder (default: current folder)"
    )


def run(args: argparse.Namespace) -> int:
    console = _console()
    try:
        plan = make_plan(args.stack, args.cwd)
        other = make_plan(args.diff, args.cwd) if args.diff else None
    except (ProjectError, ProgramError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ERROR
    changes = plan.graph.changes(other.graph) if other else None
    if args.json:
        print(json.dumps(document(plan, changes, other), indent=2, sort_keys=False))
    elif other is not None and changes is not None:
        render_diff(console, plan, other, changes, quiet=args.quiet)
    else:
        render_plan(console, plan, quiet=args.quiet)
    failed = plan.mandatory or (other is not None and other.mandatory)
    return POLICY_VIOLATION if failed else OK


def _console() -> Console:
    """Colour only on a terminal; elsewhere plain text that does not wrap."""
    if sys.stdout.isatty():
        return Console()
    return Console(color_system=None, force_terminal=False, width=_PLAIN_WIDTH, highlight=False)
