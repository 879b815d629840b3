"""`python vae.py SUBCOMMAND ...` (the `latentlab` command): the parser made of every command group's subcommands,
and the dispatch. train is the default subcommand. No TensorFlow is imported before the arguments are parsed, so
`--help` and argument mistakes answer at once."""

from __future__ import annotations

import argparse
import sys

from latentlab.cli import atlas, evaluate, generate, judge, prepare, semantics, train
from latentlab.errors import UserError
from latentlab.quiet import import_keras

COMMAND_GROUPS = (train, evaluate, generate, semantics, prepare, judge, atlas)


def build_parser() -> argparse.ArgumentParser:
    """The `vae.py` parser: each command group adds its subcommands, each with `run` (args -> exit status)."""
    parser = argparse.ArgumentParser(description="Train and use the latentlab VAE.")
    commands = parser.add_subparsers(dest="command")
    for group in COMMAND_GROUPS:
        group.add_parser(commands)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> list[str]:
    """The names of the parser's subcommands."""
    return [name for action in parser._subparsers._group_actions for name in action.choices]


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` (default: sys.argv[1:]; `train` when it names no subcommand) and run the command: its exit
    status, 2 with one line on stderr for a user mistake."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or (argv[0] not in subcommands(parser) and argv[0] not in ("-h", "--help")):
        argv.insert(0, "train")
    args = parser.parse_args(argv)
    import_keras()
    try:
        return args.run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
