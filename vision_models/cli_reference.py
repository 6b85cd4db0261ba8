"""The command-line reference (``docs/cli.md``), written from the parsers ``vision-models`` runs.

    python -m vision_models.cli_reference > docs/cli.md

Every command and subcommand gets its ``--help`` text, in the order the command line lists them,
formatted at a fixed width (:data:`WIDTH`) whatever the terminal or ``$COLUMNS``, and without
colour, so the file is the same on every machine. ``tests/test_docs.py`` regenerates it and fails
when the checked-in file differs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

from .cli import build_parser

#: Characters per line of the help text (argparse otherwise follows the terminal).
WIDTH = 100

HEADER = """\
# Command-line reference

Generated from the parsers of `vision_models/cli/parser.py` by
`python -m vision_models.cli_reference > docs/cli.md`; a test fails when this file is out of date.
What the commands do, their exit statuses and their output formats: the [guide](guide.md#the-command-line).
"""


class _FixedWidth(argparse.HelpFormatter):
    """argparse's formatter at :data:`WIDTH` columns, whatever the terminal says."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=WIDTH, max_help_position=32)


def commands(parser: argparse.ArgumentParser | None = None) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``(prog, parser)`` for the top-level parser and every command and subcommand below it, in order."""
    parser = parser or build_parser()  # no command named: every command's parser is built
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # an alias maps to the same parser
                yield from commands(sub)


def help_text(parser: argparse.ArgumentParser) -> str:
    """The parser's ``--help`` at the fixed width, without colour."""
    parser.formatter_class = _FixedWidth
    if hasattr(parser, "color"):  # Python 3.14+ may colour help for a terminal
        parser.color = False
    return parser.format_help().rstrip() + "\n"


def render() -> str:
    """The whole of ``docs/cli.md``."""
    found = list(commands())
    out = [HEADER.rstrip(), ""]
    out += [f"- [`{prog}`](#{_anchor(prog)})" for prog, _ in found[1:]]
    for prog, parser in found:
        out += ["", f"## {prog}", "", "```text", help_text(parser).rstrip(), "```"]
    return "\n".join(out) + "\n"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading made of words, spaces and hyphens."""
    return heading.lower().replace(" ", "-")


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
