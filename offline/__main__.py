"""`python -m offline <command>`: the offline engine's command line.

Each command lives in its own module exposing `add_arguments(parser)` and `run(args) -> int`
(the exit code).
"""

from __future__ import annotations

import argparse
import gc
import shlex
import sys
from importlib import import_module
from typing import NoReturn

COMMANDS = {"plan": "offline.plan", "dev": "local.cli", "dev-user": "local.users"}
"""Command -> its module, imported only when that command runs (or for the full help): `plan`
must not pay for moto and boto3, which local mode loads."""
USAGE_ERROR = 1
"""Exit code of a command-line mistake: argparse's usual 2 means "mandatory policy violation"
to `plan`'s callers (CI), so a mistyped flag must not look like one."""


_OWN_PACKAGES = frozenset({"offline", "local", "components", "policy", "ops", "lambda_src"})
"""Our own packages: one of them missing is a bug to show in full, not a setup problem."""


def _outside_the_virtualenv(missing: ModuleNotFoundError, argv: list[str]) -> str:
    """One line naming what is missing and where, and a hint with the command that works."""
    command = " ".join(["python -m offline", *(shlex.quote(arg) for arg in argv)])
    return (
        f"python -m offline: {sys.executable} has no {missing.name!r}: "
        "run it with the project's virtualenv\n"
        f"hint: `make .venv/.installed` creates .venv once, then `.venv/bin/{command}`\n"
    )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = [argv[0]] if argv and argv[0] in COMMANDS else list(COMMANDS)
    try:
        modules = {name: import_module(COMMANDS[name]) for name in chosen}
    except ModuleNotFoundError as missing:
        if (missing.name or "").partition(".")[0] in _OWN_PACKAGES:
            raise
        sys.stderr.write(_outside_the_virtualenv(missing, argv))
        return USAGE_ERROR
    parser = _Parser(prog="python -m offline", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for name, module in modules.items():
        summary = (module.__doc__ or "").strip().split("\n")[0]
        module.add_arguments(commands.add_parser(name, help=summary, description=module.__doc__))
    args = parser.parse_args(argv)
    # What is loaded so far (pulumi, pulumi_aws, rich: hundreds of thousands of objects) lives as
    # long as the process: keep it out of the collector, or every full collection the program
    # triggers rescans all of it.
    gc.freeze()
    return modules[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
