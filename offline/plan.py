"""`python -m offline plan STACK`: what `pulumi preview` would show, without credentials.

Runs the project's real `__main__.py` on the offline engine with the config `pulumi up` would
use, then prints the plan (or `--json`, or `--diff OTHER_STACK`). Exit codes: 0 clean (advisory
policy findings allowed), 1 the program failed (or a command-line mistake), 2 a mandatory policy
violation, 3 the configuration is invalid, 4 the stack has no `Pulumi.<stack>.yaml`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from offline.engine import ProgramConfigError, ProgramError
from offline.preview import document, make_plan
from offline.project import ConfigProblem, ProjectError, StackNotFoundError
from offline.render import render_diff, render_plan

OK, ERROR, POLICY_VIOLATION, CONFIG_ERROR, UNKNOWN_STACK = 0, 1, 2, 3, 4
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
        return _exit_code(exc)
    changes = plan.graph.changes(other.graph) if other else None
    if args.json:
        print(json.dumps(document(plan, changes, other), indent=2, sort_keys=False))
    elif other is not None and changes is not None:
        render_diff(console, plan, other, changes, quiet=args.quiet)
    else:
        render_plan(console, plan, quiet=args.quiet)
    failed = plan.mandatory or (other is not None and other.mandatory)
    return POLICY_VIOLATION if failed else OK


def _exit_code(exc: ProjectError | ProgramError) -> int:
    if isinstance(exc, StackNotFoundError):
        return UNKNOWN_STACK
    if isinstance(exc, ConfigProblem | ProgramConfigError):
        return CONFIG_ERROR
    return ERROR


def _console() -> Console:
    """Colour only on a terminal; elsewhere plain text that does not wrap."""
    if sys.stdout.isatty():
        return Console()
    return Console(color_system=None, force_terminal=False, width=_PLAIN_WIDTH, highlight=False)
