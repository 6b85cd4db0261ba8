"""The command line's tables and formats: what ``list``, ``cost``, ``endpoints``, ``changes`` and the trials
commands print, as text (fitted to the terminal unless ``--wide``), csv or json.

Each ``*_table`` function takes a frame and returns the text; printing it is the caller's business.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable

#: Whether tables show every character (``--wide``) instead of fitting the terminal; set by :func:`set_wide`.
_wide = False


def set_wide(wide: bool) -> None:
    """Whether tables show every character (``--wide``) instead of fitting the terminal; the command line sets it."""
    global _wide
    _wide = wide


def usd(amount: float) -> str:
    """An amount of USD with the digits that make it true: $0.000042, $0.5, $1,234.5 (not $0.00, never 4.2e-05).

    Six significant digits, written out in full (no exponent), trailing zeros dropped; whole dollars from a million.
    """
    if not math.isfinite(amount):
        return f"${amount}"
    if abs(amount) >= 1e6:
        return f"${amount:,.0f}"
    if amount == 0:
        return "$0"
    decimals = min(20, max(0, 5 - math.floor(math.log10(abs(amount)))))
    text = f"{amount:,.{decimals}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "$" + ("0" if text in ("-0", "0") else text)


def plural(count: int, noun: str) -> str:
    """``1 model``, ``2 models``, ``1,000 page requests``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def render(frame, fmt: str, table) -> str:
    """``frame`` as csv (control characters escaped on a terminal), json, or the text ``table`` function's layout."""
    from .export import to_csv_text

    if fmt == "csv":
        from .terminal import terminal_csv

        text = to_csv_text(frame)
        return terminal_csv(text) if sys.stdout.isatty() else text  # an escape sequence is shown, not obeyed
    if fmt == "json":
        return json_text(frame) + "\n"
    return table(frame)


def json_text(frame) -> str:
    """The frame's JSON records, written by ``json.dumps``: slashes as they are, non-ASCII as itself, NaN as null."""
    from .export import to_json_records

    return to_json_records(frame)


def fixed_width(
    header: tuple[str, ...], rows, right: Iterable[int] = frozenset(), shrink=None, keep=None, drop=()
) -> list[str]:
    """Lines of a plain table fitted to the terminal (unless ``--wide``), ``right`` columns right-aligned.

    Long cells of the ``shrink`` columns (default: the text columns, widest
    first) end in an ellipsis, ``drop`` columns go when that is not enough;
    terminal control characters are shown escaped.
    """
    from .terminal import table_width
    from .terminal import text_table as layout

    return layout(header, rows, right=right, width=table_width(_wide), shrink=shrink, keep=keep, drop=drop)


def text_table(models) -> str:
    """A plain fixed-width table of the columns a reader scans first, in the frame's order (provider, name)."""
    header = ("id", "name", "context", "$/M in", "$/M out", "evidence")
    rows = zip(
        models["id"].tolist(),
        models["name"]
        .str.replace(r"^[^:/]{1,40}: ", "", regex=True)
        .tolist(),  # "OpenAI: GPT-4o": the id names the provider
        _cells(models["context_length"], "{:,}"),
        _cells(models["prompt_usd_per_mtok"], "{:.4g}"),
        _cells(models["completion_usd_per_mtok"], "{:.4g}"),
        [
            "+".join(e) + note
            for e, note in zip(models["vision_evidence"].tolist(), _kind_notes(models, _expiry_notes(models)))
        ],
    )
    # The evidence gives way first, then the name (both go when they must); the id, which other commands take,
    # last and least. Prices are USD per million tokens in and out.
    lines = fixed_width(header, rows, right={2, 3, 4}, shrink=[5, 1, 0], keep={0: 30, 1: 12}, drop=[5, 1])
    return "\n".join(lines) + "\n"


def _kind_notes(models, notes: list[str]) -> list[str]:
    """``notes`` with ``"; guard"`` (the kind) added for a model that does not read pages into text."""
    if "kind" not in models:
        return notes
    return [note if kind == "reader" else f"{note}; {kind}" for note, kind in zip(notes, models["kind"].astype(object))]


def _expiry_notes(models) -> list[str]:
    """``"; expires YYYY-MM-DD"`` for a model OpenRouter will retire (``expiration_date``), else ``""``."""
    if "expiration_date" not in models:
        return [""] * len(models)
    return ["" if d is None or d != d else f"; expires {d:%Y-%m-%d}" for d in models["expiration_date"].tolist()]


def cost_table(costs) -> str:
    """Cost per model as a fixed-width table; ``~`` marks an uncertain estimate (said under the table)."""
    from .charts import cost_title

    ranges = _ranges(costs)
    ranged = any(ranges)  # the column only where some row has a range
    header = ("id", "tokens", "method", "$/image", "$/1k images", *(("$/1k range",) if ranged else ()), "")
    kinds = costs["kind"].astype(object).tolist() if "kind" in costs else ["reader"] * len(costs)
    notes = ["free" if free else ("~" if unsure else "") for free, unsure in zip(costs["free"], costs["uncertain"])]
    notes = [note if kind == "reader" else " ".join(filter(None, (note, kind))) for note, kind in zip(notes, kinds)]
    columns = [
        costs["id"].tolist(),
        _cells(costs["image_tokens"], "{:,}"),
        costs["method"].tolist(),
        _cells(costs["usd_per_image"], "{:.5f}"),
        _cells(costs["usd_per_1k_images"], "{:,.2f}"),
        *([ranges] if ranged else []),
        notes,
    ]
    right = {1, 3, 4, 5} if ranged else {1, 3, 4}
    lines = fixed_width(header, zip(*columns), right=right, shrink=[2, 0], keep={0: 24})
    legend = "~ uncertain estimate\n" if "~" in notes else ""
    if ranged:
        legend += "$/1k range: where public sources disagree (docs/cost-evidence.md)\n"
    return f"{cost_title(costs)}\n" + "\n".join(lines) + "\n" + legend


def benchmarks_table(table) -> str:
    """Published scores as a fixed-width table: benchmark, metric, score, the source's model name, the OpenRouter id."""
    header = ("benchmark", "metric", "score", "model (source)", "openrouter id", "date")
    ids = [
        "" if _missing(i) else f"{i} (retired)" if retired else i
        for i, retired in zip(table["openrouter_id"].astype(object), table["retired"])
    ]
    dates = ["" if _missing(d) else f"{d:%Y-%m-%d}" for d in table["date"].tolist()]
    rows = zip(table["benchmark"].tolist(), table["metric"].tolist(), _cells(table["score"], "{:g}"),
               table["source_model"].tolist(), ids, dates)  # fmt: skip
    lines = fixed_width(header, rows, right={2}, shrink=[0, 3, 4], keep={4: 24})
    return "\n".join(lines) + "\nsources: vision-models benchmarks --format csv (source_url, notes)\n"


def _missing(value) -> bool:
    """None, NaN or NaT (without importing pandas: each is unequal to itself or None)."""
    return value is None or value != value


def _ranges(costs) -> list[str]:
    """``low-high`` USD per 1,000 images where the table has a range that differs from the point; else ""."""
    if "usd_per_image_low" not in costs:
        return [""] * len(costs)
    low = costs["usd_per_image_low"].to_numpy(dtype="float64") * 1000
    high = costs["usd_per_image_high"].to_numpy(dtype="float64") * 1000
    return ["" if not (lo < hi) else f"{lo:,.2f}-{hi:,.2f}" for lo, hi in zip(low.tolist(), high.tolist())]


def provider_cost_table(costs) -> str:
    """Cost per provider endpoint, grouped by model; marks the cheapest and dearest, and endpoints that are down."""
    from .charts import cost_title

    header = ("id", "provider", "quant", "uptime 30m %", "$/image", "$/1k images", "vs cheapest", "")
    notes = [
        "down" if down else "cheapest" if name == cheapest else "dearest" if name == dearest else ""
        for name, cheapest, dearest, down in zip(
            costs["provider_name"],
            costs["cheapest_provider"],
            costs["dearest_provider"],
            (costs["status"].fillna(0) < 0),
        )
    ]
    rows = zip(
        _printable(costs["id"]),
        _printable(costs["provider_name"]),
        _printable(costs["quantization"]),
        _cells(costs["uptime_last_30m"], "{:.1f}"),
        _cells(costs["usd_per_image"], "{:.5f}"),
        _cells(costs["usd_per_1k_images"], "{:,.2f}"),
        _cells(costs["vs_cheapest_pct"], "{:+.0f}%"),
        notes,
    )
    models = costs["id"].nunique()
    table = "\n".join(fixed_width(header, rows, right={3, 4, 5, 6}))
    return f"{cost_title(costs)}\n{table}\n{plural(len(costs), 'endpoint')} of {plural(models, 'model')}\n"


def endpoints_table(frame) -> str:
    """One line per provider endpoint: prices, limits and health."""
    header = (
        "id",
        "provider",
        "quant",
        "context",
        "prompt $/Mtok",
        "completion $/Mtok",
        "discount",
        "status",
        "uptime 30m %",
    )
    rows = zip(
        _printable(frame["id"]),
        _printable(frame["provider_name"]),
        _printable(frame["quantization"]),
        _cells(frame["context_length"], "{:,}"),
        _cells(frame["prompt_usd_per_mtok"], "{:.4g}"),
        _cells(frame["completion_usd_per_mtok"], "{:.4g}"),
        _cells(frame["discount"], "{:.0%}"),
        _cells(frame["status"], "{}"),
        _cells(frame["uptime_last_30m"], "{:.1f}"),
    )
    models = frame["id"].nunique()
    table = "\n".join(fixed_width(header, rows, right={3, 4, 5, 6, 7, 8}))
    return f"{table}\n{plural(len(frame), 'endpoint')} of {plural(models, 'model')}\n"


def _printable(column) -> list[str]:
    """Remote text as text; :func:`fixed_width` escapes it for the terminal (``text.terminal_safe``, the one escaper)."""
    return [str(v) for v in column.tolist()]


#: Short names of changed fields in the changes table (csv and json keep the column names).
FIELD_WORDS = {
    "prompt_usd_per_mtok": "prompt $/Mtok",
    "completion_usd_per_mtok": "completion $/Mtok",
    "context_length": "context",
    "image_price": "image price",
    "request_usd": "$/request",
}


def changes_table(changes) -> str:
    """One line per change: date, kind, id, and what moved."""
    what = []
    for kind, field, old, new, pct in zip(
        changes["kind"], changes["field"], changes["old"], changes["new"], changes["pct_change"]
    ):
        if kind in ("added", "removed"):
            what.append("")
        else:
            change = f"{FIELD_WORDS.get(field, field)}: {_value(old)} -> {_value(new)}"
            what.append(change + (f" ({pct:+.1f}%)" if pct == pct else ""))
    rows = zip(changes["date"].dt.strftime("%Y-%m-%d").tolist(), changes["kind"].tolist(), changes["id"].tolist(), what)
    lines = fixed_width(
        ("date", "kind", "id", "change"), rows, shrink=[2, 3], keep={2: 24, 3: 20}
    )  # what moved matters most
    return "\n".join(lines) + f"\n{plural(len(changes), 'change')}\n"


def _value(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def trial_output(trial, fmt: str) -> str:
    """A run's rows as csv / json, or as tables of rows then per-model summary."""
    if fmt != "table":
        return render(trial.results, fmt, trial_table)
    summary = trial.summary()
    evidence = "\n" + evidence_table(summary) if "success_rate" in summary else ""
    return trial_table(trial.results) + "\n" + summary_table(summary) + evidence


def plan_table(plan) -> str:
    """A dry run: per page and model, the estimate and the worst case reserved."""
    from .terminal import cell_text

    header: tuple[str, ...] = ("page", "model", "size", "image tokens", "method", "estimate $", "worst case $", "")
    columns = [
        [cell_text(p, 40) for p in plan["page"].tolist()],
        plan["model"].tolist(),
        [f"{w}x{h}" for w, h in zip(plan["width_px"].tolist(), plan["height_px"].tolist())],
        _cells(plan["estimated_image_tokens"], "{:,}"),
        [m + (" ~" if u else "") for m, u in zip(plan["method"].tolist(), plan["uncertain"].tolist())],
        _cells(plan["estimated_usd"], "{:.6f}"),
        _cells(plan["worst_case_usd"], "{:.6f}"),
        ["cached" if c else "" for c in plan["cached"].tolist()],
    ]
    right = {3, 5, 6}
    if _repeated(plan):  # each page sent more than once: which send a line is (1, 2, ...)
        header, right = (*header[:2], "repeat", *header[2:]), {2, 4, 6, 7}
        columns.insert(2, [str(r + 1) for r in plan["repeat"].tolist()])
    return "\n".join(fixed_width(header, zip(*columns), right=right)) + "\n"


def _repeated(frame) -> bool:
    """Whether ``frame`` (a plan or a run's rows) sends some page more than once."""
    return "repeat" in frame and bool(frame["repeat"].fillna(0).gt(0).any())


def trial_table(results) -> str:
    """One line per page and model; remote text is shown escaped and cut."""
    from .terminal import cell_text

    header = ["page", "model", "status", "billed $", "latency s", "CER", "text / error"]
    notes = [
        cell_text(e if isinstance(e, str) else t, 60)
        for e, t in zip(results["error"].tolist(), results["text"].tolist())
    ]
    columns = [
        [cell_text(p, 40) for p in results["page"].tolist()],
        [cell_text(m, 50) for m in results["model"].tolist()],
        results["status"].tolist(),
        _cells(results["billed_usd"], "{:.6f}"),
        _cells(results["latency_s"], "{:.2f}"),
        _cells(results["cer"], "{:.3f}"),
        notes,
    ]
    # A run with a schema, consensus or repeats: the row's field accuracy, agreement, and which send it is.
    extra = [(name, title, spec) for name, title, spec in (("field_accuracy", "fields", "{:.1%}"),
             ("agreement", "agreement", "{:.3f}")) if name in results and results[name].notna().any()]  # fmt: skip
    for n, (name, title, spec) in enumerate(extra):
        header.insert(6 + n, title)
        columns.insert(6 + n, _cells(results[name], spec))
    right = set(range(3, 6 + len(extra)))
    if _repeated(results):
        header.insert(2, "repeat")
        columns.insert(2, _cells(results["repeat"] + 1, "{}"))
        right = {2} | {i + 1 for i in right}
    return "\n".join(fixed_width(tuple(header), zip(*columns), right=right)) + "\n"


def summary_table(summary) -> str:
    """Per model: pages, cost per 1,000 pages, estimate / billed, latency, accuracy."""
    from .terminal import cell_text

    header = ("model", "ok", "failed", "skipped", "$/1k pages", "estimate/billed", "p50 s", "p95 s", "CER", "WER")
    rows = zip(
        [cell_text(m, 50) for m in summary["model"].tolist()],
        [str(v) for v in summary["pages_ok"].tolist()],
        [str(v) for v in summary["pages_failed"].tolist()],
        [str(v) for v in summary["pages_skipped"].tolist()],
        _cells(summary["usd_per_1k_pages"], "{:,.3f}"),
        _cells(summary["estimate_ratio"], "{:.2f}"),
        _cells(summary["latency_p50_s"], "{:.2f}"),
        _cells(summary["latency_p95_s"], "{:.2f}"),
        _cells(summary["cer_mean"], "{:.3f}"),
        _cells(summary["wer_mean"], "{:.3f}"),
    )
    return "\n".join(fixed_width(header, rows, right=set(range(1, 10)))) + "\n"


def evidence_table(summary) -> str:
    """Per model: success, cost per 1,000 successful pages, failures by kind, 95% intervals, field accuracy."""
    from .terminal import cell_text

    kinds = {"error": "error", "truncated": "cut", "looped": "loop", "empty": "empty", "refused": "refused",
             "invalid_json": "bad json"}  # fmt: skip
    failures = [
        ", ".join(f"{count} {short}" for kind, short in kinds.items() if (count := int(row.get(f"failed_{kind}", 0))))
        for row in summary.to_dict("records")
    ]

    def interval(low: str, high: str, spec: str) -> list[str]:
        if low not in summary:
            return [""] * len(summary)
        return ["" if a != a or b != b else f"{spec.format(a)}-{spec.format(b)}"
                for a, b in zip(summary[low].tolist(), summary[high].tolist())]  # fmt: skip

    header = ("model", "success", "$/1k ok pages", "failures", "CER 95% CI", "fields", "fields 95% CI", "pass all k")
    columns = [
        [cell_text(m, 50) for m in summary["model"].tolist()],
        _cells(summary["success_rate"], "{:.0%}"),
        _cells(summary["usd_per_1k_successful_pages"], "{:,.3f}"),
        failures,
        interval("cer_ci_low", "cer_ci_high", "{:.3f}"),
        _cells(summary["field_accuracy_mean"], "{:.1%}") if "field_accuracy_mean" in summary else [""] * len(summary),
        interval("field_accuracy_ci_low", "field_accuracy_ci_high", "{:.1%}"),
        _cells(summary["pass_all_k"], "{:.0%}") if "pass_all_k" in summary else [""] * len(summary),
    ]
    return "\n".join(fixed_width(header, zip(*columns), right={1, 2, 4, 5, 6, 7})) + "\n"


def _cells(column, spec: str) -> list[str]:
    return ["-" if missing else spec.format(v) for v, missing in zip(column.tolist(), column.isna().tolist())]
