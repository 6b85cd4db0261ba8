"""The options several commands share, and the types that bound their values (:data:`LIMITS`).

Apart from :mod:`.parser` so that a command's module may add its own parser with them (``recommend``) without an
import cycle.
"""

from __future__ import annotations

import argparse

#: Upper bounds of the numeric options: far beyond any real use, yet small enough that no
#: later arithmetic (sockets, timedelta, SQLite integers, pixel buffers) can overflow.
LIMITS = {
    "tokens": 10_000_000,  # --max-tokens, --prompt-tokens, --output-tokens
    "context": 1_000_000_000,  # --min-context
    "pixels": 100_000,  # --width, --height, --max-side
    "dpi": 2_400,
    "top": 1_000_000,
    "usd": 1_000_000,  # --max-usd, --max-prompt-price (USD per million tokens)
    "timeout_s": 86_400,  # a day
    "expire_s": 31_536_000,  # a year
    "concurrency": 64,
    "threads": 256,
}


def add_prior_options(parser: argparse.ArgumentParser) -> None:
    """Which published score: ``--benchmark`` and ``--metric`` (``vision-models benchmarks`` lists them)."""
    parser.add_argument("--benchmark", help="prior chart: the benchmark (default: the one scoring the most models)")
    parser.add_argument("--metric", help="prior chart: its metric (default: that benchmark's overall score)")


def add_export_format_option(parser: argparse.ArgumentParser) -> None:
    """``--format``, for a file whose name does not say (``rows.txt``); a name that says another is refused."""
    parser.add_argument(
        "--format", choices=("csv", "json"), help="the file's format, when its name does not end in .csv or .json"
    )


def add_table_options(parser: argparse.ArgumentParser) -> None:
    """Tables fit the terminal ($COLUMNS) unless asked to show everything."""
    parser.add_argument("--wide", action="store_true", help="table: show every cell in full, however wide")


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """Where the catalog comes from and which rules make a model vision-capable."""
    parser.add_argument("--source", help="openrouter (default), sample, an http(s) URL or a .json/.json.gz file")
    parser.add_argument(
        "--rules",
        choices=("seed", "strict"),
        default="strict",
        help="strict (default): a model's listed inputs decide; seed: the original endpoint's rules, exactly",
    )
    parser.add_argument("--refresh", action="store_true", help="ask OpenRouter even if the cached copy is fresh")
    parser.add_argument("--cache-path", help="the SQLite cache file")


def add_as_of_option(parser: argparse.ArgumentParser) -> None:
    """The catalog as the history recorded it on a date, instead of today's."""
    parser.add_argument(
        "--as-of", metavar="DATE", help="the catalog as the history recorded it then (ISO date or datetime, UTC)"
    )


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """The filters shared by list, cost and export."""
    parser.add_argument("--provider", action="append", metavar="NAME", help="keep this provider (repeatable)")
    parser.add_argument(
        "--min-context", type=_whole_number(0, LIMITS["context"]), metavar="N", help="at least N tokens of context"
    )
    parser.add_argument(
        "--max-prompt-price",
        type=_number(0, LIMITS["usd"]),
        metavar="USD_PER_MTOK",
        help="prompt price at most this (0-1,000,000)",
    )


def add_kind_option(parser: argparse.ArgumentParser, default: str) -> None:
    """``--kind``: what the models are for (reader, guard, agent...; catalog/kinds.py), or ``all``."""
    from ..catalog.kinds import KINDS

    parser.add_argument(
        "--kind",
        dest="model_kind",
        choices=(*KINDS, "all"),
        default=default,
        help=f"only models of this kind: reader reads a page into text; guard, agent, router, alias, generator and "
        f"embedding do not (default: {default})",
    )


def add_image_options(parser: argparse.ArgumentParser) -> None:
    """The image and the call being priced."""
    from ..pricing.estimate import PRESETS
    from ..pricing.reasoning import DEFAULT_EFFORT, PRICED_EFFORTS

    parser.add_argument(
        "--width", type=_whole_number(1, LIMITS["pixels"]), help="image width in pixels (at most 100,000)"
    )
    parser.add_argument(
        "--height", type=_whole_number(1, LIMITS["pixels"]), help="image height in pixels (at most 100,000)"
    )
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), help="a common page or photo size instead of --width/--height"
    )
    parser.add_argument(
        "--prompt-tokens",
        type=_whole_number(0, LIMITS["tokens"]),
        default=0,
        metavar="N",
        help="instruction tokens (default 0)",
    )
    parser.add_argument(
        "--output-tokens",
        type=_whole_number(0, LIMITS["tokens"]),
        required=True,
        metavar="N",
        help="expected answer tokens (at most 10,000,000)",
    )
    parser.add_argument("--detail", choices=("high", "low"), default="high")
    parser.add_argument(
        "--reasoning-effort",
        choices=PRICED_EFFORTS,
        default=DEFAULT_EFFORT,
        help=(
            "reasoning effort priced on models that reason (default: each model's own when not asked, medium, or"
            " none on models that reason only when asked; none: no reasoning)"
        ),
    )
    parser.add_argument(
        "--reasoning-tokens",
        type=_whole_number(0, LIMITS["tokens"]),
        metavar="N",
        help="reasoning tokens per page on models that reason, instead of the effort's default",
    )
    parser.add_argument(
        "--cached-instruction",
        action="store_true",
        help="take off what reading the instruction from the provider's cache saves (shown either way)",
    )
    parser.add_argument(
        "--include-generators",
        action="store_true",
        help="keep models that also generate audio or images (left out by default, with a note on stderr)",
    )


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 0-65535, got {text!r}")
    return value


def _whole_number(low: int, high: int):
    """An argparse type: a whole number from ``low`` to ``high``; anything else gets the same one message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # "1e400", "2.5", "many", and more digits than int() reads
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low:,} to {high:,}, got {text!r}")
        return value

    parse.__name__ = f"whole number from {low:,} to {high:,}"
    return parse


def _number(low: int, high: int, *, above: bool = False):
    """An argparse type: a number from ``low`` (or ``above`` it) to ``high``; nan, inf and 1e400 never pass."""
    what = f"a number above {low:,} and at most {high:,}" if above else f"a number from {low:,} to {high:,}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not ((low < value) if above else (low <= value)) or not value <= high:  # nan fails every comparison
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what
    return parse
