"""`python -m offline <command>`: the offline engine's command line.

Each command lives in its own module exposing `add_arguments(parser)` and `run(args) -> int`
(the exit code).
"""

from __future__ import annotations

import argparse
import gc
import sys
from typing import NoReturn

from local import cli as dev
from local import users as dev_user
from offline import plan

COMMANDS = {"plan": plan, "dev": dev, "dev-user": dev_user}
USAGE_ERROR = 1
"""Exit code of a command-line mistake: argparse's usual 2 means "mandatory policy violation"
to `plan`'s callers (CI), so a mistyped flag must not look like one."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m offline", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for name, module in COMMANDS.items():
        summary = (module.__doc__ or "").strip().split("\n")[0]
        module.add_arguments(commands.add_parser(name, help=summary, description=module.__doc__))
    args = parser.parse_args(argv)
    # What is loaded so far (pulumi, pulumi_aws, rich: hundreds of thousands of objects) lives as
    # long as the process: keep it out of the collector, or every full collection the program
    # triggers rescans all of it.
    gc.freeze()
    return COMMANDS[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
