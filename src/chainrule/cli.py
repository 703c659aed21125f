"""The `chainrule` command: argument parsing only; each command calls one library function.

Errors in what the user typed are one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


def _parser_for(sub: argparse._SubParsersAction, name: str, help: str, example: str) -> argparse.ArgumentParser:
    """A subcommand parser whose --help ends with an example."""
    return sub.add_parser(
        name, help=help, description=help, epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


# ---------------------------------------------------------------- train, predict, demo (networks issue)
def _add_training_commands(sub: argparse._SubParsersAction) -> None:
    pass


# ---------------------------------------------------------------- explain (explanations issue, part 1)
def _add_explain_commands(sub: argparse._SubParsersAction) -> None:
    pass


# ---------------------------------------------------------------- chain, compare, graph (explanations issue, part 2)
def _add_chain_commands(sub: argparse._SubParsersAction) -> None:
    pass


# ---------------------------------------------------------------- serve (playground issue)
def _add_serve_command(sub: argparse._SubParsersAction) -> None:
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Back-propagation you can run, see and trust.",
        epilog="example:\n  chainrule train xor --hidden 2 --lr 0.5 --epochs 5000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_training_commands(sub)
    _add_explain_commands(sub)
    _add_chain_commands(sub)
    _add_serve_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has already printed its one-line message
        return int(exit_.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UsageError as error:
        print(f"chainrule {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
