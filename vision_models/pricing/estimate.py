"""The cost table of one image on each model: tokens by family rule, capped by a per-image listing, priced.

:func:`image_costs` is :func:`vision_models.pricing.cost.price_images` without ``by_provider`` (which prices
each provider's endpoints, :mod:`.providers`); the sizes, presets and the fit of a request live here too.
Pure: no store, network, environment or file; measurements are an argument.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from ..catalog.feasibility import request_fits
from ..catalog.frame import optional_text
from ..catalog.kinds import kind_of
from .bill import Request, bill_parts
from .image_tokens import FALLBACK, check_detail, check_size, image_tokens
from .listing import (
    _discount_factor,
    _flag,
    _free,
    _image_token_price,
    _limit,
    _per_token,
    _read_listing,
    _times,
    _usd,
    get_family,
)
from .measured import apply_measurements
from .reasoning import DEFAULT_EFFORT, check_priced_effort, check_reasoning_tokens

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
    "output_tokens",
    "reasoning_tokens",
    "reasoning_usd",
    "reasoning_source",
    "request_usd",
    "web_search_usd",
    "usd_per_image",
    "usd_per_1k_images",
    "image_tokens_low",
    "image_tokens_high",
    "usd_per_image_low",
    "usd_per_image_high",
    "range_sources",
    "cache_saving_usd_per_1k_images",
    "free",
    "listed_image_price",
    "listed_price_reading",
    "prompt_usd_per_mtok",
    "completion_usd_per_mtok",
    "context_length",
    "rule_source",
    "fits",
    "does_not_fit",
    "kind",
    "variant_of",
]

LISTED_METHOD = "listed-image-price"
#: A column of a frame being priced holding, per row, a host's own rule (or None): used by cost_by_provider.
HOST_RULE_COLUMN = "_host_rule"
ROUTER_METHOD = "router"
ROUTER_SOURCE = "a router: each request goes to another model, whose price applies"


def get_preset(name: str) -> tuple[int, int]:
    """(width, height) of a named preset; an unknown name is a ``ValueError`` with close matches."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), PRESETS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(PRESETS)}"
        raise ValueError(f"unknown preset {name!r}{hint}") from None


def image_costs(
    models: pd.DataFrame,
    width: int | None = None,
    height: int | None = None,
    *,
    prompt_tokens: int = 0,
    output_tokens: int = 0,
    detail: str = "high",
    preset: str | None = None,
    include_generators: bool = False,
    measured: pd.DataFrame | bool | None = None,
    prefer_measured: bool = False,
    reasoning_effort: str = DEFAULT_EFFORT,
    reasoning_tokens: int | None = None,
    cached_instruction: bool = False,
) -> pd.DataFrame:
    """One row per model: the image's tokens and the USD cost of one call, cheapest first (see :func:`price_images`).

    Long because it is one column computation in the order of the bill (image, text, answer, fees, discount),
    each step a whole-column operation that reads best beside the others.
    """
    width, height = resolve_size(width, height, preset)
    prompt_tokens = _token_count("prompt_tokens", prompt_tokens)
    output_tokens = _token_count("output_tokens", output_tokens)
    detail = check_detail(detail)
    request = Request(
        width, height, detail, prompt_tokens, output_tokens, check_priced_effort(reasoning_effort),
        check_reasoning_tokens(reasoning_tokens),
    )  # fmt: skip
    for name, flag in (("include_generators", include_generators), ("cached_instruction", cached_instruction)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"bad {name} {flag!r}: expected True or False")
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
    if HOST_RULE_COLUMN in models:  # an endpoint whose host documents its own rule (see .hosts)
        rules = [own if own is not None else rule for own, rule in zip(models[HOST_RULE_COLUMN].tolist(), rules)]
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
    fee = models["request_usd"].to_numpy(dtype="float64", na_value=np.nan)
    request_usd = np.where(np.isnan(fee), 0.0, fee)  # a fee is listed only where there is one
    parts = bill_parts(
        models, tokens, ~use_listed, _image_token_price(models, prompt), request,
        measured if isinstance(measured, pd.DataFrame) else None,
    )  # fmt: skip
    # A listed discount takes its fraction off every price (OpenRouter: price x (1 - discount)).
    keep = _discount_factor(models)
    money = {
        "image_usd": image_usd, "text_usd": text_usd, "output_usd": parts["output_usd"],
        "reasoning_usd": parts["reasoning_usd"], "request_usd": request_usd, "web_search_usd": parts["web_search_usd"],
        "cache_saving_usd": parts["cache_saving_usd"], "low_delta": parts["image_usd_low_delta"],
        "high_delta": parts["image_usd_high_delta"],
    }  # fmt: skip
    # A router is not a model: its price is the price of whichever model it picks.
    money = {name: np.where(router, np.nan, column * keep) for name, column in money.items()}
    tokens, low, high = (
        np.where(router, np.nan, c) for c in (tokens, parts["image_tokens_low"], parts["image_tokens_high"])
    )
    saved = np.nan_to_num(money["cache_saving_usd"]) if cached_instruction else 0.0
    total = _usd(
        money["image_usd"] + money["text_usd"] + money["output_usd"] + money["reasoning_usd"] + money["request_usd"]
        + money["web_search_usd"] - saved
    )  # fmt: skip

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
            "image_tokens": _whole(tokens),
            "method": method,
            "uncertain": uncertain,
            "image_usd": _usd(money["image_usd"]),
            "text_usd": _usd(money["text_usd"]),
            "output_usd": _usd(money["output_usd"]),
            "output_tokens": parts["output_tokens"],
            "reasoning_tokens": np.where(router, np.nan, parts["reasoning_tokens"]),
            "reasoning_usd": _usd(money["reasoning_usd"]),
            "reasoning_source": np.where(router, "", parts["reasoning_source"]).astype(object),
            "request_usd": _usd(money["request_usd"]),
            "web_search_usd": _usd(money["web_search_usd"]),
            "usd_per_image": total,
            "usd_per_1k_images": _usd(total * 1000),
            "image_tokens_low": _whole(low),
            "image_tokens_high": _whole(high),
            "usd_per_image_low": _usd(total + money["low_delta"]),
            "usd_per_image_high": _usd(total + money["high_delta"]),
            "range_sources": parts["range_sources"],
            "cache_saving_usd_per_1k_images": _usd(money["cache_saving_usd"] * 1000),
            "free": free,
            "listed_image_price": listed,
            "listed_price_reading": _readings(listed, per_token, per_image, listed_tokens, capped, by_listing),
            "prompt_usd_per_mtok": models["prompt_usd_per_mtok"].to_numpy(),
            "completion_usd_per_mtok": models["completion_usd_per_mtok"].to_numpy(),
            "context_length": models["context_length"].array,
            "rule_source": source,
        }
    )
    table = table.astype(
        {c: "str" for c in ("id", "name", "provider", "family", "method", "reasoning_source", "range_sources")}
    )
    table = apply_measurements(table, width, height, measured, prefer_measured=prefer_measured)
    max_output = _limit(models, "max_completion_tokens")
    # the reasoning allowance counts as output (catalog.feasibility): a model must have room for it
    reasoning = np.nan_to_num(table["reasoning_tokens"].to_numpy(dtype="float64", na_value=np.nan), nan=0.0)
    fits, does_not_fit = request_fits(
        table["image_tokens"], table["context_length"], max_output, prompt_tokens, output_tokens, reasoning
    )
    kind, variant_of = kind_of(models)  # what the model is for (catalog.kinds): rankings keep page readers
    table = table.assign(
        fits=fits,
        does_not_fit=does_not_fit,
        kind=pd.array(kind.tolist(), dtype="str"),
        variant_of=optional_text(variant_of.tolist()),
        _unfit=~fits,
    )
    ordered = table.sort_values(["_unfit", "usd_per_image", "id"], na_position="last", kind="stable", ignore_index=True)
    ordered = ordered.drop(columns="_unfit")
    ordered.attrs = {
        "width": width,
        "height": height,
        "prompt_tokens": prompt_tokens,
        "output_tokens": output_tokens,
        "reasoning_effort": request.reasoning_effort,
        "reasoning_tokens": request.reasoning_tokens,
        "cached_instruction": bool(cached_instruction),
        "detail": detail,
        "preset": preset,
        "left_out": left_out,
    }
    return ordered


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


def resolve_size(width: object, height: object, preset: str | None = None) -> tuple[int, int]:
    """(width, height) from explicit pixels or a preset; a ``ValueError`` naming anything wrong."""
    if preset is not None:
        preset_size = get_preset(preset)
        if width is None and height is None:
            return preset_size
        if (width, height) != preset_size:
            raise ValueError(
                f"preset {preset!r} is {preset_size[0]}x{preset_size[1]}; do not also give {width}x{height}"
            )
    if width is None or height is None:
        raise ValueError("give the image size: width and height in pixels, or a preset such as 'letter-200dpi'")
    return check_size(width, height)


def _whole(tokens: np.ndarray) -> pd.arrays.IntegerArray:
    """Token counts as nullable integers, NaN as missing."""
    # numpy's stubs refuse None as np.where's value; an object array of None and numbers is meant
    return pd.array(np.where(np.isnan(tokens), None, tokens), dtype="Int64")  # type: ignore[call-overload]


def _token_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"bad {name} {value!r}: expected a whole number of tokens >= 0")
    return int(value)


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
