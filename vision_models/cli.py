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

import argparse
import json
import re
import sqlite3
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import NoReturn

from . import __version__
from .text import terminal_safe
from .present.tables import (
    _cells,
    changes_table,
    cost_table,
    endpoints_table,
    fixed_width,
    plan_table,
    plural,
    provider_cost_table,
    render,
    set_wide,
    text_table,
    trial_output,
    usd,
)

EXIT_OK, EXIT_NO_DATA, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C

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


#: The library's parameters that the command line takes as flags: ``max_side`` is ``--max-side``.
_PARAMETERS = (
    "fetched_at", "as_of", "since", "until", "source", "rules", "refresh", "cache_path", "history_path", "trials_path",
    "provider", "min_context", "max_prompt_price", "width", "height", "preset", "detail", "prompt_tokens",
    "output_tokens", "include_generators", "top", "prompt", "truth", "max_usd", "max_tokens", "dpi", "max_side",
    "concurrency", "timeout", "retry_unknown", "new_budget",
)  # fmt: skip
_NAMES = "|".join(_PARAMETERS)
#: The library's words for what the command line says with flags, in order (see :func:`in_flags`).
_IN_FLAGS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # Sentences written for one function of the library.
    (re.compile(r" or pass api_key= \(a dry run and 'tesseract' need none\)"), " (--dry-run and --model tesseract need none)"),
    (re.compile(r"\s*or pass api_key="), ""),
    (re.compile(r"include_generators=True \(--include-generators\)"), "--include-generators"),
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


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not the usage block plus a line."""

    def error(self, message: str) -> NoReturn:
        bad = _BAD_VALUE.match(message)
        if bad:
            message = f"bad {bad['flag']} {bad['value']}: expected {bad['what']}"
        raise UsageError(f"{self.prog}: {message}")


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
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        _say(f"vision-models: error: {_one_line(exc)}{where}")
        return EXIT_USAGE


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
    add_as_of_option(export)
    export.set_defaults(handler=run_export)


def _add_cost(commands) -> None:
    cost = commands.add_parser("cost", help="what one image (a page) costs on each vision model")
    add_source_options(cost)
    add_filter_options(cost)
    add_image_options(cost)
    cost.add_argument("--top", type=_whole_number(1, LIMITS["top"]), metavar="N", help="only the N cheapest")
    cost.add_argument("--format", choices=("table", "csv", "json"), default="table")
    add_as_of_option(cost)
    cost.add_argument(
        "--by-provider", action="store_true", help="one row per provider endpoint (OpenRouter's endpoints API; with --top N, of the N cheapest)"
    )
    add_table_options(cost)
    cost.set_defaults(handler=run_cost)


def _add_endpoints(commands) -> None:
    endpoints = commands.add_parser("endpoints", help="every provider endpoint of the given models: prices, limits, uptime")
    endpoints.add_argument("ids", nargs="+", metavar="ID", help="model ids, such as openai/gpt-4o-mini")
    endpoints.add_argument("--format", choices=("table", "csv", "json"), default="table")
    endpoints.add_argument("--refresh", action="store_true", help="ask OpenRouter even if the cached copy is fresh")
    endpoints.add_argument("--cache-path", help="the SQLite cache file")
    endpoints.set_defaults(handler=run_endpoints)


def _add_chart(commands) -> None:
    chart = commands.add_parser("chart", help="save a cost chart as PNG")
    chart.add_argument("kind", choices=("cost", "context"), help="cost: bars per model; context: cost against context")
    chart.add_argument("--out", required=True, metavar="PNG", help="where to write the image")
    add_source_options(chart)
    add_filter_options(chart)
    add_image_options(chart)
    chart.add_argument("--top", type=_whole_number(1, LIMITS["top"]), default=25, metavar="N", help="bars to draw (cost chart)")
    chart.set_defaults(handler=run_chart)


def _add_serve(commands) -> None:
    serve = commands.add_parser("serve", help="answer GET /api/models over HTTP, as the seed endpoint does")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    serve.add_argument("--port", type=_port, default=3000, help="TCP port, 0-65535 (0: any free port)")
    serve.add_argument("--cors-origin", metavar="ORIGIN", help="allow this browser origin (Access-Control-Allow-Origin)")
    serve.add_argument("--source", help="openrouter (default), sample, an http(s) URL or a .json/.json.gz file")
    serve.add_argument("--cache-path", help="the SQLite cache file")
    serve.add_argument(
        "--expire-after", type=_whole_number(1, LIMITS["expire_s"]), default=3600, metavar="SECONDS",
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
    importer.add_argument("--history-path", help="the history file (default: $VISION_MODELS_HISTORY or beside the cache)")
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
    """``try`` (send pages to models within a budget) and ``trials list|show|export``."""
    attempt = commands.add_parser("try", help="send your pages to chosen models: billed cost, latency, accuracy")
    attempt.add_argument("pages", nargs="+", metavar="PAGE", help="images (PNG, JPEG, WebP, TIFF), PDFs or folders")
    attempt.add_argument("--model", action="append", required=True, metavar="ID", help="an OpenRouter id or tesseract (repeatable)")
    attempt.add_argument("--prompt", help="the instruction sent with each page")
    attempt.add_argument("--truth", metavar="DIR", help="ground truth: a folder of <page>.txt files")
    attempt.add_argument(
        "--max-usd", type=_number(0, LIMITS["usd"]), default=1.0, metavar="X",
        help="hard budget for this run, 0-1,000,000 (default 1.00)",
    )
    attempt.add_argument("--dry-run", action="store_true", help="only estimate: nothing is sent, no key needed")
    attempt.add_argument(
        "--concurrency", type=_whole_number(1, LIMITS["concurrency"]), default=4, metavar="N", help="requests at once (1-64)"
    )
    attempt.add_argument(
        "--max-tokens", type=_whole_number(1, LIMITS["tokens"]), default=2048, metavar="N",
        help="answer bound per page (at most 10,000,000)",
    )
    attempt.add_argument("--dpi", type=_whole_number(1, LIMITS["dpi"]), default=200, help="PDF rendering resolution (1-2,400)")
    attempt.add_argument(
        "--max-side", type=_whole_number(1, LIMITS["pixels"]), default=2048, metavar="PX",
        help="shrink larger pages to this (at most 100,000)",
    )
    attempt.add_argument(
        "--timeout", type=_number(0, LIMITS["timeout_s"], above=True), default=120.0, metavar="SECONDS",
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
    show.add_argument("--truth", metavar="DIR", help="ground truth folder, for CER / WER")
    show.add_argument("--trials-path", help="the trials file")
    show.set_defaults(handler=run_trials_show)
    export = runs_commands.add_parser("export", help="one run's rows to a CSV (formula-safe) or JSON file")
    export.add_argument("run_id", metavar="RUN")
    export.add_argument("path", metavar="FILE", help="FILE.csv or FILE.json (the name says the format)")
    add_export_format_option(export)
    export.add_argument("--truth", metavar="DIR", help="ground truth folder, for CER / WER")
    export.add_argument("--trials-path", help="the trials file")
    export.set_defaults(handler=run_trials_export)


#: Each command and the function that adds it, with its options, to the subcommands (in the help's order).
COMMANDS = {
    "list": _add_list,
    "export": _add_export,
    "cost": _add_cost,
    "endpoints": _add_endpoints,
    "chart": _add_chart,
    "serve": _add_serve,
    "history": _add_history,
    "changes": _add_changes,
    "try": add_trial_commands,
    "trials": add_trial_commands,
    "cache": _add_cache,
}


#: The formats a file's name says: ``out.json`` is JSON.
EXPORT_SUFFIXES = {".csv": "csv", ".json": "json"}


def add_export_format_option(parser: argparse.ArgumentParser) -> None:
    """``--format``, for a file whose name does not say (``rows.txt``); a name that says another is refused."""
    parser.add_argument(
        "--format", choices=("csv", "json"), help="the file's format, when its name does not end in .csv or .json"
    )


def export_format(path: str, chosen: str | None) -> str:
    """The format to write ``path`` in: what its name says, or ``--format``; never one the name contradicts."""
    from pathlib import Path

    named = EXPORT_SUFFIXES.get(Path(path).suffix.lower())
    if chosen and named and chosen != named:
        raise UsageError(f"vision-models: --format {chosen} does not match the file name {path!r}: "
                         f"name it .{chosen}, or leave out --format to write {named.upper()}")  # fmt: skip
    if not chosen and not named:
        raise UsageError(f"vision-models: cannot tell the format of {path!r} from its name: "
                         "name it .csv or .json, or give --format csv|json")  # fmt: skip
    return chosen or named or "csv"  # (one of them is set: checked above)


def add_table_options(parser: argparse.ArgumentParser) -> None:
    """Tables fit the terminal ($COLUMNS) unless asked to show everything."""
    parser.add_argument("--wide", action="store_true", help="table: show every cell in full, however wide")


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """Where the catalog comes from and which rules make a model vision-capable."""
    parser.add_argument("--source", help="openrouter (default), sample, an http(s) URL or a .json/.json.gz file")
    parser.add_argument(
        "--rules", choices=("seed", "strict"), default="strict",
        help="strict (default): a model's listed inputs decide; seed: the original endpoint's rules, exactly",
    )
    parser.add_argument("--refresh", action="store_true", help="ask OpenRouter even if the cached copy is fresh")
    parser.add_argument("--cache-path", help="the SQLite cache file")


def add_as_of_option(parser: argparse.ArgumentParser) -> None:
    """The catalog as the history recorded it on a date, instead of today's."""
    parser.add_argument("--as-of", metavar="DATE", help="the catalog as the history recorded it then (ISO date or datetime, UTC)")


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """The filters shared by list, cost and export."""
    parser.add_argument("--provider", action="append", metavar="NAME", help="keep this provider (repeatable)")
    parser.add_argument(
        "--min-context", type=_whole_number(0, LIMITS["context"]), metavar="N", help="at least N tokens of context"
    )
    parser.add_argument(
        "--max-prompt-price", type=_number(0, LIMITS["usd"]), metavar="USD_PER_MTOK",
        help="prompt price at most this (0-1,000,000)",
    )


def add_image_options(parser: argparse.ArgumentParser) -> None:
    """The image and the call being priced."""
    from .pricing.estimate import PRESETS

    parser.add_argument("--width", type=_whole_number(1, LIMITS["pixels"]), help="image width in pixels (at most 100,000)")
    parser.add_argument("--height", type=_whole_number(1, LIMITS["pixels"]), help="image height in pixels (at most 100,000)")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="a common page or photo size instead of --width/--height")
    parser.add_argument(
        "--prompt-tokens", type=_whole_number(0, LIMITS["tokens"]), default=0, metavar="N", help="instruction tokens (default 0)"
    )
    parser.add_argument(
        "--output-tokens", type=_whole_number(0, LIMITS["tokens"]), required=True, metavar="N",
        help="expected answer tokens (at most 10,000,000)",
    )
    parser.add_argument("--detail", choices=("high", "low"), default="high")
    parser.add_argument(
        "--include-generators", action="store_true",
        help="keep models that also generate audio or images (left out by default, with a note on stderr)",
    )


def load_costs(args: argparse.Namespace):
    """The cost table for the command line's models and image; None when there is no data."""
    from .pricing.cost import cost_per_image, left_out_note
    from .pricing.estimate import resolve_size

    resolve_size(args.width, args.height, args.preset)  # a bad size is a usage error: say so before fetching
    _, models = load_models(args)
    if models.empty:
        return None
    costs = cost_per_image(
        models,
        args.width,
        args.height,
        prompt_tokens=args.prompt_tokens,
        output_tokens=args.output_tokens,
        detail=args.detail,
        preset=args.preset,
        include_generators=args.include_generators,
    )
    note = in_flags(left_out_note(costs))
    if note:
        _say(f"vision-models: {note}")
    if costs.empty:
        _say("vision-models: no model left to price")
        return None
    return costs


def load_models(args: argparse.Namespace):
    """Fetch, report on stderr how it went, and filter; None when there is no data at all."""
    from .catalog.api import fetch_vision_models
    from .catalog.filters import filter_models

    as_of = getattr(args, "as_of", None)
    try:
        result = fetch_vision_models(args.source, rules=args.rules, refresh=args.refresh, cache_path=args.cache_path,
                                     as_of=as_of)  # fmt: skip
    except ValueError as exc:
        from .catalog.history import NoSnapshot

        if not isinstance(exc, NoSnapshot):
            raise
        result = _no_snapshot(exc, args.rules)  # no catalog recorded then: no data, as a failed fetch is
    report(result)
    models = filter_models(
        result.models,
        providers=args.provider,
        min_context=args.min_context,
        max_prompt_price=args.max_prompt_price,
    )
    if models.empty and not result.error:
        _say("vision-models: no model matches these filters" if result.count else "vision-models: the catalog has no vision models")
    return result, models


def _no_snapshot(exc: ValueError, rules: str):
    """A result without models whose error says the history holds no catalog for ``--as-of``."""
    from .catalog.api import CatalogResult
    from .catalog.frame import models_frame

    return CatalogResult(models=models_frame([], rules, vision_only=True), source="as-of", error=in_flags(_one_line(exc)))


def report(result) -> None:
    """One line on stderr for anything the user should know about where the data came from."""
    if result.source.startswith("sample"):
        _say(f"vision-models: source is the bundled {result.source}, not live data")
    if result.source.startswith("history"):
        _say(f"vision-models: source is the {result.source}, not live data")
    if result.stale:
        _say(f"vision-models: {result.error}; serving the cached copy from {result.cache_age} s ago")
    elif result.error:
        _say(f"vision-models: {result.error}{next_step_hint(result)}")


def next_step_hint(result) -> str:
    """What to do when the catalog could not be reached and nothing is cached ("" for other failures).

    An answer that came back (a 401, a body that is not a catalog) speaks for
    itself; no answer at all (no network, a refused connection, a time-out)
    leaves the user with two ways on: the bundled sample, or the network settings.
    """
    if not result.models.empty:
        return ""
    return offline_hint(result.error, result.source)


def offline_hint(error: str | None, source: str = "openrouter", *, sample: bool = True) -> str:
    """`` and nothing is cached: check the network and ...`` for an error that no answer came back; else ``""``.

    ``sample``: whether the command can use the bundled catalog instead (``--source sample``); the
    provider endpoints of ``endpoints`` and ``cost --by-provider`` are live only.
    """
    text = (error or "").lower()
    if not any(word in text for word in ("network", "timed out", "time-out", "timeout", "connect")):
        return ""
    if source == "openrouter":
        from .catalog.source import get_base_url, shown_url

        where = f"the network and OPENROUTER_BASE_URL (now {shown_url(get_base_url())})"
    else:
        where = f"the network and the URL {source}"
    # The error itself says what happened (no connection, or a time-out); this says what to do about it.
    instead = ", or use --source sample for the bundled catalog" if sample else ""
    return f" and nothing is cached: check {where}{instead}"


def run_list(args: argparse.Namespace) -> int:
    from .present.payload import build_api_payload

    result, models = load_models(args)
    if args.format == "api":
        payload = build_api_payload(models, cached=result.cached, cache_age=result.cache_age, error=result.error)
        _write(json.dumps(payload, ensure_ascii=False) + "\n")
    elif not models.empty:
        _write(render(models, args.format, text_table))
        if args.format == "table":  # the count is a message, not data: a pipe gets the table alone
            _say(f"vision-models: {plural(len(models), 'model')}")
    return EXIT_NO_DATA if models.empty else EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    fmt = export_format(args.path, args.format)
    check_export_path(args.path)
    _, models = load_models(args)
    if models.empty:
        return EXIT_NO_DATA
    path = write_rows(models, args.path, fmt)
    _say(f"vision-models: wrote {plural(len(models), 'model')} to {path}")
    return EXIT_OK


def check_export_path(path: str) -> None:
    """Refuse, before any fetch, a path export will not replace: a directory, FIFO, device, read-only file..."""
    from pathlib import Path

    from .present.export import writable_target

    try:
        writable_target(Path(path).expanduser())
    except OSError as exc:
        raise UsageError(f"vision-models: cannot write {path!r}: {exc.strerror or exc}") from None


def write_rows(frame, path: str, fmt: str):
    """``frame`` exported to ``path`` as CSV (formula-safe) or JSON records, atomically; a path that cannot be written
    is a usage error."""
    from .present.export import export_csv, export_json

    try:
        return export_csv(frame, path) if fmt == "csv" else export_json(frame, path)
    except OSError as exc:
        raise UsageError(f"vision-models: cannot write {path!r}: {exc.strerror or exc}") from None


def run_cost(args: argparse.Namespace) -> int:
    if args.by_provider:
        return run_cost_by_provider(args)
    costs = load_costs(args)
    if costs is None:
        return EXIT_NO_DATA
    _write(render(costs.head(args.top) if args.top else costs, args.format, cost_table))
    return EXIT_OK


def run_cost_by_provider(args: argparse.Namespace) -> int:
    """Cost per provider endpoint of the filtered models (of the ``--top`` N cheapest when given)."""
    from .pricing.cost import cost_per_image
    from .pricing.estimate import resolve_size

    if args.as_of:
        raise UsageError("vision-models: --by-provider prices today's endpoints; it cannot be combined with --as-of")
    resolve_size(args.width, args.height, args.preset)  # a bad size is a usage error: say so before fetching
    _, models = load_models(args)
    if models.empty:
        return EXIT_NO_DATA
    options = dict(prompt_tokens=args.prompt_tokens, output_tokens=args.output_tokens, detail=args.detail, preset=args.preset)
    if args.top:
        cheapest = cost_per_image(models, args.width, args.height, **options).head(args.top)["id"]
        models = models[models["id"].isin(cheapest).to_numpy()]
    endpoints = _endpoints(models["id"].tolist(), args, models=models)
    costs = cost_per_image(models, args.width, args.height, by_provider=True, endpoints=endpoints, **options)
    if costs.empty:
        _say("vision-models: no provider endpoints to price")
        return EXIT_NO_DATA
    _write(render(costs, args.format, provider_cost_table))
    return EXIT_OK


def run_endpoints(args: argparse.Namespace) -> int:
    frame = _endpoints(args.ids, args)
    if frame.empty:
        return EXIT_NO_DATA
    _write(render(frame, args.format, endpoints_table))
    return EXIT_OK


def _endpoints(ids, args: argparse.Namespace, models=None):
    """The endpoints of ``ids``, each failure reported on stderr in one line (never as a Python warning)."""
    import warnings

    from .catalog.endpoints import fetch_endpoints

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = fetch_endpoints(ids, models=models, cache_path=args.cache_path, refresh=args.refresh)
    failed: dict[tuple[str, bool], list[str]] = {}  # the same error for several ids is said once, naming them all
    for model_id, error in frame.attrs.get("errors", {}).items():
        stale = bool(frame.loc[frame["id"] == model_id, "stale"].any())
        failed.setdefault((in_flags(error), stale), []).append(model_id)
    for (error, stale), named in failed.items():
        # Nothing served: when no answer came, what to do next, as for the catalog (endpoints have no sample).
        after = "; serving the cached copy" if stale else offline_hint(error, sample=False)
        _say(f"vision-models: {', '.join(named)}: {error}{after}")
    return frame


def run_chart(args: argparse.Namespace) -> int:
    from pathlib import Path

    try:
        import matplotlib
    except ImportError:
        raise UsageError("vision-models: charts need matplotlib: pip install 'vision_models[charts]'") from None
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    # The image's format is its name's (chart.png, chart.svg, chart.pdf); a name without one gets a PNG.
    kind = Path(args.out).suffix.lstrip(".").lower() or "png"
    supported = Figure().canvas.get_supported_filetypes()
    if kind not in supported:
        raise UsageError(f"vision-models: cannot tell a chart format from {args.out!r}: name it .png, or one of "
                         f"{', '.join('.' + k for k in sorted(supported) if k != 'png')}")  # fmt: skip
    check_export_path(args.out)  # before any fetch: a path that cannot be written is said first
    costs = load_costs(args)
    if costs is None:
        return EXIT_NO_DATA
    from .present.charts import plot_cost_per_image, plot_cost_vs_context
    from .present.export import atomic_binary_file

    ax = plot_cost_per_image(costs, top=args.top) if args.kind == "cost" else plot_cost_vs_context(costs)
    try:  # written beside the target and renamed over it when complete: never a half-written image
        with atomic_binary_file(Path(args.out).expanduser()) as out:
            ax.get_figure().savefig(out, dpi=150, format=kind)  # type: ignore[union-attr]
    except OSError as exc:
        raise UsageError(f"vision-models: cannot write {args.out!r}: {exc.strerror or exc}") from None
    _say(f"vision-models: wrote {args.out}")
    return EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    from .catalog.source import check_source, get_api_key
    from .server.app import serve

    get_api_key()  # a key that cannot be sent (a line break inside): said once, never per request
    _check_host(args.host)
    chosen = check_source(args.source)  # an unreadable source is a usage error now, not a 502 per request
    if chosen == "openrouter":
        from .catalog.source import get_base_url

        get_base_url()  # so is an $OPENROUTER_BASE_URL that is no URL
    if chosen == "sample":
        from .catalog.source import read_sample

        _say(f"vision-models: serving the bundled {read_sample().source}, not live data")
    try:
        serve(
            args.host,
            args.port,
            threads=args.threads,
            source=args.source,
            cache_path=args.cache_path,
            expire_after=args.expire_after,
            cors_origin=args.cors_origin,
        )
    except OSError as exc:
        raise UsageError(f"vision-models: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return EXIT_OK


def _check_host(host: str) -> None:
    """``--host`` must be an address or a name this machine resolves (before anything is said or opened)."""
    import socket

    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise UsageError(f"vision-models: bad --host {host!r}: not an address or a name this machine resolves") from None


def run_history_import(args: argparse.Namespace) -> int:
    from .catalog.history import ImportStopped, import_files

    try:
        results = import_files(args.files, args.fetched_at, path=args.history_path)
    except ImportStopped as stopped:  # the files before it are in: say which, and how many
        _print_imports(stopped.results)
        _say(f"vision-models: error: {_one_line(stopped)}")
        return EXIT_USAGE
    _print_imports(results)
    imported = sum(r.status == "imported" for r in results)
    _say(f"vision-models: {imported:,} of {plural(len(results), 'file')} imported")
    return EXIT_OK if all(not r.status.startswith("skipped") for r in results) else EXIT_NO_DATA


def _print_imports(results) -> None:
    for result in results:
        if result.status.startswith("skipped"):  # the reason says it all; there is no date or count to report
            _write(f"{result.path}\t{result.status}\n")
            continue
        when = result.fetched_at.isoformat(timespec="seconds") if result.fetched_at else "-"
        _write(f"{result.path}\t{result.status}\t{when}\t(date from {result.date_basis})\t{plural(result.models, 'model')}\n")


def run_history_info(args: argparse.Namespace) -> int:
    from .catalog.history import history_info

    _write("\n".join(history_info(args.history_path).lines()) + "\n")
    return EXIT_OK


def run_changes(args: argparse.Namespace) -> int:
    from .catalog.history import catalog_changes, history_info

    try:
        changes = catalog_changes(args.since, args.until, vision_only=args.vision_only, path=args.history_path)
    except ValueError as exc:  # the library names its parameters; the command line speaks in flags
        raise UsageError("vision-models: error: " + re.sub(r"\b(since|until)\b", r"--\1", _one_line(exc))) from None
    if changes.empty:
        info = history_info(args.history_path)
        if info.snapshots == 0:
            _say("vision-models: no history yet; build one with: vision-models history import FILES...")
        else:
            _say("vision-models: no changes in that period")
        return EXIT_NO_DATA
    _write(render(changes, args.format, changes_table))
    return EXIT_OK


def run_cache(args: argparse.Namespace) -> int:
    from .http.cache import clear_cache, get_cache_info

    if args.action == "clear":
        path = clear_cache(args.cache_path)
        _say(f"vision-models: cleared {path}")
        return EXIT_OK
    _write("\n".join(get_cache_info(args.cache_path).lines()) + "\n")
    return EXIT_OK


def _need_trials_extra(command: str) -> None:
    """A command that reads pages needs the trials extra: say which to install, in one line."""
    try:
        import PIL  # noqa: F401
        import pypdfium2  # noqa: F401
        import rapidfuzz  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"vision-models: {command} needs the trials extra ({exc.name} is missing): "
                         "pip install 'vision_models[trials]'") from None  # fmt: skip


def run_try(args: argparse.Namespace) -> int:
    _need_trials_extra("try")
    from .trials.pages import scan_pages
    from .trials.plan import DEFAULT_PROMPT, TESSERACT, estimate_trial
    from .trials.runner import run_trial

    prompt = args.prompt if args.prompt is not None else DEFAULT_PROMPT
    if not prompt.strip():
        raise UsageError(f"vision-models: error: --prompt must be non-empty text, not {prompt!r:.80}")
    remote = [m for m in args.model if m != TESSERACT]
    if remote and not args.dry_run:
        _need_api_key()
    # What is cheap to check and needs no network comes first: the pages, then the catalog (only for its prices).
    pages = scan_pages(args.pages, dpi=args.dpi, max_side=args.max_side)
    catalog = _trial_catalog(args) if remote else None
    if remote and catalog is None:
        return EXIT_NO_DATA
    if args.dry_run:
        plan = estimate_trial(pages, args.model, prompt=prompt, max_tokens=args.max_tokens, dpi=args.dpi,
                              max_side=args.max_side, catalog=catalog, source=args.source, cache_path=args.cache_path,
                              trials_path=args.trials_path, max_usd=args.max_usd,
                              retry_unknown=args.retry_unknown)  # fmt: skip
        _write(render(plan, args.format, plan_table))
        totals = plan.attrs
        fits = "fits" if totals["worst_case_usd"] <= args.max_usd else "does not fit: some rows would be skipped"
        _say(f"vision-models: dry run: {plural(totals['requests'], 'page request')} to send, estimated "
             f"{usd(totals['estimated_usd'])}; worst case reserved {usd(totals['worst_case_usd'])} (controls included) "
             f"{fits} in the budget {usd(args.max_usd)}")  # fmt: skip
        return EXIT_OK
    try:
        trial = run_trial(pages, args.model, prompt=prompt, truth=args.truth, max_usd=args.max_usd,
                          max_tokens=args.max_tokens, dpi=args.dpi, max_side=args.max_side, concurrency=args.concurrency,
                          timeout=float(args.timeout), catalog=catalog, source=args.source, cache_path=args.cache_path,
                          trials_path=args.trials_path, progress=False if args.no_progress else None,
                          retry_unknown=args.retry_unknown, new_budget=args.new_budget)  # fmt: skip
    except KeyboardInterrupt:
        _say("vision-models: interrupted; the finished rows are stored (requests in flight as unknown cost): "
             "run the same command again to resume")  # fmt: skip
        return EXIT_INTERRUPTED
    _write(trial_output(trial, args.format))
    unknown = f" + {usd(trial.unknown_usd)} of unknown cost" if trial.unknown_usd > 0 else ""
    left = f" ({usd(trial.budget_usd)} left of it)" if trial.budget_usd < trial.max_usd - 1e-12 else ""
    _say(f"vision-models: run {trial.run_id}: billed {usd(trial.billed_usd)}{unknown} of the {usd(trial.max_usd)} budget"
         f"{left}, {plural(trial.requests_sent, 'request')} sent; stored in {trial.trials_path}")  # fmt: skip
    status, error = trial.results["status"], trial.results["error"]
    answered = status.eq("ok") | (status.eq("cached") & error.isna())  # a stored failure is no answer
    return EXIT_OK if answered.any() else EXIT_NO_DATA


def _need_api_key() -> None:
    """Sending to OpenRouter needs a key: said before anything is read or fetched, in the command line's words."""
    from .catalog.source import get_api_key

    if not (get_api_key() or "").strip():
        raise UsageError("vision-models: error: no OpenRouter API key: set OPENROUTER_API_KEY "
                         "(--dry-run and --model tesseract need none)")  # fmt: skip


def _trial_catalog(args: argparse.Namespace):
    """The catalog whose prices a trial estimates and budgets with, reported as ``list`` reports it; None without one."""
    from .catalog.api import fetch_catalog

    result = fetch_catalog(args.source, cache_path=args.cache_path)
    report(result)  # the sample announced (once), a stale copy said, a failure with what to do next
    if result.models.empty:
        if not result.error:
            _say("vision-models: the catalog is empty: no prices to estimate with")
        return None
    return result.models


def run_trials_list(args: argparse.Namespace) -> int:
    from .stores.trials import list_runs
    from .present.terminal import cell_text

    runs = list_runs(args.trials_path)
    if runs.empty:
        _say("vision-models: no trial runs yet; start one with: vision-models try PAGE... --model ID")
        return EXIT_NO_DATA

    def table(frame) -> str:
        # Billed: what providers reported. Unknown: reserves kept for requests that may have been billed unseen.
        header = ("run", "started (UTC)", "state", "pages", "rows", "billed $", "unknown $", "budget $", "models")
        rows = zip(
            frame["run_id"].tolist(),
            frame["started_at"].dt.strftime("%Y-%m-%d %H:%M:%S").tolist(),
            frame["state"].tolist(),
            [str(v) for v in frame["pages"].tolist()],
            [str(v) for v in frame["rows"].tolist()],
            _cells(frame["billed_usd"], "{:.6f}"),
            _cells(frame["unknown_usd"], "{:.6f}"),
            _cells(frame["budget_usd"], "{:.6g}"),
            [cell_text(m, 80) for m in frame["models"].tolist()],
        )
        return "\n".join(fixed_width(header, rows, right={3, 4, 5, 6, 7})) + "\n"

    _write(render(runs, args.format, table))
    return EXIT_OK


def run_trials_show(args: argparse.Namespace) -> int:
    _need_trials_extra("trials show")
    from .trials.results import load_trial

    trial = load_trial(args.run_id, trials_path=args.trials_path, truth=args.truth)
    if trial.results.empty:
        _say(f"vision-models: run {args.run_id} has no page rows")
        return EXIT_NO_DATA
    _write(trial_output(trial, args.format))
    return EXIT_OK


def run_trials_export(args: argparse.Namespace) -> int:
    _need_trials_extra("trials export")
    from .trials.results import load_trial

    fmt = export_format(args.path, args.format)
    check_export_path(args.path)
    trial = load_trial(args.run_id, trials_path=args.trials_path, truth=args.truth)
    path = write_rows(trial.results, args.path, fmt)
    _say(f"vision-models: wrote {plural(len(trial.results), 'row')} of run {args.run_id} to {path}")
    return EXIT_OK if len(trial.results) else EXIT_NO_DATA


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


if __name__ == "__main__":
    sys.exit(main())
