"""``recommend``: the model to use from a stored trial (``--trial RUN``), a cascade simulated on its rows
(``--trial RUN --cascade FIRST THEN``), or the plan of a first trial (``--pages PATH --plan``).

Exit statuses: 0 a model is recommended (or the plan printed); 1 no model meets every target (the table and
the justification are still printed: the closest model and the pages that would settle it) or the run has no
page rows; 2 bad usage (a bad value, an unknown run, ``--max-cer`` on a run without ``--truth``).
"""

from __future__ import annotations

import argparse
import json
import textwrap

from ..present.tables import _cells, fixed_width, render
from .messages import EXIT_NO_DATA, EXIT_OK, UsageError, _say, _write, in_flags
from .options import LIMITS, add_table_options
from .options import _number as _bounded


def run_recommend(args: argparse.Namespace) -> int:
    if (args.escalate_when or args.checker or args.min_confidence is not None) and not args.cascade:
        raise UsageError("vision-models recommend: --escalate-when, --checker and --min-confidence go with --cascade "
                         "FIRST THEN")  # fmt: skip
    if args.plan or args.pages:
        if args.cascade:
            raise UsageError("vision-models recommend: --cascade simulates a stored --trial RUN, not a plan")
        if args.trial:
            raise UsageError("vision-models recommend: give --trial RUN, or --pages PATH --plan, not both")
        if not (args.plan and args.pages):
            raise UsageError("vision-models recommend: a plan needs both --pages PATH and --plan")
        return _run_plan(args)
    if not args.trial:
        raise UsageError("vision-models recommend: give --trial RUN (a stored run), or --pages PATH --plan")
    if args.cascade:
        return _run_cascade(args)
    return _run_choice(args)


def _run_cascade(args: argparse.Namespace) -> int:
    """``--trial RUN --cascade FIRST THEN``: the cascade simulated on the run's stored rows; no request is sent."""
    from .trial_commands import _need_trials_extra

    _need_trials_extra("recommend --cascade")
    from ..trials.cascade import DEFAULT_SIGNALS, SIGNALS, TESSERACT, simulate_cascade
    from ..trials.results import load_trial

    signals = [s.strip() for s in (args.escalate_when or "").split(",") if s.strip()]
    unknown = [s for s in signals if s not in SIGNALS]
    if unknown or (args.escalate_when is not None and not signals):
        raise UsageError(f"vision-models: error: bad --escalate-when {args.escalate_when!r}: expected a comma-"
                         f"separated list of {', '.join(SIGNALS)}")  # fmt: skip
    chosen = signals or list(DEFAULT_SIGNALS)
    for flag, value, signal in (("--min-confidence", args.min_confidence, "low_confidence"),
                                ("--checker", args.checker, "disagreement")):  # fmt: skip
        if value is not None and signal not in chosen:
            raise UsageError(f"vision-models recommend: {flag} goes with --escalate-when {signal}")
    targets = [flag for flag, value in (("--max-cer", args.max_cer), ("--min-field-accuracy", args.min_field_accuracy),
                                        ("--budget-per-1k-pages", args.budget_per_1k_pages)) if value is not None]  # fmt: skip
    if targets:
        raise UsageError(f"vision-models recommend: {targets[0]} chooses a model; --cascade simulates one, so leave "
                         "one of them out")  # fmt: skip
    trial = load_trial(args.trial, trials_path=args.trials_path, truth=args.truth)
    if trial.results.empty:
        _say(f"vision-models: run {args.trial} has no page rows")
        return EXIT_NO_DATA
    first, then = args.cascade
    try:
        cascade = simulate_cascade(trial, first, then, escalate_when=chosen,
                                   checker=args.checker or TESSERACT, min_confidence=args.min_confidence,
                                   level=args.confidence)  # fmt: skip
    except (ValueError, TypeError) as exc:
        raise UsageError(f"vision-models: error: {in_flags(str(exc))}") from None
    fields = {"first": first, "then": then, "escalation_rate": cascade.escalation_rate,
              "cannot_simulate": cascade.cannot_simulate, "sentence": cascade.sentence}  # fmt: skip
    _emit(args.format, cascade.table, cascade.sentence, cascade_table, fields, "strategies")
    return EXIT_OK


def _emit(fmt: str, table, text: str, as_table, fields: dict, table_key: str) -> None:
    """A table and its sentence: JSON (``fields`` plus the rows under ``table_key``), CSV (the sentence on
    stderr), or the terminal table with the sentence under it."""
    if fmt == "json":
        rows = json.loads(render(table, "json", None))
        _write(json.dumps({**fields, table_key: rows}, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        _write(render(table, "csv", None))
        _say(f"vision-models: {text}")
    else:
        _write(as_table(table) + "\n" + _paragraph(text))


def cascade_table(table) -> str:
    """First alone, then alone, the cascade: pages, cost per 1,000 pages and accuracy with intervals, escalations."""
    from ..present.terminal import cell_text

    metric = "CER" if (table["metric"] == "cer").all() else "field acc."
    usd = [f"{m:.4g} [{lo:.4g}, {hi:.4g}]" for m, lo, hi in zip(table["usd_per_1k_pages"],
           table["usd_per_1k_pages_ci_low"], table["usd_per_1k_pages_ci_high"])]  # fmt: skip
    score = ["-" if m != m else f"{m:.2%}" + ("" if lo != lo else f" [{lo:.2%}, {hi:.2%}]")
             for m, lo, hi in zip(table["mean"], table["ci_low"], table["ci_high"])]  # fmt: skip
    header = ("strategy", "pages", "$/1k pages [interval]", f"{metric} [interval]", "success", "escalated")
    rows = zip(
        [cell_text(s, 80) for s in table["strategy"].tolist()],
        _cells(table["pages"], "{:,}"),
        usd,
        score,
        _cells(table["success_rate"], "{:.1%}"),
        _cells(table["escalation_rate"], "{:.0%}"),
    )
    return "\n".join(fixed_width(header, rows, right={1, 2, 3, 4, 5})) + "\n"


def _run_choice(args: argparse.Namespace) -> int:
    from .trial_commands import _need_trials_extra

    _need_trials_extra("recommend")
    from ..trials.recommend import recommend
    from ..trials.results import load_trial

    trial = load_trial(args.trial, trials_path=args.trials_path, truth=args.truth)
    if trial.results.empty:
        _say(f"vision-models: run {args.trial} has no page rows")
        return EXIT_NO_DATA
    for flag, column, value in (("--max-cer", "cer", args.max_cer),
                                ("--min-field-accuracy", "field_accuracy", args.min_field_accuracy)):  # fmt: skip
        if value is not None and (column not in trial.results or trial.results[column].isna().all()):
            need = "--truth DIR (a folder of <page>.txt files)" if column == "cer" else "a run with a schema and truth"
            raise UsageError(f"vision-models: error: {flag} needs {need}: run {args.trial} has no "
                             f"{column.replace('_', ' ')} without it")  # fmt: skip
    found = recommend(trial, max_cer=args.max_cer, min_field_accuracy=args.min_field_accuracy,
                      min_success_rate=args.min_success_rate, confidence=args.confidence,
                      budget_per_1k_pages=args.budget_per_1k_pages)  # fmt: skip
    fields = {"model": found.model, "justification": found.justification, "targets": found.targets,
              "closest": found.closest, "more_pages": found.more_pages}  # fmt: skip
    _emit(args.format, found.table, found.justification, choice_table, fields, "candidates")
    if found.model is None:
        _say("vision-models: no model meets every target")
        return EXIT_NO_DATA
    return EXIT_OK


def _run_plan(args: argparse.Namespace) -> int:
    from .trial_commands import _need_trials_extra

    _need_trials_extra("recommend --plan")
    from ..trials.planning import plan_trial

    plan = plan_trial(args.pages, candidates=args.candidate, budget_usd=args.budget_usd,
                      target=args.max_cer if args.max_cer is not None else 0.02, source=args.source,
                      cache_path=args.cache_path, trials_path=args.trials_path)  # fmt: skip
    fields = {"pages_needed": plan.pages_needed, "pages_available": plan.pages_available,
              "estimated_usd": _number(plan.estimated_usd), "high_usd": _number(plan.worst_case_usd),
              "budget_usd": plan.budget_usd, "explanation": plan.explanation}  # fmt: skip
    _emit(args.format, plan.models, plan.explanation, plan_models_table, fields, "models")
    return EXIT_OK


def choice_table(table) -> str:
    """The candidates, cheapest first: verdict, cost, success, CER and field accuracy with intervals, why."""
    from ..present.terminal import cell_text

    def interval(metric: str) -> list[str]:
        mean, low, high = (table[f"{metric}{end}"].tolist() for end in ("_mean", "_ci_low", "_ci_high"))
        return ["-" if m != m else f"{m:.2%}" + ("" if lo != lo else f" [{lo:.2%}, {hi:.2%}]")
                for m, lo, hi in zip(mean, low, high)]  # fmt: skip

    columns = [
        ("model", [cell_text(m, 60) for m in table["model"].tolist()]),
        ("verdict", table["verdict"].tolist()),
        ("$/1k ok pages", _cells(table["usd_per_1k_successful_pages"], "{:.4g}")),
        ("success", _cells(table["success_rate"], "{:.1%}")),
        ("more pages", _cells(table["more_pages"], "{:,}")),
    ]
    for metric, name in (("cer", "CER [interval]"), ("field_accuracy", "field acc. [interval]")):
        if table[f"{metric}_mean"].notna().any():
            columns.append((name, interval(metric)))
    columns.append(("why", [cell_text(w) for w in table["why"].tolist()]))
    header = tuple(name for name, _ in columns)
    rows = zip(*(cells for _, cells in columns))
    return "\n".join(fixed_width(header, rows, right={2, 3, 4}, shrink=[len(columns) - 1])) + "\n"


def plan_models_table(models) -> str:
    """The shortlist: why each, its cost per page (and range), and its part of the trial's cost."""
    from ..present.terminal import cell_text

    header = ("model", "$/page", "$/page high", "trial $", "trial $ high", "why")
    rows = zip(
        [cell_text(m, 60) for m in models["id"].tolist()],
        _cells(models["usd_per_page"], "{:.6f}"),
        _cells(models["usd_per_page_high"], "{:.6f}"),
        _cells(models["trial_usd"], "{:.4f}"),
        _cells(models["trial_usd_high"], "{:.4f}"),
        [cell_text(w) for w in models["why"].tolist()],
    )
    return "\n".join(fixed_width(header, rows, right={1, 2, 3, 4}, shrink=[5])) + "\n"


def _paragraph(text: str) -> str:
    from ..present.terminal import cell_text

    return textwrap.fill(cell_text(text), width=100) + "\n"


def _number(value: float) -> float | None:
    return None if value != value else value


def add_recommend_parser(commands) -> None:
    """``recommend``: the model to use from a stored run's evidence, or ``--pages PATH --plan`` for a first trial."""
    rec = commands.add_parser("recommend", help="the cheapest model that meets your targets, or plan a first trial")
    rec.add_argument("--trial", metavar="RUN", help="a stored run (vision-models trials list)")
    rec.add_argument("--truth", metavar="DIR", help="ground truth folder of <page>.txt files, for CER")
    for flag, what in (("--max-cer", "CER the interval's upper bound must be under, such as 0.02 (plan: the target)"),
                       ("--min-field-accuracy", "field accuracy the interval's lower bound must be over, 0-1")):  # fmt: skip
        rec.add_argument(flag, type=_bounded(0, 10, above=True) if flag == "--max-cer" else _bounded(0, 1), metavar="X",
                         help=what)  # fmt: skip
    rec.add_argument("--min-success-rate", type=_bounded(0, 1), default=0.98, metavar="X",
                     help="share of requests that must succeed (not failed, truncated, looped, refused), default 0.98")  # fmt: skip
    rec.add_argument("--confidence", type=_bounded(0, 1, above=True), default=0.95, metavar="X",
                     help="of the intervals, above 0 and below 1 (default 0.95)")  # fmt: skip
    rec.add_argument("--budget-per-1k-pages", type=_bounded(0, LIMITS["usd"]), metavar="USD",
                     help="the most a model may cost per 1,000 successful pages")  # fmt: skip
    rec.add_argument("--pages", nargs="+", metavar="PATH", help="with --plan: your pages (images, PDFs or folders)")
    rec.add_argument("--plan", action="store_true", help="plan a first trial: shortlist, pages needed, its cost")
    rec.add_argument("--candidate", action="append", metavar="ID", help="plan: try this model (repeatable)")
    rec.add_argument("--budget-usd", type=_bounded(0, LIMITS["usd"]), default=1.0, metavar="X",
                     help="plan: what the trial may spend (default 1.00)")  # fmt: skip
    rec.add_argument("--cascade", nargs=2, metavar=("FIRST", "THEN"),
                     help="with --trial: simulate reading every page with FIRST and escalating to THEN from the "
                          "run's stored rows (no request is sent)")  # fmt: skip
    rec.add_argument("--escalate-when", metavar="SIGNALS",
                     help="cascade: comma-separated signals (error, truncated, looped, empty, refused, invalid_json, "
                          "low_confidence, disagreement); default error,truncated,looped,empty,refused")  # fmt: skip
    rec.add_argument("--min-confidence", type=_bounded(0, 100), metavar="X",
                     help="cascade: low_confidence fires under this Tesseract word confidence, 0-100")  # fmt: skip
    rec.add_argument("--checker", metavar="ID", help="cascade: the model 'disagreement' compares with (default "
                                                     "tesseract)")  # fmt: skip
    rec.add_argument("--format", choices=("table", "csv", "json"), default="table")
    rec.add_argument("--source", help="plan: the catalog for prices: openrouter (default), sample, a URL or a file")
    rec.add_argument("--cache-path", help="the SQLite cache file")
    rec.add_argument("--trials-path", help="the trials file")
    add_table_options(rec)
    rec.set_defaults(handler=run_recommend)
