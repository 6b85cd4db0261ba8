"""The command line's parsers: every command, its options and their bounds (:data:`LIMITS`).

Given the command about to run, only that command's parser is built: a faster start.
"""

from __future__ import annotations

import argparse
import re
from typing import NoReturn

from .. import __version__
from .commands import (
    run_benchmarks,
    run_cache,
    run_changes,
    run_chart,
    run_cost,
    run_endpoints,
    run_export,
    run_history_import,
    run_history_info,
    run_list,
    run_serve,
)
from .messages import UsageError
from .trial_commands import add_evidence_options, run_trials_export, run_trials_list, run_trials_show, run_try

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

#: argparse's words for a value its type refused, rewritten as ``bad --flag VALUE: expected ...``.
_BAD_VALUE = re.compile(r"^argument (?P<flag>\S+): expected (?P<what>.+?), got (?P<value>.+)$")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not the usage block plus a line."""

    def error(self, message: str) -> NoReturn:
        bad = _BAD_VALUE.match(message)
        if bad:
            message = f"bad {bad['flag']} {bad['value']}: expected {bad['what']}"
        raise UsageError(f"{self.prog}: {message}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Given the command about to run, only that command is built: a faster start."""
    parser = _Parser(prog="vision-models", description="Which OpenRouter models can read an image, and what they cost.")
    parser.add_argument("--version", action="version", version=f"vision-models {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    chosen = COMMANDS.get(command or "")
    for add in [chosen] if chosen else dict.fromkeys(COMMANDS.values()):
        add(commands)
    return parser


def _add_list(commands) -> None:
    listing = commands.add_parser("list", help="list the vision models")
    add_source_options(listing)
    add_filter_options(listing)
    add_kind_option(listing, "all")
    listing.add_argument("--format", choices=("table", "csv", "json", "api"), default="table")
    add_as_of_option(listing)
    add_table_options(listing)
    listing.set_defaults(handler=run_list)


def _add_export(commands) -> None:
    export = commands.add_parser("export", help="write the vision models to a CSV (formula-safe) or JSON file")
    export.add_argument("path", help="the file to write: FILE.csv or FILE.json (the name says the format)")
    add_export_format_option(export)
    add_source_options(export)
    add_filter_options(export)
    add_kind_option(export, "all")
    add_as_of_option(export)
    export.set_defaults(handler=run_export)


def _add_cost(commands) -> None:
    cost = commands.add_parser("cost", help="what one image (a page) costs on each vision model")
    add_source_options(cost)
    add_filter_options(cost)
    add_kind_option(cost, "reader")
    add_image_options(cost)
    cost.add_argument("--top", type=_whole_number(1, LIMITS["top"]), metavar="N", help="only the N cheapest")
    cost.add_argument("--format", choices=("table", "csv", "json"), default="table")
    add_as_of_option(cost)
    cost.add_argument(
        "--by-provider",
        action="store_true",
        help="one row per provider endpoint (OpenRouter's endpoints API; with --top N, of the N cheapest)",
    )
    add_table_options(cost)
    cost.set_defaults(handler=run_cost)


def _add_endpoints(commands) -> None:
    endpoints = commands.add_parser(
        "endpoints", help="every provider endpoint of the given models: prices, limits, uptime"
    )
    endpoints.add_argument("ids", nargs="+", metavar="ID", help="model ids, such as openai/gpt-4o-mini")
    endpoints.add_argument("--format", choices=("table", "csv", "json"), default="table")
    endpoints.add_argument("--refresh", action="store_true", help="ask OpenRouter even if the cached copy is fresh")
    endpoints.add_argument("--cache-path", help="the SQLite cache file")
    endpoints.set_defaults(handler=run_endpoints)


def _add_chart(commands) -> None:
    chart = commands.add_parser("chart", help="save a cost chart as PNG")
    chart.add_argument(
        "kind",
        choices=("cost", "context", "prior"),
        help="cost: bars per model; context: cost against context; prior: cost against a published score",
    )
    chart.add_argument("--out", required=True, metavar="PNG", help="where to write the image")
    add_source_options(chart)
    add_filter_options(chart)
    add_image_options(chart)
    chart.add_argument(
        "--top", type=_whole_number(1, LIMITS["top"]), default=25, metavar="N", help="bars to draw (cost chart)"
    )
    add_prior_options(chart)
    chart.set_defaults(handler=run_chart)


def add_prior_options(parser: argparse.ArgumentParser) -> None:
    """Which published score: ``--benchmark`` and ``--metric`` (``vision-models benchmarks`` lists them)."""
    parser.add_argument("--benchmark", help="prior chart: the benchmark (default: the one scoring the most models)")
    parser.add_argument("--metric", help="prior chart: its metric (default: that benchmark's overall score)")


def _add_benchmarks(commands) -> None:
    listing = commands.add_parser("benchmarks", help="published document-reading scores, mapped to OpenRouter ids")
    listing.add_argument("--benchmark", help="only this benchmark")
    listing.add_argument("--metric", help="only this metric")
    listing.add_argument("--format", choices=("table", "csv", "json"), default="table")
    add_table_options(listing)
    listing.set_defaults(handler=run_benchmarks)


def _add_serve(commands) -> None:
    serve = commands.add_parser("serve", help="answer GET /api/models over HTTP, as the seed endpoint does")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    serve.add_argument("--port", type=_port, default=3000, help="TCP port, 0-65535 (0: any free port)")
    serve.add_argument(
        "--cors-origin", metavar="ORIGIN", help="allow this browser origin (Access-Control-Allow-Origin)"
    )
    serve.add_argument("--source", help="openrouter (default), sample, an http(s) URL or a .json/.json.gz file")
    serve.add_argument("--cache-path", help="the SQLite cache file")
    serve.add_argument(
        "--expire-after",
        type=_whole_number(1, LIMITS["expire_s"]),
        default=3600,
        metavar="SECONDS",
        help="catalog freshness (at most 31,536,000: a year)",
    )
    serve.add_argument("--threads", type=_whole_number(1, LIMITS["threads"]), default=8, help="worker threads (1-256)")
    serve.set_defaults(handler=run_serve)


def _add_history(commands) -> None:
    history = commands.add_parser("history", help="the catalog history: import saved catalogs, or info")
    history_commands = history.add_subparsers(dest="history_command", parser_class=_Parser, required=True)
    importer = history_commands.add_parser("import", help="backfill saved catalogs (.json / .json.gz)")
    importer.add_argument("files", nargs="+", metavar="FILE")
    importer.add_argument("--fetched-at", metavar="ISO", help="the fetch time of the (single) file")
    importer.add_argument(
        "--history-path", help="the history file (default: $VISION_MODELS_HISTORY or beside the cache)"
    )
    importer.set_defaults(handler=run_history_import)
    info = history_commands.add_parser("info", help="where the history is and what it holds")
    info.add_argument("--history-path", help="the history file")
    info.set_defaults(handler=run_history_info)


def _add_changes(commands) -> None:
    changes = commands.add_parser("changes", help="what changed in the catalog: added, removed, prices, context...")
    changes.add_argument("--since", required=True, metavar="DATE", help="ISO date or datetime (UTC)")
    changes.add_argument("--until", metavar="DATE", help="ISO date or datetime (UTC), inclusive")
    changes.add_argument("--vision-only", action="store_true", help="only models that read images")
    changes.add_argument("--format", choices=("table", "csv", "json"), default="table")
    add_table_options(changes)
    changes.add_argument("--history-path", help="the history file")
    changes.set_defaults(handler=run_changes)


def _add_cache(commands) -> None:
    cache = commands.add_parser("cache", help="the HTTP cache: info or clear")
    cache.add_argument("action", choices=("info", "clear"))
    cache.add_argument("--cache-path", help="the SQLite file (default: $VISION_MODELS_CACHE or the user cache folder)")
    cache.set_defaults(handler=run_cache)


def add_trial_commands(commands) -> None:
    """``try`` (send pages to models within a budget) and ``trials list|show|export``.

    Long because it is a table: one ``add_argument`` per flag, read top to bottom as ``--help`` prints them.
    """
    attempt = commands.add_parser("try", help="send your pages to chosen models: billed cost, latency, accuracy")
    attempt.add_argument("pages", nargs="+", metavar="PAGE", help="images (PNG, JPEG, WebP, TIFF), PDFs or folders")
    attempt.add_argument(
        "--model", action="append", required=True, metavar="ID", help="an OpenRouter id or tesseract (repeatable)"
    )
    attempt.add_argument("--prompt", help="the instruction sent with each page")
    add_evidence_options(attempt, _whole_number)  # --truth, --schema, --critical, --repeats
    attempt.add_argument(
        "--max-usd",
        type=_number(0, LIMITS["usd"]),
        default=1.0,
        metavar="X",
        help="hard budget for this run, 0-1,000,000 (default 1.00)",
    )
    attempt.add_argument("--dry-run", action="store_true", help="only estimate: nothing is sent, no key needed")
    attempt.add_argument(
        "--concurrency",
        type=_whole_number(1, LIMITS["concurrency"]),
        default=4,
        metavar="N",
        help="requests at once (1-64)",
    )
    attempt.add_argument(
        "--max-tokens",
        type=_whole_number(1, LIMITS["tokens"]),
        default=2048,
        metavar="N",
        help="answer bound per page (at most 10,000,000)",
    )
    attempt.add_argument(
        "--dpi", type=_whole_number(1, LIMITS["dpi"]), default=200, help="PDF rendering resolution (1-2,400)"
    )
    attempt.add_argument(
        "--max-side",
        type=_whole_number(1, LIMITS["pixels"]),
        default=2048,
        metavar="PX",
        help="shrink larger pages to this (at most 100,000)",
    )
    attempt.add_argument(
        "--timeout",
        type=_number(0, LIMITS["timeout_s"], above=True),
        default=120.0,
        metavar="SECONDS",
        help="per request, such as 2.5 (above 0, at most 86,400: a day)",
    )
    attempt.add_argument("--format", choices=("table", "csv", "json"), default="table")
    attempt.add_argument("--source", help="the catalog for prices: openrouter (default), sample, a URL or a file")
    attempt.add_argument("--cache-path", help="the SQLite cache file")
    attempt.add_argument("--trials-path", help="the trials file (default: $VISION_MODELS_TRIALS or beside the cache)")
    attempt.add_argument("--no-progress", action="store_true", help="no progress bar")
    attempt.add_argument(
        "--retry-unknown", action="store_true",
        help="send again the rows a provider may have billed without saying what (says how much that may spend)",
    )  # fmt: skip
    attempt.add_argument(
        "--new-budget", action="store_true",
        help="spend up to --max-usd afresh, even if earlier runs of the same pages and models spent some of it",
    )  # fmt: skip
    from ..pricing.reasoning import EFFORTS

    attempt.add_argument(
        "--reasoning-effort", choices=EFFORTS,
        help="send OpenRouter's reasoning parameter with this effort on every page (default: not sent)",
    )  # fmt: skip
    attempt.set_defaults(handler=run_try)

    runs = commands.add_parser("trials", help="stored trial runs: list, show one, export one to CSV")
    runs_commands = runs.add_subparsers(dest="trials_command", parser_class=_Parser, required=True)
    listing = runs_commands.add_parser("list", help="the runs, newest first")
    listing.add_argument("--format", choices=("table", "csv", "json"), default="table")
    listing.add_argument("--trials-path", help="the trials file")
    listing.set_defaults(handler=run_trials_list)
    show = runs_commands.add_parser("show", help="one run's rows and per-model summary")
    show.add_argument("run_id", metavar="RUN")
    show.add_argument("--format", choices=("table", "csv", "json"), default="table")
    add_evidence_options(show)  # --truth, --critical
    show.add_argument("--trials-path", help="the trials file")
    show.set_defaults(handler=run_trials_show)
    export = runs_commands.add_parser("export", help="one run's rows to a CSV (formula-safe) or JSON file")
    export.add_argument("run_id", metavar="RUN")
    export.add_argument("path", metavar="FILE", help="FILE.csv or FILE.json (the name says the format)")
    add_export_format_option(export)
    add_evidence_options(export)  # --truth, --critical
    export.add_argument("--trials-path", help="the trials file")
    export.set_defaults(handler=run_trials_export)


#: Each command and the function that adds it, with its options, to the subcommands (in the help's order).
COMMANDS = {
    "list": _add_list,
    "export": _add_export,
    "cost": _add_cost,
    "endpoints": _add_endpoints,
    "chart": _add_chart,
    "benchmarks": _add_benchmarks,
    "serve": _add_serve,
    "history": _add_history,
    "changes": _add_changes,
    "try": add_trial_commands,
    "trials": add_trial_commands,
    "cache": _add_cache,
}


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
