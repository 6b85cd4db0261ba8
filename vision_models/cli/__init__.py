"""``vision-models``: the catalog from a shell.

Data goes to stdout, messages to stderr. Exit status: 0 ok, 1 no data (the
fetch failed with nothing cached, the catalog is empty, the history holds no
catalog for ``--as-of``, or no model passes the filters), 2 bad usage (an
unknown option, a bad value, an unreadable source), always as one line, in
flags (``--max-side``), never in the library's parameter names (see
:func:`in_flags`); Ctrl-C is one line and 130.
Every number on the command line has bounds (see :data:`LIMITS`): an absurd
one (``1e400``, ``nan``, 23 digits) is a bad value, ``bad --flag VALUE:
expected ...``, never an overflow deep inside.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from ..present.tables import plural, set_wide, usd
from .commands import next_step_hint, offline_hint
from .messages import (
    EXIT_INTERRUPTED,
    EXIT_NO_DATA,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    _one_line,
    _say,
    _warning_line,
    in_flags,
)
from .parser import LIMITS, build_parser

#: What ``vision_models.cli`` named before it was a package, for its callers: the entry point and the parser
#: (``main``, ``build_parser``), the message helpers and the amounts the tables print.
__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_NO_DATA",
    "EXIT_OK",
    "EXIT_USAGE",
    "LIMITS",
    "UsageError",
    "build_parser",
    "in_flags",
    "main",
    "next_step_hint",
    "offline_hint",
    "plural",
    "usd",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    warnings.formatwarning = _warning_line  # a warning is one line on stderr, like every other message
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv else None)
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        set_wide(bool(getattr(args, "wide", False)))
        return args.handler(args)
    except UsageError as exc:
        _say(str(exc))
        return EXIT_USAGE
    except ValueError as exc:  # bad values caught by the package: a source, a filter, a size, a location
        _say(f"vision-models: error: {in_flags(_one_line(exc))}")
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C: files are written whole or not at all, so there is nothing to undo
        _say("vision-models: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `vision-models list | head`
        sys.stderr.close()
        return EXIT_OK
    except (OSError, sqlite3.Error) as exc:  # a location the package did not name: still one line, exit 2
        filename = getattr(exc, "filename", None)
        where = f" ({filename})" if filename else ""
        _say(f"vision-models: error: {_one_line(exc)}{where}")
        return EXIT_USAGE


#: Where the flat module's other names (``COMMANDS``, ``run_list``) are now, looked for in this order.
_HOMES = ("parser", "commands", "trial_commands", "messages")


def __getattr__(name: str) -> Any:
    """Any other name ``vision_models.cli`` had before it was a package, from its home."""
    if not name.startswith("__"):
        for home in _HOMES:
            found = vars(importlib.import_module(f".{home}", __name__))
            if name in found:
                return found[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
