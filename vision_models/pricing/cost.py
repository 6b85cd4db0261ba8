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
"""

from __future__ import annotations

import difflib
import os
import re
import sqlite3
import warnings
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from ..catalog.frame import optional_text
from .image_tokens import FALLBACK, FamilyRule, check_detail, check_size, find_family, image_tokens

#: Common inputs: (width, height) in pixels. Paper sizes are portrait.
PRESETS: dict[str, tuple[int, int]] = {
    "a4-150dpi": (1240, 1754),  # 210 x 297 mm = 8.27 x 11.69 in
    "a4-200dpi": (1654, 2339),
    "a4-300dpi": (2480, 3508),
    "letter-150dpi": (1275, 1650),  # 8.5 x 11 in
    "letter-200dpi": (1700, 2200),
    "letter-300dpi": (2550, 3300),
    "phone-12mp": (4032, 3024),  # a 12-megapixel 4:3 photo
    "screenshot-1080p": (1920, 1080),
}

COST_COLUMNS = [
    "id",
    "name",
    "provider",
    "family",
    "image_tokens",
    "method",
    "uncertain",
    "image_usd",
    "text_usd",
    "output_usd",
    "request_usd",
    "usd_per_image",
    "usd_per_1k_images",
    "free",
    "listed_image_price",
    "listed_price_reading",
    "prompt_usd_per_mtok",
    "completion_usd_per_mtok",
    "context_length",
    "rule_source",
    "fits",
    "does_not_fit",
]

LISTED_METHOD = "listed-image-price"
ROUTER_METHOD = "router"
ROUTER_SOURCE = "a router: each request goes to another model, whose price applies"
#: The image that a per-token ``pricing.image`` is priced at to give USD per 1,000 images.
REFERENCE_IMAGE = (1024, 1024)
# A listed image price within this factor of the prompt price is a rate per image token.
_PER_TOKEN_BAND = (0.5, 2.0)
_USD_DECIMALS = 12



@lru_cache(maxsize=8192)
def get_family(model_id: str, name: str = "") -> FamilyRule:
    """The image-token rule of a model: by its id, else by its name written like an id.

    OpenRouter names read "Vendor: Model Name"; ``"Acme: Qwen2.5 VL 72B"`` reads
    as ``/qwen2.5-vl-72b``, which the Qwen rule recognises even under an id
    that says nothing of the family.
    """
    rule = find_family(model_id)
    if rule is FALLBACK and name.strip():
        rule = find_family("/" + re.sub(r"\s+", "-", name.split(":", 1)[-1].strip().lower()))
    return rule


def get_preset(name: str) -> tuple[int, int]:
    """(width, height) of a named preset; an unknown name is a ``ValueError`` with close matches."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), PRESETS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(PRESETS)}"
        raise ValueError(f"unknown preset {name!r}{hint}") from None


def cost_per_image(
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
    trials_path: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """One row per model: the image's tokens and the USD cost of one call, cheapest first.

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
    (``endpoints``: a :func:`vision_models.fetch_endpoints` frame, fetched
    for the models' ids when not given).

    ``measured``: trial measurements (:func:`vision_models.measured_image_tokens`;
    None reads the trials store at ``trials_path`` (default: the usual one) if
    there is one; False reads none). With any, the columns
    ``measured_image_tokens`` and ``estimate_ratio`` are added (see
    :func:`apply_measurements`); ``prefer_measured`` prices from them. A
    trials store that cannot be read is one warning: the table goes on without it.
    """
    if by_provider:
        options = dict(prompt_tokens=prompt_tokens, output_tokens=output_tokens, detail=detail, preset=preset)
        return cost_by_provider(models, endpoints, width, height, **options)
    width, height = resolve_size(width, height, preset)
    prompt_tokens = _token_count("prompt_tokens", prompt_tokens)
    output_tokens = _token_count("output_tokens", output_tokens)
    detail = check_detail(detail)
    if not isinstance(include_generators, (bool, np.bool_)):
        raise ValueError(f"bad include_generators {include_generators!r}: expected True or False")
    router = _flag(models, "is_router")
    generators = get_generates_media(models).to_numpy() & ~router
    left_out = {}
    if generators.any() and not include_generators:
        left = models[generators]
        left_out = dict(zip(left["id"].tolist(), ["+".join(o) for o in left["output_modalities"].tolist()]))
        models = models[~generators]
        router = router[~generators]

    ids = models["id"].tolist()
    rules = [get_family(model_id, name) for model_id, name in zip(ids, models["name"].tolist())]
    counted = {rule: image_tokens(rule, width, height, detail) for rule in set(rules)}
    rule_tokens = np.array([counted[rule] for rule in rules], dtype="float64")
    known = np.array([rule is not FALLBACK for rule in rules], dtype=bool)

    prompt = _per_token(models["prompt_usd_per_mtok"])
    completion = _per_token(models["completion_usd_per_mtok"])
    listed, ratio, per_token, per_image = _read_listing(models)
    listed_tokens = np.round(ratio)

    estimated = rule_tokens * _image_token_price(models, prompt)
    capped = known & per_image & (estimated > listed)
    by_listing = ~known & per_image
    use_listed = capped | by_listing
    image_usd = np.where(use_listed, listed, estimated)
    tokens = np.where(use_listed, listed_tokens, rule_tokens)

    text_usd = _times(prompt_tokens, prompt)
    output_usd = _times(output_tokens, completion)
    request = models["request_usd"].to_numpy(dtype="float64", na_value=np.nan)
    request_usd = np.where(np.isnan(request), 0.0, request)  # a fee is listed only where there is one
    # A listed discount takes its fraction off every price (OpenRouter: price x (1 - discount)).
    keep = _discount_factor(models)
    image_usd, text_usd, output_usd, request_usd = (c * keep for c in (image_usd, text_usd, output_usd, request_usd))
    # A router is not a model: its price is the price of whichever model it picks.
    image_usd, text_usd, output_usd, request_usd, tokens = (
        np.where(router, np.nan, column) for column in (image_usd, text_usd, output_usd, request_usd, tokens)
    )
    total = _usd(image_usd + text_usd + output_usd + request_usd)

    method = np.array([rule.method for rule in rules], dtype=object)
    method[by_listing] = LISTED_METHOD
    method[router] = ROUTER_METHOD
    family = np.array([rule.family for rule in rules], dtype=object)
    family[router] = ROUTER_METHOD
    source = np.array([rule.source for rule in rules], dtype=object)
    source[router] = ROUTER_SOURCE
    uncertain = ((np.array([rule.uncertain for rule in rules], dtype=bool) & ~by_listing) | capped) & ~router
    free = _free(models, prompt, completion, request_usd) & ~router

    table = pd.DataFrame(
        {
            "id": models["id"].to_numpy(),
            "name": models["name"].to_numpy(),
            "provider": models["provider"].to_numpy(),
            "family": family,
            "image_tokens": pd.array(np.where(np.isnan(tokens), None, tokens), dtype="Int64"),
            "method": method,
            "uncertain": uncertain,
            "image_usd": _usd(image_usd),
            "text_usd": _usd(text_usd),
            "output_usd": _usd(output_usd),
            "request_usd": _usd(request_usd),
            "usd_per_image": total,
            "usd_per_1k_images": _usd(total * 1000),
            "free": free,
            "listed_image_price": listed,
            "listed_price_reading": _readings(listed, per_token, per_image, listed_tokens, capped, by_listing),
            "prompt_usd_per_mtok": models["prompt_usd_per_mtok"].to_numpy(),
            "completion_usd_per_mtok": models["completion_usd_per_mtok"].to_numpy(),
            "context_length": models["context_length"].array,
            "rule_source": source,
        }
    )
    table = table.astype({"id": "str", "name": "str", "provider": "str", "family": "str", "method": "str"})
    table = apply_measurements(table, width, height, measured, prefer_measured=prefer_measured, trials_path=trials_path)
    max_output = _limit(models, "max_completion_tokens")
    fits, does_not_fit = request_fits(table["image_tokens"], table["context_length"], max_output, prompt_tokens, output_tokens)
    table = table.assign(fits=fits, does_not_fit=does_not_fit, _unfit=~fits)
    ordered = table.sort_values(["_unfit", "usd_per_image", "id"], na_position="last", kind="stable", ignore_index=True)
    ordered = ordered.drop(columns="_unfit")
    ordered.attrs = {
        "width": width,
        "height": height,
        "prompt_tokens": prompt_tokens,
        "output_tokens": output_tokens,
        "detail": detail,
        "preset": preset,
        "left_out": left_out,
    }
    return ordered


def request_fits(
    image_tokens: pd.Series | np.ndarray,
    context_length: pd.Series | np.ndarray,
    max_output: pd.Series | np.ndarray,
    prompt_tokens: int,
    output_tokens: int,
) -> tuple[np.ndarray, pd.Series]:
    """Whether one request fits each model, and what does not where it does not.

    The request needs image tokens + ``prompt_tokens`` + ``output_tokens``
    within ``context_length``, and ``output_tokens`` within ``max_output``
    (the most a model answers). Unknown image tokens count as none; an
    unknown limit is not checked. Returns a bool array and a text column,
    ``"needs 9,100 tokens; context 8,192"`` and/or ``"answer 700 tokens; max
    output 512"`` (joined by " / "), missing where the request fits.
    """
    image = np.nan_to_num(_floats(image_tokens), nan=0.0)
    needed = image + prompt_tokens + output_tokens
    context, most = _floats(context_length), _floats(max_output)
    too_long = needed > context  # NaN (unknown) compares False
    too_much = output_tokens > most
    fits = ~(too_long | too_much)
    reasons = np.full(len(fits), None, dtype=object)
    for row in np.flatnonzero(~fits).tolist():  # the few rows that do not fit
        parts = []
        if too_long[row]:
            parts.append(f"needs {needed[row]:,.0f} tokens; context {context[row]:,.0f}")
        if too_much[row]:
            parts.append(f"answer {output_tokens:,} tokens; max output {most[row]:,.0f}")
        reasons[row] = " / ".join(parts)
    return fits, pd.Series(optional_text(reasons.tolist()), copy=False)


#: What ends the id of a ``:free`` variant: the free, rate-limited listing of a model (``google/gemma-3-27b-it:free``).
FREE_SUFFIX = ":free"


def is_free_variant(ids: Iterable[str]) -> np.ndarray:
    """Which ids are ``:free`` variants (they end with ``:free``)."""
    return np.array([isinstance(i, str) and i.endswith(FREE_SUFFIX) for i in ids], dtype=bool)


def rank_costs(costs: pd.DataFrame, *, include_free: bool = False, include_unfit: bool = False) -> pd.DataFrame:
    """The rows of a :func:`cost_per_image` table that a ranking ranks, in the table's order (cheapest first).

    Left out by default, and named in ``.attrs["ranking_left_out"]``
    (``{"free_variants": [...], "does_not_fit": [...]}``):

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

    A table without ``fits`` (made by hand) has every row fit. A bad flag is a
    ``ValueError`` naming it.
    """
    for name, value in (("include_free", include_free), ("include_unfit", include_unfit)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"bad {name} {value!r}: expected True or False")
    ids = costs["id"].to_numpy(dtype=object)
    none = np.zeros(len(costs), dtype=bool)
    unfit = ~costs["fits"].to_numpy(dtype=bool, na_value=False) if "fits" in costs else none
    drop_unfit = none if include_unfit else unfit
    drop_variants = none if include_free else is_free_variant(ids.tolist()) & ~drop_unfit  # each row named once
    ranked = costs[~(drop_unfit | drop_variants)].reset_index(drop=True)
    left_out = {"free_variants": ids[drop_variants].tolist(), "does_not_fit": ids[drop_unfit].tolist()}
    ranked.attrs = {**costs.attrs, "ranking_left_out": left_out}
    return ranked


def ranking_note(ranked: pd.DataFrame) -> str:
    """One sentence on what :func:`rank_costs` left out of a ranking; "" when nothing."""
    left_out = ranked.attrs.get("ranking_left_out") or {}
    parts = []
    variants, unfit = left_out.get("free_variants") or [], left_out.get("does_not_fit") or []
    if variants:
        parts.append(f"{len(variants)} :free variant{'s' if len(variants) != 1 else ''} (include_free=True shows them)")
    if unfit:
        parts.append(f"{len(unfit)} model{'s' if len(unfit) != 1 else ''} the request does not fit (context or maximum output)")
    return "left out: " + "; ".join(parts) if parts else ""


#: Columns of :func:`cost_by_provider`: the endpoint, its cost (as in ``COST_COLUMNS``), the model's spread.
PROVIDER_COST_COLUMNS = [
    "id",
    "name",
    "provider",
    "provider_name",
    "tag",
    "quantization",
    "status",
    "uptime_last_30m",
    "discount",
    *COST_COLUMNS[3:],
    "catalog_usd_per_image",
    "vs_cheapest_pct",
    "providers_priced",
    "cheapest_provider",
    "dearest_provider",
    "min_usd_per_image",
    "max_usd_per_image",
    "spread_usd_per_image",
    "spread_pct",
]


def cost_by_provider(
    models: pd.DataFrame,
    endpoints: pd.DataFrame | None = None,
    width: int | None = None,
    height: int | None = None,
    *,
    prompt_tokens: int = 0,
    output_tokens: int = 0,
    detail: str = "high",
    preset: str | None = None,
) -> pd.DataFrame:
    """One row per (model, provider endpoint): one image's cost at that endpoint's prices, and each model's spread.

    Each endpoint is priced as :func:`cost_per_image` prices a model, with the
    endpoint's prompt, completion, image and request prices after its
    ``discount`` (price x (1 - discount)), its image price read against its
    prompt price as for the catalog, and its own context length. Per model:
    ``cheapest_provider`` / ``dearest_provider`` and ``min_`` / ``max_`` /
    ``spread_usd_per_image`` (max - min) and ``spread_pct`` (max / min - 1, in
    percent) over the endpoints that are priced and not down (``status`` 0 or
    unlisted; negative is degraded or down); ``vs_cheapest_pct`` is a row's
    premium over that minimum; ``catalog_usd_per_image`` is the model's cost at
    the catalog's headline prices. Sorted by the model's cheapest endpoint,
    then id, then cost (endpoints that are down last). ``endpoints``: a
    :func:`vision_models.fetch_endpoints` frame; when None it is fetched for
    every model of ``models`` (one request each: filter first). Models without
    endpoints have no rows (``attrs["errors"]`` says why, when a fetch failed).
    """
    width, height = resolve_size(width, height, preset)
    options = dict(
        prompt_tokens=_token_count("prompt_tokens", prompt_tokens),
        output_tokens=_token_count("output_tokens", output_tokens),
        detail=check_detail(detail),
    )
    if endpoints is None:
        from ..catalog.endpoints import fetch_endpoints

        endpoints = fetch_endpoints(models["id"].tolist(), models=models) if len(models) else None
    catalog = cost_per_image(models, width, height, measured=False, **options).drop_duplicates("id").set_index("id")
    if endpoints is None or endpoints.empty:
        endpoints = _no_endpoints(endpoints)
    listed = endpoints[endpoints["id"].isin(catalog.index).to_numpy()].reset_index(drop=True)
    priced = _endpoint_costs(listed, models, width, height, options)
    table = pd.DataFrame(
        {
            **{c: listed[c].to_numpy() for c in ("id", "provider", "provider_name", "tag", "quantization")},
            "name": priced["name"].to_numpy(),
            "status": listed["status"].array,
            "uptime_last_30m": listed["uptime_last_30m"].to_numpy(dtype="float64"),
            "discount": listed["discount"].to_numpy(dtype="float64"),
            **{c: priced[c] for c in COST_COLUMNS[3:]},
            "catalog_usd_per_image": catalog["usd_per_image"].reindex(listed["id"]).to_numpy(dtype="float64"),
        }
    )
    table = _with_spread(table.astype({c: "str" for c in ("id", "name", "provider", "provider_name", "tag", "quantization")}))
    table.attrs = {"width": width, "height": height, **options, "preset": preset, "errors": endpoints.attrs.get("errors", {})}
    return table


def _endpoint_costs(listed: pd.DataFrame, models: pd.DataFrame, width: int, height: int, options: dict) -> pd.DataFrame:
    """:func:`cost_per_image` of every endpoint, row for row with ``listed``.

    Endpoints are priced in rounds holding at most one endpoint per model, so
    each round's rows are found again by id. A model keeps its catalog name
    (the family rule may read it) and, where the endpoint lists none, its
    context; whether the request fits is read from the endpoint's own limits.
    """
    keep = 1 - listed["discount"].fillna(0).to_numpy(dtype="float64")
    catalog = models.drop_duplicates("id").set_index("id").reindex(listed["id"])
    names = catalog["name"].to_numpy(dtype=object, na_value=None)
    own, inherited = listed["context_length"].array, catalog["context_length"].array
    pseudo = pd.DataFrame(
        {
            "id": listed["id"].to_numpy(),
            "name": np.where(pd.isna(names), listed["name"].to_numpy(dtype=object), names),
            "provider": listed["provider"].to_numpy(),
            **{c: listed[c].to_numpy(dtype="float64") * keep for c in _ENDPOINT_PRICES},
            "context_length": pd.array(np.where(own.isna(), inherited, own), dtype="Int64"),
            "max_completion_tokens": listed["max_completion_tokens"].array,  # the endpoint's own limit
        }
    ).astype({"name": "str"})
    rounds = listed.groupby("id", sort=False).cumcount().to_numpy()
    pieces = []
    for n in range(int(rounds.max()) + 1 if len(rounds) else 0):
        rows = np.flatnonzero(rounds == n)
        costs = cost_per_image(pseudo.iloc[rows].reset_index(drop=True), width, height, measured=False, **options)
        pieces.append(costs.set_index("id").reindex(pseudo["id"].to_numpy()[rows]).reset_index().set_axis(rows))
    if not pieces:
        return cost_per_image(pseudo, width, height, measured=False, **options)
    return pd.concat(pieces).sort_index()


_ENDPOINT_PRICES = ("prompt_usd_per_mtok", "completion_usd_per_mtok", "image_price", "request_usd")


def _with_spread(table: pd.DataFrame) -> pd.DataFrame:
    """Add each model's cheapest and dearest usable endpoint, the spread, and each row's premium; sort."""
    status = table["status"].to_numpy(dtype="float64", na_value=np.nan)
    cost = table["usd_per_image"].to_numpy(dtype="float64")
    usable = ~np.isnan(cost) & ~(status < 0)
    candidates = table.loc[usable, ["id", "provider_name", "usd_per_image"]]
    ordered = candidates.assign(_key=candidates["provider_name"].str.lower()).sort_values(
        ["id", "usd_per_image", "_key"], kind="stable"
    )
    by_model = ordered.groupby("id", sort=False)
    spread = pd.DataFrame(
        {
            "providers_priced": by_model.size(),
            "cheapest_provider": by_model["provider_name"].first(),
            "dearest_provider": by_model["provider_name"].last(),
            "min_usd_per_image": by_model["usd_per_image"].min(),
            "max_usd_per_image": by_model["usd_per_image"].max(),
        }
    )
    low, high = spread["min_usd_per_image"].to_numpy(), spread["max_usd_per_image"].to_numpy()
    spread["spread_usd_per_image"] = _usd(high - low)
    spread["spread_pct"] = _pct_over(high, low)
    joined = spread.reindex(table["id"].to_numpy())
    table = table.assign(
        vs_cheapest_pct=_pct_over(cost, joined["min_usd_per_image"].to_numpy(dtype="float64")),
        providers_priced=joined["providers_priced"].fillna(0).to_numpy(dtype="int64"),
        cheapest_provider=joined["cheapest_provider"].fillna("").to_numpy(dtype=object),
        dearest_provider=joined["dearest_provider"].fillna("").to_numpy(dtype=object),
        **{c: joined[c].to_numpy(dtype="float64") for c in ("min_usd_per_image", "max_usd_per_image")},
        spread_usd_per_image=joined["spread_usd_per_image"].to_numpy(dtype="float64"),
        spread_pct=joined["spread_pct"].to_numpy(dtype="float64"),
    ).astype({"cheapest_provider": "str", "dearest_provider": "str"})
    order = table.assign(_down=~usable, _key=table["provider_name"].str.lower())
    keys = ["min_usd_per_image", "id", "_down", "usd_per_image", "_key"]
    order = order.sort_values(keys, na_position="last", kind="stable")
    return table.loc[order.index, PROVIDER_COST_COLUMNS].reset_index(drop=True)


def _pct_over(values: np.ndarray, base: np.ndarray) -> np.ndarray:
    """How much ``values`` exceed ``base``, in percent; NaN over a base of 0 or unknown."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(base > 0, np.round((values / base - 1) * 100, 6), np.nan)


def _no_endpoints(endpoints: pd.DataFrame | None) -> pd.DataFrame:
    """An empty endpoints frame with the columns the pricing reads (and the fetch's errors, if any)."""
    from ..catalog.endpoints import endpoints_frame

    empty = endpoints_frame([])
    empty.attrs = dict(endpoints.attrs) if endpoints is not None else {}
    return empty


#: A measurement prices an image when its pixel area is within this fraction of the image's.
COMPARABLE_AREA = 0.25
MEASURED_METHOD = "measured"


def apply_measurements(
    table: pd.DataFrame,
    width: int,
    height: int,
    measured: pd.DataFrame | bool | None,
    *,
    prefer_measured: bool = False,
    trials_path: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Trial measurements next to the estimates: what the bills said an image of this size costs.

    A measurement is comparable when its pixel area is within 25 % of
    ``width x height`` (the closest one is used; token counts follow area for
    most families). ``measured_image_tokens`` is its median measured tokens and
    ``estimate_ratio`` its estimate / measured at the size that was sent (above 1:
    the rule counts too many); both NaN where there is none. With
    ``prefer_measured``, those rows are priced from the measurement:
    ``method="measured"``, not uncertain. No measurements: the table unchanged.
    ``measured`` None reads them from the trials store at ``trials_path``; False: none.
    """
    if measured is None:
        measured = stored_measurements(trials_path)
    elif measured is False:
        measured = None
    elif not isinstance(measured, pd.DataFrame):
        raise ValueError(f"bad measured {measured!r}: expected a measured_image_tokens() frame, None or False")
    if measured is None or measured.empty:
        return table
    area = width * height
    near = measured[(measured["pixels"] - area).abs() <= COMPARABLE_AREA * area]
    best = near.assign(_gap=(near["pixels"] - area).abs()).sort_values(["_gap", "pages"], ascending=[True, False])
    best = best.drop_duplicates("model").set_index("model")
    tokens = table["id"].map(best["measured_image_tokens"]).to_numpy(dtype="float64", na_value=np.nan)
    table = table.assign(
        measured_image_tokens=tokens, estimate_ratio=table["id"].map(best["estimate_ratio"]).to_numpy(dtype="float64", na_value=np.nan)
    )
    use = ~np.isnan(tokens) if prefer_measured else np.zeros(len(table), dtype=bool)
    if use.any():
        prompt = _per_token(table["prompt_usd_per_mtok"])
        image_usd = np.where(use, _usd(tokens * prompt), table["image_usd"].to_numpy(dtype="float64"))
        total = _usd(image_usd + table["text_usd"].to_numpy() + table["output_usd"].to_numpy() + table["request_usd"].to_numpy())
        counted = table["image_tokens"].to_numpy(dtype="float64", na_value=np.nan)
        table = table.assign(
            image_tokens=pd.array(np.where(use, np.round(tokens), np.where(np.isnan(counted), None, counted)), dtype="Int64"),
            method=np.where(use, MEASURED_METHOD, table["method"].to_numpy(dtype=object)),
            uncertain=np.where(use, False, table["uncertain"].to_numpy(dtype=bool)),
            image_usd=image_usd,
            usd_per_image=total,
            usd_per_1k_images=_usd(total * 1000),
        ).astype({"method": "str"})
    return table


def stored_measurements(trials_path: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """The measurements in the trials store; None when there is none, or it cannot be read.

    A cost table never needs the store, so a store that cannot be read (a
    directory, another file, a newer schema) is one warning, not an error.
    """
    from ..stores.trials import get_trials_path, measurements

    path = get_trials_path(trials_path)
    if not path.exists():
        return None
    try:
        return measurements(path)
    except (ValueError, OSError, sqlite3.Error) as exc:
        warnings.warn(f"cost table without trial measurements: {exc}", stacklevel=2)
        return None


def get_generates_media(models: pd.DataFrame) -> pd.Series:
    """Whether each model's output modalities list anything besides text (audio, images...).

    Such a model is billed for what it makes (a clip, a picture), which its
    token prices do not describe; an empty list is read as text.
    """
    if "output_modalities" not in models:  # a hand-made frame: nothing says it makes more than text
        return pd.Series(False, index=models.index, name="generates_media")
    outputs = models["output_modalities"].tolist()
    flags = np.fromiter((any(o != "text" for o in out) for out in outputs), dtype=bool, count=len(outputs))
    return pd.Series(flags, index=models.index, name="generates_media")


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


def get_image_usd_per_1k(models: pd.DataFrame, width: int = REFERENCE_IMAGE[0], height: int = REFERENCE_IMAGE[1]) -> np.ndarray:
    """USD per 1,000 images as each model's catalog listing prices them; NaN where it does not.

    A per-image ``pricing.image`` times 1,000; a per-image-token one (equal to
    the prompt price, Gemini in 2026) or a listed ``pricing.image_token``,
    times the family's tokens for a ``width`` x ``height`` image (1024x1024 by
    default), times 1,000. No listing, a listed ``"0"`` (images are then billed
    as prompt tokens, not free), or a per-token rate on a family no rule knows:
    NaN.
    """
    width, height = check_size(width, height)
    listed, _, per_token, per_image = _read_listing(models)
    token_rate = np.where(per_token, listed, np.nan)
    if "image_token_usd_per_mtok" in models:
        image_token = _per_token(models["image_token_usd_per_mtok"])
        listed_rate = ~per_image & ~per_token & (image_token > 0)
        token_rate = np.where(listed_rate, image_token, token_rate)
    per_1k = np.where(per_image, listed * 1000, np.nan)
    wanted = np.flatnonzero(~np.isnan(token_rate))
    if len(wanted):
        ids, names = models["id"].to_numpy(dtype=object), models["name"].to_numpy(dtype=object)
        rules = [get_family(ids[i], names[i]) for i in wanted.tolist()]
        tokens = np.array([np.nan if r is FALLBACK else image_tokens(r, width, height) for r in rules], dtype="float64")
        per_1k[wanted] = token_rate[wanted] * tokens * 1000
    return _usd(per_1k)


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
    costs = cost_per_image(
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
    known = models["id"].tolist()
    present = set(known)
    for model_id in wanted:
        if model_id not in present:
            close = difflib.get_close_matches(str(model_id), known, n=3, cutoff=0.5)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            raise ValueError(f"unknown model id {model_id!r}{hint}")
    return list(dict.fromkeys(wanted))


def cost_coverage(costs: pd.DataFrame) -> float:
    """Share of models priced by a family rule or a listed price, not the fallback (routers are not models)."""
    models = costs[costs["method"] != ROUTER_METHOD]
    if models.empty:
        return float("nan")
    return float((models["method"] != FALLBACK.method).mean())


def resolve_size(width: object, height: object, preset: str | None = None) -> tuple[int, int]:
    """(width, height) from explicit pixels or a preset; a ``ValueError`` naming anything wrong."""
    if preset is not None:
        preset_size = get_preset(preset)
        if width is None and height is None:
            return preset_size
        if (width, height) != preset_size:
            raise ValueError(f"preset {preset!r} is {preset_size[0]}x{preset_size[1]}; do not also give {width}x{height}")
    if width is None or height is None:
        raise ValueError("give the image size: width and height in pixels, or a preset such as 'letter-200dpi'")
    return check_size(width, height)


def _token_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"bad {name} {value!r}: expected a whole number of tokens >= 0")
    return int(value)


def _read_listing(models: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``pricing.image`` read against the prompt price: (listed, ratio, per_token, per_image).

    Only a price above zero is a listing; within ``_PER_TOKEN_BAND`` of the
    prompt price it is a rate per image token, otherwise a price per image.
    """
    listed = models["image_price"].to_numpy(dtype="float64", na_value=np.nan)
    prompt = _per_token(models["prompt_usd_per_mtok"])
    ratio = np.divide(listed, prompt, out=np.full(len(listed), np.nan), where=prompt > 0)
    per_token = (listed > 0) & (ratio >= _PER_TOKEN_BAND[0]) & (ratio <= _PER_TOKEN_BAND[1])
    per_image = (listed > 0) & ~per_token
    return listed, ratio, per_token, per_image


def _image_token_price(models: pd.DataFrame, prompt: np.ndarray) -> np.ndarray:
    """USD per image token: a listed ``pricing.image_token`` above zero, else the prompt price."""
    if "image_token_usd_per_mtok" not in models:
        return prompt
    image_token = _per_token(models["image_token_usd_per_mtok"])
    return np.where(image_token > 0, image_token, prompt)


def _discount_factor(models: pd.DataFrame) -> np.ndarray:
    """1 - ``discount`` where one is listed (a fraction from 0 to 1), else 1."""
    if "discount" not in models:
        return np.ones(len(models))
    discount = models["discount"].to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isnan(discount), 1.0, 1.0 - discount)


def _flag(models: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean column of the frame, all False when a hand-made frame lacks it."""
    if column not in models:
        return np.zeros(len(models), dtype=bool)
    return models[column].to_numpy(dtype=bool, na_value=False)


def _free(models: pd.DataFrame, prompt: np.ndarray, completion: np.ndarray, request: np.ndarray) -> np.ndarray:
    """The frame's ``free`` (every listed price zero); for a frame without it, the prices it has."""
    if "free" in models:
        return _flag(models, "free")
    listed_image = models["image_price"].to_numpy(dtype="float64", na_value=np.nan)
    return (prompt == 0) & (completion == 0) & (request == 0) & ~(listed_image > 0)


def _limit(models: pd.DataFrame, column: str) -> np.ndarray:
    """A token limit of each model as floats, NaN where unlisted (or the frame lacks the column)."""
    if column not in models:
        return np.full(len(models), np.nan)
    return _floats(models[column])


def _floats(values: pd.Series | np.ndarray) -> np.ndarray:
    """Numbers (nullable or not) as float64, missing as NaN."""
    return pd.Series(values, copy=False).to_numpy(dtype="float64", na_value=np.nan)


def _per_token(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype="float64", na_value=np.nan) / 1_000_000


def _times(count: int, price: np.ndarray) -> np.ndarray:
    """``count * price``, where no tokens cost nothing even at an unknown price."""
    return np.zeros_like(price) if count == 0 else count * price


def _usd(values: np.ndarray) -> np.ndarray:
    return np.round(values, _USD_DECIMALS)


def _readings(
    listed: np.ndarray,
    per_token: np.ndarray,
    per_image: np.ndarray,
    listed_tokens: np.ndarray,
    capped: np.ndarray,
    by_listing: np.ndarray,
) -> list[str]:
    """How each listed ``pricing.image`` was read, in words."""
    readings = np.full(len(listed), "not listed", dtype=object)
    readings[listed == 0] = "listed as 0: not a price; images billed as prompt tokens"
    readings[per_token] = "per image token (equals the prompt price)"
    tokens_text = np.array([f"{t:,.0f}" if t == t else "?" for t in listed_tokens.tolist()], dtype=object)
    per_image_text = "per image: " + tokens_text + " tokens at the prompt price"
    readings[per_image] = (per_image_text + "; a ceiling above the family estimate")[per_image]
    readings[capped] = (per_image_text + "; a ceiling below the family estimate: capped")[capped]
    readings[by_listing] = (per_image_text + "; used: no family rule")[by_listing]
    return readings.tolist()

