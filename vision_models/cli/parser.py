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
from .options import (  # noqa: F401 (LIMITS and the option helpers: also importable from here)
    LIMITS,
    _number,
    _port,
    _whole_number,
    add_as_of_option,
    add_export_format_option,
    add_filter_options,
    add_image_options,
    add_kind_option,
    add_prior_options,
    add_source_options,
    add_table_options,
)
from .recommend_commands import add_recommend_parser
from .trial_commands import add_evidence_options, run_trials_export, run_trials_list, run_trials_show, run_try

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
    cost.add_argument("--include-free", action="store_true",
                      help="keep the :free variants (left out of the ranking by default, counted on stderr)")  # fmt: skip
    cost.add_argument("--include-unfit", action="store_true",
                      help="keep models the request does not fit (context or maximum output), sorted last")  # fmt: skip
    cost.add_argument("--every-listing", action="store_true",
                      help="keep every listing of a model (dated snapshots, :thinking), not only its cheapest")  # fmt: skip
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
    "recommend": add_recommend_parser,
    "cache": _add_cache,
}
