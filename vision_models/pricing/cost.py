"""What reading one image (a scanned page, a photo) costs on each vision model.

Most providers bill an image as prompt tokens, and how many depends on the
image's size and the model family (:mod:`vision_models.pricing.image_tokens`). So the
cost of one call is: image tokens at the prompt price, plus the instruction,
plus the answer at the completion price, plus any per-request fee.

The catalog's ``pricing.image`` is read, never taken literally: compared with
the prompt price it is either a per-image-token rate (2026 catalogs, Gemini:
equal to the prompt price) or a price per image, which OpenRouter sets at a
worst-case image (``N`` tokens at the prompt price). A per-image price is a
ceiling: it caps a family estimate that exceeds it (sources disagree, so the
row is marked uncertain) and it prices models no family rule knows. A listed
``"0"`` does not make images free: it is read as no listing at all, and the
image is priced by its family's tokens like any unlisted one.

A cost table is about reading a page, so by default it holds only models whose
output is text alone: models that also generate audio or images (Lyria, the
Gemini image models) are left out, and named in ``.attrs["left_out"]``;
``include_generators=True`` keeps them. Routers (``openrouter/auto``, whose
price is variable, and ``openrouter/free``) are not models: their rows say
``router`` and carry no cost, and are never ``free``.

A request must fit the model: the prompt (image tokens + instruction) plus
the answer within ``context_length``, and the answer within the model's
``max_completion_tokens``. Rows that do not fit say why (``fits``,
``does_not_fit``) and sort after every row that fits. :func:`rank_costs` is
what a ranking ranks: it leaves out those rows and the ``:free`` variants.

Tokens are counted once per family, then every column is whole-array
arithmetic over the models.

Pure: :func:`price_images` reads nothing and fetches nothing; trial
measurements (``measured=``) and provider endpoints (``endpoints=``) are
arguments. :func:`vision_models.cost_per_image` (in
:mod:`vision_models.present.cost_tables`) is the convenience that reads the
trials store and fetches the endpoints, then calls :func:`price_images`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..catalog.kinds import READER, kind_mask, repeated_bases
from ..common import check_known, models_frame_of
from .estimate import (  # noqa: F401 (the public names of vm.cost, which this module was before it was split)
    COST_COLUMNS,
    LISTED_METHOD,
    PRESETS,
    ROUTER_METHOD,
    ROUTER_SOURCE,
    get_generates_media,
    get_preset,
    image_costs,
    request_fits,
    resolve_size,
)
from .image_tokens import FALLBACK
from .listing import REFERENCE_IMAGE, get_family, get_image_usd_per_1k  # noqa: F401
from .measured import COMPARABLE_AREA, MEASURED_METHOD, apply_measurements  # noqa: F401
from .providers import PROVIDER_COST_COLUMNS, cost_by_provider  # noqa: F401
from .reasoning import DEFAULT_EFFORT


def price_images(
    models: pd.DataFrame,
    width: int | None = None,
    height: int | None = None,
    *,
    prompt_tokens: int = 0,
    output_tokens: int = 0,
    detail: str = "high",
    preset: str | None = None,
    include_generators: bool = False,
    by_provider: bool = False,
    endpoints: pd.DataFrame | None = None,
    measured: pd.DataFrame | bool | None = None,
    prefer_measured: bool = False,
    reasoning_effort: str = DEFAULT_EFFORT,
    reasoning_tokens: int | None = None,
    cached_instruction: bool = False,
) -> pd.DataFrame:
    """One row per model: the image's tokens and the USD cost of one call, cheapest first. Reads and fetches nothing.

    ``width``/``height`` in pixels, or a ``preset`` (see ``PRESETS``);
    ``prompt_tokens``: the instruction sent with the image; ``output_tokens``:
    the expected answer; ``detail``: ``"high"`` or ``"low"`` where a family has
    it. Models with an unknown prompt price keep their row with NaN costs and
    sort last; a listed ``discount`` is taken off every part of the cost;
    free models (every listed price zero) cost 0 and have ``free``
    set; routers have ``method == "router"`` and NaN costs. Models that also
    generate audio or images are left out unless ``include_generators``; their
    ids and outputs are in ``.attrs["left_out"]`` and :func:`left_out_note`
    says it in a sentence. The inputs are kept in ``.attrs`` for chart titles.

    ``fits`` is False where the request does not fit the model: image tokens +
    ``prompt_tokens`` + ``output_tokens`` above its ``context_length``, or
    ``output_tokens`` above its ``max_completion_tokens``; ``does_not_fit``
    says what (``"needs 9,100 tokens; context 8,192"``), missing where it
    fits. A limit the catalog does not list is not checked. Such rows are kept
    (the table answers "what would this model cost", and says why it cannot
    take the request) but sorted after every row that fits; rankings leave them
    out (:func:`rank_costs`). The ``:free`` variants are kept here too: the
    table prices every listing; :func:`rank_costs` decides what a ranking shows.

    ``by_provider=True``: one row per (model, provider endpoint) instead,
    priced at that endpoint's own prices; see :func:`cost_by_provider`
    (``endpoints``: a :func:`vision_models.fetch_endpoints` frame, required:
    None is a ``ValueError``; :func:`vision_models.cost_per_image` fetches it).

    ``measured``: trial measurements (a :func:`vision_models.measured_image_tokens`
    frame; None or False: none). With a frame, the columns
    ``measured_image_tokens`` and ``estimate_ratio`` are added (see
    :func:`apply_measurements`); ``prefer_measured`` prices from them.
    :func:`vision_models.cost_per_image` is this function with the trials store
    read when ``measured`` is None.

    The rest of the bill (docs/cost-evidence.md): a model that reasons (its
    ``supported_parameters`` list ``reasoning``) writes ``reasoning_tokens`` per
    page, billed as output: the default of ``reasoning_effort``
    (:data:`~vision_models.pricing.reasoning.REASONING_TOKENS_PER_PAGE`), or the
    ``reasoning_tokens`` given, or the median a trial measured (a
    ``reasoning_tokens`` column in ``measured``); ``reasoning_source`` says
    which. A ``completion_tokens`` column in ``measured`` likewise replaces
    ``output_tokens`` for its model at a comparable page size. ``request_usd``
    and ``web_search_usd`` (models that search on every request) are per-call
    fees. ``image_tokens_low`` / ``_high`` and ``usd_per_image_low`` / ``_high``
    bound the estimate where public sources disagree (``range_sources`` names
    them; equal to the point elsewhere, and a measurement replaces them).
    ``cache_saving_usd_per_1k_images`` is what reading the instruction from the
    provider's cache would save per 1,000 pages; ``cached_instruction=True``
    takes it off the total.
    """
    models = models_frame_of(models)
    if by_provider:
        return cost_by_provider(
            models,
            endpoints,
            width,
            height,
            prompt_tokens=prompt_tokens,
            output_tokens=output_tokens,
            detail=detail,
            preset=preset,
            reasoning_effort=reasoning_effort,
            reasoning_tokens=reasoning_tokens,
            cached_instruction=cached_instruction,
        )
    return image_costs(
        models,
        width,
        height,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        detail=detail,
        preset=preset,
        include_generators=include_generators,
        measured=measured,
        prefer_measured=prefer_measured,
        reasoning_effort=reasoning_effort,
        reasoning_tokens=reasoning_tokens,
        cached_instruction=cached_instruction,
    )


def __getattr__(name: str) -> Any:
    """``cost_per_image`` from this module: the pure :func:`price_images`, with a warning that it reads nothing."""
    if name == "cost_per_image":
        warnings.warn(
            "vision_models.pricing.cost.cost_per_image is the pure price_images now: it reads no trials store and "
            "fetches no endpoints; vision_models.cost_per_image does both",
            DeprecationWarning,
            stacklevel=2,
        )
        return price_images
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: What ends the id of a ``:free`` variant: the free, rate-limited listing of a model (``google/gemma-3-27b-it:free``).
FREE_SUFFIX = ":free"


def is_free_variant(ids: Iterable[str]) -> np.ndarray:
    """Which ids are ``:free`` variants (they end with ``:free``)."""
    return np.array([isinstance(i, str) and i.endswith(FREE_SUFFIX) for i in ids], dtype=bool)


def rank_costs(
    costs: pd.DataFrame,
    *,
    include_free: bool = False,
    include_unfit: bool = False,
    kinds: str | Sequence[str] | None = (READER,),
    one_per_base: bool = True,
) -> pd.DataFrame:
    """The rows of a cost table (:func:`price_images`) that a ranking ranks, in the table's order (cheapest first).

    Left out by default, and named in ``.attrs["ranking_left_out"]``
    (``{"other_kinds": [...], "free_variants": [...], "does_not_fit": [...], "same_base": [...]}``; the kind
    of each of ``other_kinds`` is in ``.attrs["ranking_left_out_kinds"]``):

    - models that are not page readers (``kind`` not in ``kinds``; see
      :mod:`vision_models.catalog.kinds`): safety classifiers, GUI agents,
      routers, aliases, generators. ``kinds=None`` keeps every kind.
    - ``:free`` variants (ids ending in ``:free``; ``include_free=True`` keeps
      them). They are the free, rate-limited listing of a model that usually
      also has a paid one, and at $0 they would fill the top of every ranking
      (8 of the 10 cheapest vision models of the 2026-05-01 catalog). A
      zero-priced model *without* the suffix is kept and ranks as free: it is
      often the model's only listing (``qwen/qwen3-vl-235b-a22b-thinking`` in
      2026-02, the stealth ``openrouter/*-alpha`` models), and the catalog
      gives no sign that a paid listing exists.
    - rows whose request does not fit (``fits`` False: context or maximum
      output; ``include_unfit=True`` keeps them).
    - further listings of a base model already ranked (``variant_of``: dated
      snapshots, ``:thinking``/``:beta`` listings): each base model keeps its
      cheapest listing; ``one_per_base=False`` keeps them all. ``:free``
      variants kept by ``include_free`` are not merged.

    A table without ``fits`` or ``kind`` (made by hand) has every row fit and
    read. A bad flag or kind is a ``ValueError`` naming it.
    """
    for name, value in (
        ("include_free", include_free),
        ("include_unfit", include_unfit),
        ("one_per_base", one_per_base),
    ):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"bad {name} {value!r}: expected True or False")
    ids = costs["id"].to_numpy(dtype=object)
    none = np.zeros(len(costs), dtype=bool)
    other_kind = ~kind_mask(costs, kinds)  # each row is named once, under the first reason that drops it
    unfit = ~costs["fits"].to_numpy(dtype=bool, na_value=False) if "fits" in costs else none
    drop_unfit = none if include_unfit else unfit & ~other_kind
    free_variant = is_free_variant(ids.tolist())
    drop_variants = none if include_free else free_variant & ~drop_unfit & ~other_kind
    kept = ~(other_kind | drop_unfit | drop_variants)
    same_base = repeated_bases(costs, kept & ~free_variant) if one_per_base else none
    ranked = costs[kept & ~same_base].reset_index(drop=True)
    kinds_of = costs["kind"].to_numpy(dtype=object) if "kind" in costs else np.full(len(costs), READER, dtype=object)
    left_out = {
        "other_kinds": ids[other_kind].tolist(),
        "free_variants": ids[drop_variants].tolist(),
        "does_not_fit": ids[drop_unfit].tolist(),
        "same_base": ids[same_base].tolist(),
    }
    earlier = costs.attrs.get("ranking_left_out") or {}  # a table ranked before: what that ranking left out too
    left_out = {name: list(earlier.get(name) or []) + ids_out for name, ids_out in left_out.items()}
    ranked.attrs = {
        **costs.attrs,
        "ranking_left_out": left_out,
        "ranking_left_out_kinds": list(costs.attrs.get("ranking_left_out_kinds") or []) + kinds_of[other_kind].tolist(),
    }
    return ranked


def ranking_note(ranked: pd.DataFrame) -> str:
    """One sentence on what :func:`rank_costs` left out of a ranking; "" when nothing."""
    left_out = ranked.attrs.get("ranking_left_out") or {}
    parts = []
    kinds, variants = left_out.get("other_kinds") or [], left_out.get("free_variants") or []
    unfit, same = left_out.get("does_not_fit") or [], left_out.get("same_base") or []
    if kinds:
        parts.append(f"{len(kinds)} model{'s' if len(kinds) != 1 else ''} that do not read pages into text "
                     "(guards, agents, routers, aliases, generators; kinds=None shows them)")  # fmt: skip
    if variants:
        parts.append(f"{len(variants)} :free variant{'s' if len(variants) != 1 else ''} (include_free=True shows them)")
    if unfit:
        parts.append(
            f"{len(unfit)} model{'s' if len(unfit) != 1 else ''} the request does not fit (context or maximum "
            "output; include_unfit=True shows them)"
        )
    if same:
        parts.append(f"{len(same)} dearer listing{'s' if len(same) != 1 else ''} of a model already ranked "
                     "(snapshots, variants; one_per_base=False shows them)")  # fmt: skip
    return "left out: " + "; ".join(parts) if parts else ""


def left_out_note(costs: pd.DataFrame) -> str:
    """One sentence on the models a cost table left out, and how to bring them back; "" when none."""
    left_out = costs.attrs.get("left_out") or {}
    if not left_out:
        return ""
    made = sorted({m for outputs in left_out.values() for m in outputs.split("+") if m and m != "text"})
    what = " or ".join({"image": "images"}.get(m, m) for m in made) or "more than text"
    ids = list(left_out)
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    models_word = "model that also generates" if len(ids) == 1 else "models that also generate"
    return (
        f"left out {len(ids)} {models_word} {what} ({shown}): their prices are for "
        "what they make, not for reading a page; include_generators=True (--include-generators) keeps them"
    )


def compare(
    models: pd.DataFrame,
    ids: Sequence[str],
    width: int | None = None,
    height: int | None = None,
    *,
    prompt_tokens: int = 0,
    output_tokens: int = 0,
    detail: str = "high",
    preset: str | None = None,
) -> pd.DataFrame:
    """The chosen models side by side, one column per model in the order given.

    Rows: what the catalog says (context, prices, evidence) and what one image
    costs. An id not in ``models`` is a ``ValueError`` naming it, with close matches.
    """
    chosen = check_model_ids(models, ids)
    subset = models.set_index("id").loc[chosen]
    costs = price_images(
        subset.reset_index(),
        width,
        height,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        detail=detail,
        preset=preset,
        include_generators=True,  # chosen by id: shown whatever they make
        measured=False,  # no row shows a measurement
    ).set_index("id")
    evidence = subset["vision_evidence"].map("+".join) if "vision_evidence" in subset else pd.Series("", index=chosen)
    rows = {
        "name": subset["name"],
        "provider": costs["provider"],
        "context_length": costs["context_length"],
        "prompt_usd_per_mtok": costs["prompt_usd_per_mtok"],
        "completion_usd_per_mtok": costs["completion_usd_per_mtok"],
        "vision_evidence": evidence,
        "family": costs["family"],
        "method": costs["method"],
        "image_tokens": costs["image_tokens"],
        "uncertain": costs["uncertain"],
        "usd_per_image": costs["usd_per_image"],
        "usd_per_1k_images": costs["usd_per_1k_images"],
        "free": costs["free"],
    }
    side_by_side = pd.DataFrame({name: column.reindex(chosen).astype(object) for name, column in rows.items()}).T
    side_by_side.columns.name = "id"
    side_by_side.attrs = costs.attrs
    return side_by_side


def check_model_ids(models: pd.DataFrame, ids: Iterable[str] | str) -> list[str]:
    """The ids, each present once in ``models``; otherwise a ``ValueError`` naming the first bad one."""
    wanted = [ids] if isinstance(ids, str) else list(ids)
    if not wanted:
        raise ValueError("no model ids given: pass at least one id, such as 'openai/gpt-4o-mini'")
    check_known(wanted, models["id"].tolist())
    return list(dict.fromkeys(wanted))


def cost_coverage(costs: pd.DataFrame) -> float:
    """Share of models priced by a family rule or a listed price, not the fallback (routers are not models)."""
    models = costs[costs["method"] != ROUTER_METHOD]
    if models.empty:
        return float("nan")
    return float((models["method"] != FALLBACK.method).mean())
