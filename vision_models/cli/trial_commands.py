"""The trials' commands: ``try`` (a dry run, or a run within the budget) and ``trials list|show|export``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..present.tables import _cells, fixed_width, plan_table, plural, render, trial_output, usd
from .commands import check_export_path, cli_settings, export_format, report, write_rows
from .messages import EXIT_INTERRUPTED, EXIT_NO_DATA, EXIT_OK, UsageError, _say, _write


def _need_trials_extra(command: str) -> None:
    """A command that reads pages needs the trials extra: say which to install, in one line."""
    try:
        import PIL  # noqa: F401
        import pypdfium2  # noqa: F401
        import rapidfuzz  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"vision-models: {command} needs the trials extra ({exc.name} is missing): "
                         "pip install 'vision_models[trials]'") from None  # fmt: skip


#: The largest --schema file read (a JSON Schema is a few kilobytes).
MAX_SCHEMA_BYTES = 10_000_000


def add_evidence_options(parser: argparse.ArgumentParser, whole_number: Callable[..., Any] | None = None) -> None:
    """``--truth`` and ``--critical``; for ``try`` (given the parser's bounded ``whole_number`` type) also
    ``--schema`` and ``--repeats``. Here, beside the handlers that check them."""
    if whole_number is None:  # trials show / export: the run keeps its schema, not its truth
        parser.add_argument(
            "--truth", metavar="DIR|consensus",
            help="ground truth folder, for CER / WER; for a run with a schema, <page>.json files, for field accuracy "
            "(needed for field scores: a run stores its schema, not its truth); or consensus (agreement)",
        )  # fmt: skip
        parser.add_argument("--critical", action="append", metavar="FIELD",
                            help="a field that must be right for critical_ok, as the truth names it (repeatable)")  # fmt: skip
        return
    from ..trials.options import MAX_REPEATS

    parser.add_argument(
        "--truth", metavar="DIR|consensus",
        help="ground truth: a folder of <page>.txt files (<page>.json with --schema), or consensus: each page's "
        "reference is the answer the models agree on most (3 or more models; agreement, not accuracy)",
    )  # fmt: skip
    parser.add_argument(
        "--schema", metavar="FILE",
        help="a JSON Schema file (a JSON object): ask for JSON matching it; scored field by field with --truth",
    )  # fmt: skip
    parser.add_argument(
        "--critical", action="append", metavar="FIELD",
        help="a field that must be right for critical_ok, as the truth names it: total, line_items.amount "
        "(repeatable; needs --schema and --truth DIR)",
    )  # fmt: skip
    parser.add_argument(
        "--repeats", type=whole_number(1, MAX_REPEATS), default=1, metavar="K",
        help=f"send each page K times to each model, each send paid once (1-{MAX_REPEATS}): the spread across repeats",
    )  # fmt: skip


def read_schema(path: str) -> dict[str, Any]:
    """The JSON Schema in the file ``path``: a JSON object, else a one-line usage error naming the file."""
    where = f"vision-models: error: --schema {path!r:.200}"
    file = Path(path)
    try:
        if file.is_dir():
            raise UsageError(f"{where} is a folder, not a JSON Schema file")
        if file.stat().st_size > MAX_SCHEMA_BYTES:
            raise UsageError(f"{where} is too large (over {MAX_SCHEMA_BYTES:,} bytes) for a JSON Schema")
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{where} is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{where} cannot be read: {exc.strerror or type(exc).__name__}") from None
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where} is not JSON: {' '.join(str(exc).split())[:120]}") from None
    if not isinstance(schema, dict):
        raise UsageError(f"{where} must hold a JSON object (a JSON Schema), not {type(schema).__name__}")
    return schema


def _check_truth(args: argparse.Namespace) -> None:
    """``--truth consensus`` with 3 or more models; ``--truth DIR`` an existing folder; ``--critical`` with both
    ``--schema`` and ``--truth DIR``. Said before anything is read, fetched or sent."""
    from ..trials.consensus import MIN_MODELS

    if args.critical and args.schema is None:
        raise UsageError(f"vision-models: error: --critical {args.critical[0]!r:.80} needs --schema FILE: "
                         "critical fields are fields of the JSON answer")  # fmt: skip
    if args.critical and (args.truth is None or args.truth == "consensus"):
        raise UsageError(f"vision-models: error: --critical {args.critical[0]!r:.80} needs --truth DIR: "
                         "the expected <page>.json objects say whether a field is right")  # fmt: skip
    if args.truth == "consensus":
        models = len(dict.fromkeys(args.model))
        if models < MIN_MODELS:
            raise UsageError(f"vision-models: error: --truth consensus needs {MIN_MODELS} or more models "
                             f"(--model), not {models}: with fewer, no answer can be the one the others agree on")  # fmt: skip
    elif args.truth is not None and not Path(args.truth).is_dir():
        files = "<page>.json" if args.schema is not None else "<page>.txt"
        raise UsageError(f"vision-models: error: --truth folder not found (it is a folder of {files} files): "
                         f"{args.truth!r:.200}")  # fmt: skip


def _check_object_truth(args: argparse.Namespace, pages: list[Any]) -> None:
    """With ``--schema`` and ``--truth DIR``: the ``<page>.json`` files read (a bad one is a usage error), none
    found said, and every ``--critical`` field a field of every page's expected object."""
    from ..trials.evidence import check_critical, load_object_truth

    try:
        objects = load_object_truth(args.truth, pages)
    except ValueError as exc:
        raise UsageError(f"vision-models: error: --truth: {_one(exc)}") from None
    if not objects:
        _say(f"vision-models: note: no <page>.json file in --truth {args.truth!r:.200} for these pages: "
             "no field scores")  # fmt: skip
    try:
        check_critical(objects, args.critical or ())
    except ValueError as exc:
        raise UsageError(f"vision-models: error: --critical: {_one(exc)}") from None


def _one(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def run_try(args: argparse.Namespace) -> int:
    _need_trials_extra("try")
    from ..trials.options import TrialOptions
    from ..trials.pages import scan_pages
    from ..trials.plan import DEFAULT_PROMPT, TESSERACT, estimate_trial
    from ..trials.runner import run_trial

    _check_truth(args)
    schema = read_schema(args.schema) if args.schema is not None else None
    prompt = args.prompt if args.prompt is not None else DEFAULT_PROMPT
    if not prompt.strip():
        raise UsageError(f"vision-models: error: --prompt must be non-empty text, not {prompt!r:.80}")
    try:
        options = TrialOptions(prompt=prompt, max_usd=args.max_usd, max_tokens=args.max_tokens, dpi=args.dpi,
                               max_side=args.max_side, concurrency=args.concurrency, timeout=float(args.timeout),
                               progress=False if args.no_progress else None, retry_unknown=args.retry_unknown,
                               new_budget=args.new_budget, reasoning_effort=args.reasoning_effort,
                               schema=schema, repeats=args.repeats)  # fmt: skip
    except ValueError as exc:
        raise UsageError(f"vision-models: error: {exc}") from None
    remote = [m for m in args.model if m != TESSERACT]
    if remote and not args.dry_run:
        _need_api_key()
    # What is cheap to check and needs no network comes first: the pages, then the catalog (only for its prices).
    pages = scan_pages(args.pages, dpi=args.dpi, max_side=args.max_side)
    if args.schema is not None and args.truth not in (None, "consensus"):
        _check_object_truth(args, pages)
    catalog = _trial_catalog(args) if remote else None
    if remote and catalog is None:
        return EXIT_NO_DATA
    if args.dry_run:
        plan = estimate_trial(pages, args.model, options=options, catalog=catalog, source=args.source,
                              cache_path=args.cache_path, trials_path=args.trials_path)  # fmt: skip
        _write(render(plan, args.format, plan_table))
        totals = plan.attrs
        each = f" (each page {args.repeats} times per model)" if args.repeats > 1 else ""
        fits = "fits" if totals["worst_case_usd"] <= args.max_usd else "does not fit: some rows would be skipped"
        _say(f"vision-models: dry run: {plural(totals['requests'], 'page request')}{each} to send, estimated "
             f"{usd(totals['estimated_usd'])}; worst case reserved {usd(totals['worst_case_usd'])} (controls included) "
             f"{fits} in the budget {usd(args.max_usd)}")  # fmt: skip
        return EXIT_OK
    try:
        trial = run_trial(pages, args.model, options=options, truth=args.truth, catalog=catalog, source=args.source,
                          cache_path=args.cache_path, trials_path=args.trials_path, critical=args.critical or ())  # fmt: skip
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
    from ..catalog.source import get_api_key

    if not (get_api_key() or "").strip():
        raise UsageError("vision-models: error: no OpenRouter API key: set OPENROUTER_API_KEY "
                         "(--dry-run and --model tesseract need none)")  # fmt: skip


def _trial_catalog(args: argparse.Namespace):
    """The catalog whose prices a trial estimates and budgets with, reported as ``list`` reports it; None without one."""
    from ..catalog.api import fetch_catalog

    result = fetch_catalog(settings=cli_settings(args))
    report(result)  # the sample announced (once), a stale copy said, a failure with what to do next
    if result.models.empty:
        if not result.error:
            _say("vision-models: the catalog is empty: no prices to estimate with")
        return None
    return result.models


def run_trials_list(args: argparse.Namespace) -> int:
    from ..present.terminal import cell_text
    from ..stores.trials import list_runs

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
    trial = _load(args)
    if trial.results.empty:
        _say(f"vision-models: run {args.run_id} has no page rows")
        return EXIT_NO_DATA
    _write(trial_output(trial, args.format))
    return EXIT_OK


def _load(args: argparse.Namespace):
    """The run ``args.run_id`` rescored with ``--truth`` and ``--critical`` (a field the truth lacks: a usage error)."""
    from ..trials.results import load_trial

    try:
        return load_trial(args.run_id, trials_path=args.trials_path, truth=args.truth, critical=args.critical or ())
    except ValueError as exc:
        if not str(exc).startswith("critical field"):
            raise
        raise UsageError(f"vision-models: error: --critical: {_one(exc)}") from None


def run_trials_export(args: argparse.Namespace) -> int:
    _need_trials_extra("trials export")
    fmt = export_format(args.path, args.format)
    check_export_path(args.path)
    trial = _load(args)
    path = write_rows(trial.results, args.path, fmt)
    _say(f"vision-models: wrote {plural(len(trial.results), 'row')} of run {args.run_id} to {path}")
    return EXIT_OK if len(trial.results) else EXIT_NO_DATA
