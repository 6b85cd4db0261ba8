"""What the command line says besides its data: exit statuses, one-line messages on stderr, and the library's
parameter names said as flags (:func:`in_flags`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

from ..text import terminal_safe

EXIT_OK, EXIT_NO_DATA, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


#: The library's parameters that the command line takes as flags: ``max_side`` is ``--max-side``.
_PARAMETERS = (
    "fetched_at", "as_of", "since", "until", "source", "rules", "refresh", "cache_path", "expire_after", "history_path", "trials_path",
    "provider", "min_context", "max_prompt_price", "width", "height", "preset", "detail", "prompt_tokens",
    "output_tokens", "include_generators", "top", "prompt", "truth", "max_usd", "max_tokens", "dpi", "max_side",
    "concurrency", "timeout", "retry_unknown", "new_budget", "max_cer", "min_field_accuracy", "min_success_rate",
    "confidence", "budget_per_1k_pages", "budget_usd", "reasoning_effort", "reasoning_tokens",
    "cached_instruction", "min_confidence",
)  # fmt: skip
_NAMES = "|".join(_PARAMETERS)
#: The library's words for what the command line says with flags, in order (see :func:`in_flags`).
_IN_FLAGS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # Sentences written for one function of the library.
    (re.compile(r" or pass api_key= \(a dry run and 'tesseract' need none\)"), " (--dry-run and --model tesseract need none)"),
    (re.compile(r"\s*or pass api_key="), ""),
    (re.compile(r"include_generators=True \(--include-generators\)"), "--include-generators"),
    (re.compile(r"\b(include_free|include_unfit)=True shows them"), lambda m: f"--{m[1].replace('_', '-')} shows them"),
    (re.compile(r"\bone_per_base=False shows them"), "--every-listing shows them"),
    (re.compile(r"\bkinds=None shows them"), "--kind all shows them"),
    (re.compile(r"use a lower dpi or max_side"), "use a lower --dpi or --max-side"),
    (re.compile(r"^truth folder not found \(truth is a folder of <page>\.txt files or a dict\)"),
     "--truth folder not found (it is a folder of <page>.txt files)"),
    (re.compile(r"give the image size: width and height in pixels, or a preset"),
     "give the image size: --width and --height in pixels, or --preset"),
    (re.compile(r"; do not also give \d+x\d+$"), "; do not also give --width and --height"),
    # Any parameter: ``name=value``, ``bad name 'value'``, and a message that starts with the name.
    (re.compile(rf"\b({_NAMES})=(?=\S)"), lambda m: f"--{m[1].replace('_', '-')} "),
    (re.compile(rf"\bbad ({_NAMES}) "), lambda m: f"bad --{m[1].replace('_', '-')} "),
    (re.compile(rf"^({_NAMES}) (?=['\"]|must |reads |is )"), lambda m: f"--{m[1].replace('_', '-')} "),
    (re.compile(rf"^({_NAMES}):"), lambda m: f"--{m[1].replace('_', '-')}:"),
]  # fmt: skip


def in_flags(message: str) -> str:
    """A library message as the command line says it: ``fetched_at='x'`` is ``--fetched-at 'x'``, no ``pass api_key=``.

    The library names its parameters (``as_of``, ``max_side``); a user of the
    command line knows them as flags (``--as-of``, ``--max-side``), and has no
    ``api_key=`` to pass.
    """
    for pattern, replacement in _IN_FLAGS:
        message = pattern.sub(replacement, message)
    return message


class UsageError(Exception):
    """A bad command line: reported in one line with exit status 2."""


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _warning_line(message, category, filename, lineno, line=None) -> str:
    return f"vision-models: warning: {in_flags(_one_line(message))}\n"


def _one_line(exc: BaseException) -> str:
    """An exception's text on one line, control characters shown, never a traceback."""
    return terminal_safe(" ".join(str(exc).split()) or type(exc).__name__)
