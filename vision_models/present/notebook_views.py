"""What the notebooks say about the data: sentences computed from it, tables ordered for reading.

Each notebook ends with "What we learned"; the numbers behind it are printed by
a code cell from these functions, so they are true on whatever catalog the
notebook ran on, and a section with nothing to show says why (:func:`nothing_to_show`).

>>> from vision_models import notebook_views as nv
>>> print(nv.cost_findings(costs, "a4-150dpi"))
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd

#: The columns a reader compares models by, first in :func:`trial_summary`.
TRIAL_LEAD = ("model", "usd_per_1k_pages", "cer_mean", "wer_mean")


def plural(count: int, word: str, words: str | None = None) -> str:
    """``"1 model"``, ``"2 models"``, ``"1,000 models"``."""
    return f"{count:,} {word if count == 1 else words or word + 's'}"


def usd(value: float) -> str:
    """An amount in USD with the digits that tell amounts apart: ``$29.2``, ``$0.0686``, ``$1,234``."""
    if pd.isna(value):
        return "an unknown amount"
    if value == 0:
        return "$0"
    return f"${value:,.0f}" if abs(value) >= 100 else f"${value:.3g}"


def times(ratio: float) -> str:
    """``"12 times"``, ``"1.5 times"``, ``"about the same"``."""
    if ratio < 1.05:
        return "about the same as"
    return f"{ratio:,.0f} times" if ratio >= 10 else f"{ratio:.1f} times"


def nothing_to_show(why: str) -> None:
    """Print why a section is empty, instead of an empty table or a chart of nothing."""
    print(f"Nothing to show: {why}")


def table(
    frame: pd.DataFrame | pd.Series, columns: Sequence[str] | None = None, *, head: int | None = None, empty: str
) -> pd.DataFrame | pd.Series | None:
    """``frame`` (its ``columns``, its first ``head`` rows) to display; when it is empty, print ``empty`` and return None."""
    if len(frame) == 0:
        nothing_to_show(empty)
        return None
    shown = frame if columns is None else frame[list(columns)]
    return shown if head is None else shown.head(head)


def free_mask(costs: pd.DataFrame) -> pd.Series:
    """Which rows of a :func:`vision_models.cost_per_image` frame are free (0 USD per page)."""
    if "free" in costs:
        return costs["free"].eq(True)
    return costs["usd_per_1k_images"].eq(0)


def priced(costs: pd.DataFrame) -> pd.DataFrame:
    """The rows with a known price above zero: the models where a page costs something, cheapest first as given."""
    return costs[costs["usd_per_1k_images"].notna() & ~free_mask(costs)]


# ---------------------------------------------------------------- 01: which models read images


def vision_findings(vision: pd.DataFrame, catalog: pd.DataFrame, name_only: pd.DataFrame) -> str:
    """How many models read images, how many only have a vision family's name, and the providers with the most."""
    lines = [f"{plural(len(vision), 'model')} of {len(catalog):,} in this catalog read images."]
    if len(name_only):
        lines.append(
            f"{plural(len(name_only), 'more model has', 'more models have')} a vision family's name but "
            f"{'lists' if len(name_only) == 1 else 'list'} no image input: the seed rules count "
            f"{'it' if len(name_only) == 1 else 'them'}, the strict rules do not."
        )
    else:
        lines.append("No model has a vision family's name while listing only text as input.")
    if len(vision):
        counts = vision["provider"].value_counts()
        top = ", ".join(f"{provider} ({count})" for provider, count in counts.head(3).items())
        lines.append(f"{plural(len(counts), 'provider')} offer them; the most: {top}.")
    return "\n".join(lines)


# ---------------------------------------------------------------- 02 and 03: what a page costs


def cost_findings(costs: pd.DataFrame, page: str, vision: int | None = None) -> str:
    """The spread of what one page costs: cheapest, median and dearest priced model, free and unknown ones.

    ``vision``: how many vision models were priced (``len(models)``), to say how many
    :func:`~vision_models.cost_per_image` left out because they generate images or audio.
    """
    paid = priced(costs)
    free = costs[free_mask(costs)]
    unknown = costs[costs["usd_per_1k_images"].isna()]
    left_out = 0 if vision is None else vision - len(costs)
    lines = [
        f"Of {plural(len(costs), 'vision model')}"
        + (f" (and {left_out:,} more that generate images or audio, left out)" if left_out > 0 else "")
        + f", {len(paid):,} {'has' if len(paid) == 1 else 'have'} a price for one {page} page, "
        f"{len(free):,} {'is' if len(free) == 1 else 'are'} free and {len(unknown):,} "
        f"{'has' if len(unknown) == 1 else 'have'} a variable or unknown price."
    ]
    if paid.empty:
        lines.append("No model has a known price above zero for this page.")
        return "\n".join(lines)
    per_1k = paid["usd_per_1k_images"]
    cheapest, dearest = paid.loc[per_1k.idxmin()], paid.loc[per_1k.idxmax()]
    lines.append(f"Cheapest: {cheapest['id']}, {usd(cheapest['usd_per_1k_images'])} per 1,000 pages.")
    if len(paid) > 1:
        lines.append(f"Median: {usd(per_1k.median())} per 1,000 pages.")
        ratio = dearest["usd_per_1k_images"] / cheapest["usd_per_1k_images"]
        lines.append(
            f"Dearest: {dearest['id']}, {usd(dearest['usd_per_1k_images'])} per 1,000 pages, "
            f"{times(ratio)} the cheapest."
        )
    if "uncertain" in paid:
        shaky = int(paid["uncertain"].eq(True).sum())
        if shaky:
            lines.append(f"{plural(shaky, 'estimate')} of the priced models {'rests' if shaky == 1 else 'rest'} "
                         "on a disputed or extrapolated token rule (uncertain).")  # fmt: skip
    return "\n".join(lines)


def comparison_findings(costs: pd.DataFrame) -> str:
    """For the compared models' costs: which reads a page cheapest, and how far apart they are."""
    paid = priced(costs)
    lines = []
    free = costs.loc[free_mask(costs), "id"].tolist()
    if free:
        lines.append(f"Free: {', '.join(free)}.")
    if paid.empty:
        lines.append("None of these models has a known price above zero for this page.")
        return "\n".join(lines)
    per_1k = paid["usd_per_1k_images"]
    cheapest, dearest = paid.loc[per_1k.idxmin()], paid.loc[per_1k.idxmax()]
    lines.append(f"Cheapest of these: {cheapest['id']}, {usd(cheapest['usd_per_1k_images'])} per 1,000 pages.")
    if len(paid) > 1:
        lines.append(
            f"Dearest: {dearest['id']}, {usd(dearest['usd_per_1k_images'])}, "
            f"{times(dearest['usd_per_1k_images'] / cheapest['usd_per_1k_images'])} the cheapest."
        )
        tokens = paid["image_tokens"]
        if tokens.notna().all() and tokens.min() > 0:
            lines.append(f"The same page counts as {tokens.min():,.0f} to {tokens.max():,.0f} image tokens on them.")
    return "\n".join(lines)


def no_pick(picked: Sequence[str], at_least: int = 1, what: str = "model") -> str | None:
    """A sentence asking for a pick when fewer than ``at_least`` are chosen, else None."""
    if len(picked) >= at_least:
        return None
    need = plural(at_least, what) if at_least > 1 else f"a {what}"
    return f"Pick {need} above (now {len(picked)}), then run this cell again."


# ---------------------------------------------------------------- 04: the history


def snapshot_times(path=None) -> list[datetime]:
    """When each snapshot in the history was taken (UTC), oldest first; [] with no history."""
    from ..catalog import history

    with history._reader(history.get_history_path(path)) as conn:
        if conn is None:
            return []
        rows = conn.execute("SELECT fetched_at FROM snapshots ORDER BY fetched_at").fetchall()
    return [datetime.fromtimestamp(t / 1e6, tz=UTC) for (t,) in rows]


def history_findings(moments: Sequence[datetime], changes: pd.DataFrame) -> str:
    """The period the history covers, its longest gap, and what changed over it (all models, and vision)."""
    if len(moments) < 2:
        return f"The history holds {plural(len(moments), 'snapshot')}: nothing to compare."
    first, last = moments[0], moments[-1]
    lines = [f"{plural(len(moments), 'snapshot')} from {first:%Y-%m-%d} to {last:%Y-%m-%d}."]
    gaps = [(b - a, a, b) for a, b in itertools.pairwise(moments)]
    gap, before, after = max(gaps)
    if gap.days > 7:  # longer than a week: a week's bar may hold what happened weeks before
        lines.append(
            f"Longest gap: {plural(gap.days, 'day')}, {before:%Y-%m-%d} to {after:%Y-%m-%d}; "
            f"what changed in it is dated {after:%Y-%m-%d}."
        )
    else:
        lines.append(f"Snapshots are at most {plural(max(gap.days, 1), 'day')} apart.")
    if changes.empty:
        lines.append("Nothing changed between them.")
        return "\n".join(lines)
    vision = changes[changes["is_vision"].eq(True)] if "is_vision" in changes else changes.iloc[:0]
    counts = changes["kind"].value_counts()
    lines.append(f"{plural(len(changes), 'change')}: " + ", ".join(f"{n:,} {kind}" for kind, n in counts.items()) + ".")
    added = int(vision["kind"].eq("added").sum())
    removed = int(vision["kind"].eq("removed").sum())
    moved = vision.loc[vision["kind"].eq("price"), "id"].nunique()
    lines.append(f"Vision models: {added:,} added, {removed:,} removed, {plural(moved, 'model')} with a price change.")
    return "\n".join(lines)


def split_at_gaps(
    changes: pd.DataFrame, moments: Sequence[datetime], days: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(changes seen within ``days`` of the snapshot before, changes dated by a snapshot after a longer gap).

    A change is dated by the first snapshot that shows it; after a gap of
    months, that date says only that it happened at some time in the gap, so
    counting it in that snapshot's week would pile the whole gap into one bar.
    """
    ends = pd.DatetimeIndex([b for a, b in itertools.pairwise(moments) if (b - a).days > days], tz="UTC")
    late = pd.to_datetime(changes["date"], utc=True).isin(ends).to_numpy()
    return changes[~late], changes[late]


def gap_note(after_gaps: pd.DataFrame, moments: Sequence[datetime], what: str = "vision model") -> str | None:
    """Which additions :func:`split_at_gaps` kept out of the weekly counts, and why; None when there are none."""
    added = after_gaps[after_gaps["kind"].eq("added")]
    if added.empty:
        return None
    parts = []
    for day, rows in added.groupby(pd.to_datetime(added["date"], utc=True), sort=True):
        before = max(m for m in moments if m < day)
        parts.append(f"{plural(len(rows), what)} first seen on {day:%Y-%m-%d}, after {plural((day - before).days, 'day')} "
                     f"with no snapshot")  # fmt: skip
    return f"Not counted by week: {'; '.join(parts)} (added at some time in the gap)."


# ---------------------------------------------------------------- 05: trials


def trial_summary(trial) -> pd.DataFrame:
    """``trial.summary()``'s cost and accuracy columns, what a reader compares first leading: model, USD per 1,000
    pages, CER, WER (the evidence columns, success and intervals, are a table of their own)."""
    from ..trials.results import SUMMARY_COLUMNS

    summary = trial.summary() if hasattr(trial, "summary") else trial
    lead = [c for c in TRIAL_LEAD if c in summary]
    return summary[lead + [c for c in summary.columns if c not in lead and c in SUMMARY_COLUMNS]]


def scored(summary: pd.DataFrame) -> pd.DataFrame:
    """The models of a trial summary that read at least one page and have a CER (their text was scored)."""
    return summary[summary["pages_ok"].gt(0) & summary["cer_mean"].notna()]


def trial_findings(summary: pd.DataFrame, pages: int) -> str:
    """Which model read the pages best, what it cost, and what the cheapest good reader costs."""
    read = scored(summary)
    if summary.empty:
        return "No model ran."
    if read.empty:
        failed = ", ".join(summary["model"])
        return f"No model's text could be scored on the {plural(pages, 'page')} ({failed}): see the errors above."
    best = read.loc[read["cer_mean"].idxmin()]
    if len(read) == 1:
        return (
            f"Only {best['model']} read the {plural(pages, 'page')}: CER {best['cer_mean']:.3f}, "
            f"WER {best['wer_mean']:.3f}, {_per_1k(best)} per 1,000 pages."
        )
    lines = [
        (
            f"{plural(len(read), 'model')} read the {plural(pages, 'page')}; the fewest errors: {best['model']}, "
            f"CER {best['cer_mean']:.3f}, WER {best['wer_mean']:.3f}, {_per_1k(best)} per 1,000 pages."
        )
    ]
    if len(read) > 1:
        worst = read.loc[read["cer_mean"].idxmax()]
        lines.append(
            f"The most errors: {worst['model']}, CER {worst['cer_mean']:.3f}, {_per_1k(worst)} per 1,000 pages."
        )
    return "\n".join(lines)


def _per_1k(row: pd.Series) -> str:
    value = row["usd_per_1k_pages"]
    return "billed at an unknown amount" if pd.isna(value) else usd(value)


def choice_findings(costs: pd.DataFrame, readers: pd.DataFrame, short: pd.DataFrame, plan, found) -> str:
    """From the catalog to a choice, in numbers: readers ranked, the shortlist, the plan, the recommendation."""
    why = short["why"].astype(str)
    front = int(why.str.startswith("on the front").sum())
    unscored = int(why.str.contains("without a publish").sum())
    lines = [
        f"{plural(len(readers), 'page reader')} ranked of {plural(len(costs), 'vision model')}; "
        f"a shortlist of {plural(len(short), 'model')}: {front} on the public front, {unscored} without a public "
        f"score{', and Tesseract' if short['id'].eq('tesseract').any() else ''}.",
        f"Telling them apart takes about {plural(plan.pages_needed, 'page')} "
        f"({plural(plan.pages_available, 'page')} given), estimated at {usd(plan.estimated_usd)}.",
    ]
    if found.model is not None:
        lines.append(f"Recommended on these pages: {found.model} (targets {_targets(found.targets)}).")
    else:
        more = f"; about {plural(found.more_pages, 'more page')} would settle it" if found.more_pages else ""
        lines.append(
            f"No model is sure to meet the targets ({_targets(found.targets)}) on these pages; "
            f"closest: {found.closest}{more}."
        )
    return "\n".join(lines)


def _targets(targets: dict) -> str:
    shown = {k: v for k, v in targets.items() if v is not None and k != "confidence"}
    return ", ".join(f"{k} {v:g}" for k, v in shown.items())
