"""The commands: each ``run_*`` takes the parsed arguments, calls the library, and prints what
:mod:`vision_models.present.tables` formats; data to stdout, messages to stderr.
"""

from __future__ import annotations

import argparse
import json
import re

from ..present.tables import changes_table, cost_table, endpoints_table, plural, provider_cost_table, render, text_table
from .messages import EXIT_NO_DATA, EXIT_OK, EXIT_USAGE, UsageError, _one_line, _say, _write, in_flags

#: The formats a file's name says: ``out.json`` is JSON.
EXPORT_SUFFIXES = {".csv": "csv", ".json": "json"}


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


def cli_settings(args: argparse.Namespace):
    """One :class:`vision_models.Settings` from the command's flags over the environment (read now, once)."""
    from ..settings import Settings

    flags = ("source", "cache_path", "expire_after", "history_path", "trials_path")
    return Settings.from_env(**{name: getattr(args, name, None) for name in flags})


def load_costs(args: argparse.Namespace):
    """The cost table for the command line's models and image; None when there is no data."""
    from ..present.cost_tables import cost_per_image
    from ..pricing.cost import left_out_note
    from ..pricing.estimate import resolve_size

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
        **bill_options(args),
    )
    note = in_flags(left_out_note(costs))
    if note:
        _say(f"vision-models: {note}")
    if costs.empty:
        _say("vision-models: no model left to price")
        return None
    return costs


def bill_options(args: argparse.Namespace) -> dict:
    """The reasoning and caching flags, as :func:`cost_per_image` takes them."""
    return dict(
        reasoning_effort=args.reasoning_effort,
        reasoning_tokens=args.reasoning_tokens,
        cached_instruction=args.cached_instruction,
    )


def load_models(args: argparse.Namespace):
    """Fetch, report on stderr how it went, and filter; None when there is no data at all."""
    from ..catalog.api import fetch_vision_models
    from ..catalog.filters import filter_models

    as_of = getattr(args, "as_of", None)
    try:
        result = fetch_vision_models(args.source, rules=args.rules, refresh=args.refresh, as_of=as_of,
                                     settings=cli_settings(args))  # fmt: skip
    except ValueError as exc:
        from ..catalog.history import NoSnapshot

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
    models = keep_kind(models, getattr(args, "model_kind", "all"), generators_said=hasattr(args, "include_generators"))
    if models.empty and not result.error:
        _say(
            "vision-models: no model matches these filters"
            if result.count
            else "vision-models: the catalog has no vision models"
        )
    return result, models


def keep_kind(models, kind: str, *, generators_said: bool = False):
    """The models of ``--kind`` (all: every one); the others counted on stderr when page readers were asked for.

    ``generators_said``: the command prices models and says itself which generators it leaves out
    (``--include-generators`` keeps them), so page readers keep the generators for it to decide.
    """
    from ..catalog.kinds import READER, kind_counts, select_kinds

    wanted = (READER, "generator") if kind == READER and generators_said else kind
    kept = select_kinds(models, wanted)
    if kind == READER and len(kept) < len(models):
        what = kind_counts(models["kind"][~models["id"].isin(kept["id"])])
        left = len(models) - len(kept)
        _say(f"vision-models: left out {plural(left, 'model')} that {'does' if left == 1 else 'do'} not read pages "
             f"into text ({what}); --kind all shows them")  # fmt: skip
    return kept


def _no_snapshot(exc: ValueError, rules: str):
    """A result without models whose error says the history holds no catalog for ``--as-of``."""
    from ..catalog.api import CatalogResult
    from ..catalog.frame import models_frame

    return CatalogResult(
        models=models_frame([], rules, vision_only=True), source="as-of", error=in_flags(_one_line(exc))
    )


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
        from ..catalog.source import get_base_url, shown_url

        where = f"the network and OPENROUTER_BASE_URL (now {shown_url(get_base_url())})"
    else:
        where = f"the network and the URL {source}"
    # The error itself says what happened (no connection, or a time-out); this says what to do about it.
    instead = ", or use --source sample for the bundled catalog" if sample else ""
    return f" and nothing is cached: check {where}{instead}"


def run_list(args: argparse.Namespace) -> int:
    from ..present.payload import build_api_payload

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

    from ..present.export import writable_target

    try:
        writable_target(Path(path).expanduser())
    except OSError as exc:
        raise UsageError(f"vision-models: cannot write {path!r}: {exc.strerror or exc}") from None


def write_rows(frame, path: str, fmt: str):
    """``frame`` exported to ``path`` as CSV (formula-safe) or JSON records, atomically; a path that cannot be written
    is a usage error."""
    from ..present.export import export_csv, export_json

    try:
        return export_csv(frame, path) if fmt == "csv" else export_json(frame, path)
    except OSError as exc:
        raise UsageError(f"vision-models: cannot write {path!r}: {exc.strerror or exc}") from None


def run_cost(args: argparse.Namespace) -> int:
    if args.by_provider:
        ranking = [flag for flag, on in (("--include-free", args.include_free), ("--include-unfit", args.include_unfit),
                                         ("--every-listing", args.every_listing)) if on]  # fmt: skip
        if ranking:
            raise UsageError(f"vision-models cost: {ranking[0]} shapes the ranking; --by-provider lists every "
                             "endpoint of the models given, so leave one of them out")  # fmt: skip
        return run_cost_by_provider(args)
    costs = load_costs(args)
    if costs is None:
        return EXIT_NO_DATA
    costs = ranked_costs(costs, args)
    if costs.empty:
        _say("vision-models: no model left to rank")
        return EXIT_NO_DATA
    _write(render(costs.head(args.top) if args.top else costs, args.format, cost_table))
    return EXIT_OK


def ranked_costs(costs, args: argparse.Namespace):
    """The rows of the cost table the ranking keeps (``rank_costs``; ``--kind`` has chosen the kinds already),
    what it left out said on stderr."""
    from ..pricing.cost import rank_costs, ranking_note

    ranked = rank_costs(costs, include_free=args.include_free, include_unfit=args.include_unfit, kinds=None,
                        one_per_base=not args.every_listing)  # fmt: skip
    note = in_flags(ranking_note(ranked))
    if note:
        _say(f"vision-models: {note}")
    return ranked


def run_cost_by_provider(args: argparse.Namespace) -> int:
    """Cost per provider endpoint of the filtered models (of the ``--top`` N cheapest when given)."""
    from ..pricing.cost import price_images
    from ..pricing.estimate import resolve_size

    if args.as_of:
        raise UsageError("vision-models: --by-provider prices today's endpoints; it cannot be combined with --as-of")
    resolve_size(args.width, args.height, args.preset)  # a bad size is a usage error: say so before fetching
    _, models = load_models(args)
    if models.empty:
        return EXIT_NO_DATA
    options = dict(
        prompt_tokens=args.prompt_tokens, output_tokens=args.output_tokens, detail=args.detail, preset=args.preset,
        **bill_options(args),
    )  # fmt: skip
    if args.top:
        cheapest = price_images(models, args.width, args.height, **options).head(args.top)["id"]
        models = models[models["id"].isin(cheapest).to_numpy()]
    endpoints = _endpoints(models["id"].tolist(), args, models=models)
    costs = price_images(models, args.width, args.height, by_provider=True, endpoints=endpoints, **options)
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

    from ..catalog.endpoints import fetch_endpoints

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = fetch_endpoints(ids, models=models, refresh=args.refresh, settings=cli_settings(args))
    failed: dict[tuple[str, bool], list[str]] = {}  # the same error for several ids is said once, naming them all
    for model_id, error in frame.attrs.get("errors", {}).items():
        stale = bool(frame.loc[frame["id"] == model_id, "stale"].any())
        failed.setdefault((in_flags(error), stale), []).append(model_id)
    for (error, stale), named in failed.items():
        # Nothing served: when no answer came, what to do next, as for the catalog (endpoints have no sample).
        after = "; serving the cached copy" if stale else offline_hint(error, sample=False)
        _say(f"vision-models: {', '.join(named)}: {error}{after}")
    return frame


def run_benchmarks(args: argparse.Namespace) -> int:
    """The shipped table of published scores (``vm.benchmarks()``), as a table, CSV or JSON."""
    from ..catalog.benchmarks import benchmarks
    from ..present.tables import benchmarks_table

    table = benchmarks(args.benchmark, args.metric)
    _write(render(table, args.format, benchmarks_table))
    return EXIT_OK


def _first_metric(benchmark: str) -> str:
    """The first metric the table lists for ``benchmark`` (an unknown benchmark is a ``ValueError`` naming it)."""
    from ..catalog.benchmarks import benchmarks

    return str(benchmarks(benchmark)["metric"].iloc[0])


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
    from ..present.charts import plot_cost_per_image, plot_cost_vs_context, plot_cost_vs_prior
    from ..present.export import atomic_binary_file

    if args.kind == "prior":
        from ..catalog.benchmarks import DEFAULT_PRIOR

        benchmark = args.benchmark or DEFAULT_PRIOR[0]
        ax = plot_cost_vs_prior(costs, benchmark, args.metric or (DEFAULT_PRIOR[1] if benchmark == DEFAULT_PRIOR[0] else
                                                                  _first_metric(benchmark)))  # fmt: skip
    else:
        ax = plot_cost_per_image(costs, top=args.top) if args.kind == "cost" else plot_cost_vs_context(costs)
    try:  # written beside the target and renamed over it when complete: never a half-written image
        with atomic_binary_file(Path(args.out).expanduser()) as out:
            ax.get_figure().savefig(out, dpi=150, format=kind)  # type: ignore[union-attr]
    except OSError as exc:
        raise UsageError(f"vision-models: cannot write {args.out!r}: {exc.strerror or exc}") from None
    _say(f"vision-models: wrote {args.out}")
    return EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    from ..catalog.source import check_source
    from ..server.app import serve

    # A key that cannot be sent (a line break inside) or an $OPENROUTER_BASE_URL that is no URL: said once, now.
    settings = cli_settings(args)
    _check_host(args.host)
    chosen = check_source(settings=settings)  # an unreadable source is a usage error now, not a 502 per request
    if chosen == "sample":
        from ..catalog.source import read_sample

        _say(f"vision-models: serving the bundled {read_sample().source}, not live data")
    try:
        serve(
            args.host,
            args.port,
            threads=args.threads,
            settings=settings,
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
        raise UsageError(
            f"vision-models: bad --host {host!r}: not an address or a name this machine resolves"
        ) from None


def run_history_import(args: argparse.Namespace) -> int:
    from ..catalog.history import ImportStopped, import_files

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
        _write(
            f"{result.path}\t{result.status}\t{when}\t(date from {result.date_basis})\t{plural(result.models, 'model')}\n"
        )


def run_history_info(args: argparse.Namespace) -> int:
    from ..catalog.history import history_info

    _write("\n".join(history_info(args.history_path).lines()) + "\n")
    return EXIT_OK


def run_changes(args: argparse.Namespace) -> int:
    from ..catalog.history import catalog_changes, history_info

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
    from ..http.cache_info import clear_cache, get_cache_info

    if args.action == "clear":
        path = clear_cache(args.cache_path)
        _say(f"vision-models: cleared {path}")
        return EXIT_OK
    _write("\n".join(get_cache_info(args.cache_path).lines()) + "\n")
    return EXIT_OK
