"""How many prompt tokens one input image costs, by model family.

Most vision models on OpenRouter bill an image as prompt tokens: the provider
turns the image into tokens, and those are priced at ``pricing.prompt``. This
module holds the published rules (the design note ``shared/design/image-cost.md``
and the sources named per rule) as a table of :class:`FamilyRule` entries, and one
small pure function per rule ``method``:

>>> rule = find_family("openai/gpt-4o")
>>> image_tokens(rule, 1700, 2200)
765

``find_family`` picks the first rule whose ``pattern`` matches the normalised
model id (specific rules before general ones), else :data:`FALLBACK`.
``image_tokens`` dispatches on ``rule.method`` through :data:`METHODS`, so a new
family is one table entry. Every method uses integer or exact rational
arithmetic (``fractions.Fraction``, ``math.isqrt``): no float overflow, no loop
whose length grows with the image, and every family caps an enormous image.
Where a rule scales an image it keeps the exact scaled size instead of rounding
to whole pixels, unless the source rounds (Mistral, Kimi, Gemma 4, Qwen).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

__all__ = [
    "DETAILS",
    "FALLBACK",
    "FAMILY_RULES",
    "METHODS",
    "FamilyRule",
    "check_detail",
    "check_size",
    "find_family",
    "image_tokens",
    "normalise_model_id",
]

#: The ``detail`` values a caller may ask for; only some families use it.
DETAILS = ("high", "low")


@dataclass(frozen=True)
class FamilyRule:
    """One family's image-token rule: which models it matches and its constants."""

    family: str  # short label, e.g. "gpt-4o", "claude-standard"
    method: str  # key of METHODS: the function that counts the tokens
    pattern: str  # regex searched in the normalised model id
    params: Mapping[str, Any] = field(hash=False)  # keyword arguments of the method
    uncertain: bool  # disputed, second-hand, or extrapolated to a model the note does not name
    source: str  # one line: where the rule comes from


# --- exact integer helpers -------------------------------------------------------------------


def _ceil_div(a: int, b: int) -> int:
    """``ceil(a / b)`` for integers, ``b > 0``."""
    return -(-a // b)


def _ceil(x: Fraction) -> int:
    return _ceil_div(x.numerator, x.denominator)


def _round_half_even(num: int, den: int) -> int:
    """``round(num / den)`` as Python rounds (ties to even), exactly."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2):
        q += 1
    return q


def _round_half_up(x: Fraction) -> int:
    """``x`` rounded to the nearest integer, ties up (prices are positive)."""
    return math.floor(x + Fraction(1, 2))


def _floor_sqrt(num: int, den: int) -> int:
    """``floor(sqrt(num / den))`` exactly: ``floor(sqrt(q)) == isqrt(floor(q))``."""
    return math.isqrt(num // den)


def _ceil_sqrt(num: int, den: int) -> int:
    """``ceil(sqrt(num / den))`` exactly: the least ``k`` with ``k*k >= ceil(num / den)``."""
    m = _ceil_div(num, den)
    return 0 if m <= 0 else math.isqrt(m - 1) + 1


def _fit_box(width: int, height: int, max_side: int | None) -> Fraction:
    """Scale (never above 1) that makes the long side at most ``max_side``."""
    long_side = max(width, height)
    if max_side is None or long_side <= max_side:
        return Fraction(1)
    return Fraction(max_side, long_side)


def _grid(width: int, height: int, scale: Fraction, patch: int) -> int:
    """Patches of ``patch`` px covering the image scaled by ``scale``."""
    return _ceil(width * scale / patch) * _ceil(height * scale / patch)


def _largest_count(budget: int, cost: Callable[[int], int]) -> int:
    """Largest ``n`` in ``[0, budget]`` with ``cost(n) <= budget`` (``cost`` increasing): binary search."""
    lo, hi = 0, budget
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if cost(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _largest_scale(width: int, height: int, patch: int, budget: int) -> Fraction:
    """Largest scale whose patch grid holds at most ``budget`` patches.

    The grid count only jumps where a side lands on a whole number of patches,
    so the answer is ``patch*c/width`` for the most columns ``c`` that fit, or
    ``patch*r/height`` for the most rows ``r`` that fit, whichever is larger.
    """
    cols = _largest_count(budget, lambda c: c * _ceil_div(c * height, width))
    rows = _largest_count(budget, lambda r: r * _ceil_div(r * width, height))
    return max(Fraction(patch * cols, width), Fraction(patch * rows, height))


# --- one function per method: (width, height, detail, **params) -> tokens ----------------------


def openai_tiles(width: int, height: int, detail: str, *, base: int, tile: int) -> int:
    """OpenAI tile method: fit 2048x2048, short side to 768 (never enlarge), 512 px tiles.

    ``detail="low"`` costs ``base`` only.
    """
    if detail == "low":
        return base
    scale = _fit_box(width, height, 2048)
    short_side = min(width, height) * scale
    if short_side > 768:
        scale *= Fraction(768) / short_side
    return base + tile * _grid(width, height, scale, 512)


def openai_patches(
    width: int,
    height: int,
    detail: str,
    *,
    multiplier: float,
    patch: int = 32,
    budget: int = 1536,
    max_side: int = 2048,
) -> int:
    """OpenAI patch method: 32 px patches, at most ``budget``, times a model multiplier.

    Over the budget, OpenAI's documented shrink ``r = sqrt(budget*32^2/(w*h))``
    is cut so one side lands on whole patches; the other side then covers
    ``ceil`` of its share. Both counts follow from the aspect ratio alone, so
    they are computed exactly, and ``multiplier`` is read as the decimal it is
    written as. A side over ``max_side`` is first shrunk into the box.
    """
    scale = _fit_box(width, height, max_side)
    patches = _grid(width, height, scale, patch)
    if patches > budget:
        cols_fit = _floor_sqrt(budget * width, height)  # floor(w*r/32)
        rows_fit = _floor_sqrt(budget * height, width)  # floor(h*r/32)
        if cols_fit * height <= rows_fit * width:  # the width is the tighter side
            patches = cols_fit * _ceil_div(cols_fit * height, width)
        else:
            patches = rows_fit * _ceil_div(rows_fit * width, height)
    return _round_half_up(Fraction(str(multiplier)) * min(budget, patches))


def patch_grid(
    width: int, height: int, detail: str, *, patch: int, max_tokens: int, max_side: int | None = None
) -> int:
    """``ceil(w/patch) * ceil(h/patch)`` after the largest aspect-kept shrink that fits.

    The shrink (never an enlargement) keeps the long side at most ``max_side``
    and the count at most ``max_tokens``. Anthropic's rule, and the fallback.
    """
    scale = _fit_box(width, height, max_side)
    if _grid(width, height, scale, patch) > max_tokens:
        scale = _largest_scale(width, height, patch, max_tokens)
    return _grid(width, height, scale, patch)


def gemini_tiles(
    width: int,
    height: int,
    detail: str,
    *,
    tile: int = 768,
    tile_tokens: int = 258,
    small_side: int = 384,
    max_side: int = 3072,
) -> int:
    """Gemini 2.x: both sides <= 384 -> 258 tokens; else 768 px tiles, 258 tokens each.

    An image larger than ``max_side`` is first scaled into that box.
    """
    if max(width, height) <= small_side:
        return tile_tokens
    scale = _fit_box(width, height, max_side)
    return tile_tokens * _grid(width, height, scale, tile)


def gemini_crop_units(
    width: int,
    height: int,
    detail: str,
    *,
    tile_tokens: int = 258,
    small_side: int = 384,
    min_unit: int = 256,
    max_unit: int = 768,
    max_side: int = 3072,
) -> int:
    """Gemini 1.5: crop unit ``clamp(short side / 1.5, 256, 768)``, 258 tokens a unit."""
    if max(width, height) <= small_side:
        return tile_tokens
    scale = _fit_box(width, height, max_side)
    w, h = width * scale, height * scale
    unit = min(max(min(w, h) / Fraction(3, 2), Fraction(min_unit)), Fraction(max_unit))
    return tile_tokens * _ceil(w / unit) * _ceil(h / unit)


def gemini_fixed(width: int, height: int, detail: str, *, high: int, low: int) -> int:
    """Gemini 3: a fixed budget per image by media resolution, whatever its size."""
    return low if detail == "low" else high


def fixed(width: int, height: int, detail: str, *, tokens: int) -> int:
    """A fixed count per image: the encoder always sees one resized square."""
    return tokens


def qwen_vl(width: int, height: int, detail: str, *, factor: int, min_pixels: int, max_pixels: int) -> int:
    """Qwen-VL ``smart_resize``: sides to multiples of ``factor``, area within the limits.

    Rounds each side to the nearest multiple (ties to even, as Python's
    ``round``); over ``max_pixels`` it scales down (floor), under ``min_pixels``
    up (ceil). Tokens are ``(h/factor) * (w/factor)``, without wrapper tokens.
    The open processors refuse an aspect ratio over 200; here the count is
    capped at ``max_pixels / factor**2`` instead.
    """
    rows = _round_half_even(height, factor)
    cols = _round_half_even(width, factor)
    area = factor * factor
    if rows * cols * area > max_pixels:
        rows = max(1, _floor_sqrt(max_pixels * height, width * area))
        cols = max(1, _floor_sqrt(max_pixels * width, height * area))
    elif rows * cols * area < min_pixels:
        rows = _ceil_sqrt(min_pixels * height, width * area)
        cols = _ceil_sqrt(min_pixels * width, height * area)
    return min(rows * cols, max_pixels // area)


def mistral(width: int, height: int, detail: str, *, patch: int, merge: int, max_side: int) -> int:
    """mistral-common: long side to at most ``max_side`` (rounded), then one token per
    ``patch*merge`` px cell plus one break token per row."""
    long_side = max(width, height)
    if long_side > max_side:
        width = max(1, _round_half_even(width * max_side, long_side))
        height = max(1, _round_half_even(height * max_side, long_side))
    cell = patch * merge
    cols, rows = _ceil_div(width, cell), _ceil_div(height, cell)
    return cols * rows + rows


def llama4(
    width: int, height: int, detail: str, *, tile: int = 336, max_tiles: int = 16, tile_tokens: int = 144
) -> int:
    """Llama 4: best canvas of ``rows x cols`` 336 px tiles (at most 16), 144 tokens a tile.

    The canvas follows transformers' ``get_best_fit``: the smallest upscale if
    any canvas fits without shrinking, else the mildest shrink; ties go to the
    smaller canvas. The prompt holds start, end and global-image markers, the
    144-token global tile, and with more than one tile each tile plus one
    separator token per tile.
    """
    options = [
        (min(Fraction(tile * rows, height), Fraction(tile * cols, width)), rows * cols)
        for rows in range(1, max_tiles + 1)
        for cols in range(1, max_tiles // rows + 1)
    ]
    upscales = [option for option in options if option[0] >= 1]
    if upscales:
        scale = min(s for s, _ in upscales)
    else:
        scale = max(s for s, _ in options)
    tiles = min(n for s, n in options if s == scale)
    tiled = tiles * (tile_tokens + 1) if tiles > 1 else 0
    return 3 + tile_tokens + tiled


def grok(width: int, height: int, detail: str, *, tile: int = 448, max_tiles: int = 6, tile_tokens: int = 256) -> int:
    """xAI Grok (second-hand): ``(min(6, 448 px tiles) + 1) * 256``, at most 1792."""
    tiles = _ceil_div(width, tile) * _ceil_div(height, tile)
    return (min(max_tiles, tiles) + 1) * tile_tokens


def area_table(width: int, height: int, detail: str, *, table: tuple[tuple[int, int], ...]) -> int:
    """Linear in pixel area between rows of a published ``(area, tokens)`` table.

    Outside the table the nearest row holds (as ``numpy.interp`` does): the
    provider rescales images, and no other point is published.
    """
    area = width * height
    if area <= table[0][0]:
        return table[0][1]
    for (a0, t0), (a1, t1) in zip(table, table[1:]):
        if area <= a1:
            return _round_half_up(t0 + Fraction((t1 - t0) * (area - a0), a1 - a0))
    return table[-1][1]


def kimi_navit(
    width: int,
    height: int,
    detail: str,
    *,
    patch: int = 14,
    merge: int = 2,
    max_patches: int = 16384,
    max_side_patches: int = 512,
) -> int:
    """Kimi K2.5 MoonViT (transformers ``navit_resize``): shrink only, pad to 28 px cells.

    The scale is the least of 1, ``sqrt(max_patches / patches)`` and
    ``max_side_patches*patch / side``; sizes are floored to whole pixels, padded
    to ``patch*merge``, and each ``merge x merge`` block of patches is one token.
    """
    patches = max(1, width // patch) * max(1, height // patch)
    side_limit = max_side_patches * patch
    long_side = max(width, height)
    if max_patches < patches and max_patches * long_side**2 < patches * side_limit**2:
        new_w = _floor_sqrt(width * width * max_patches, patches)
        new_h = _floor_sqrt(height * height * max_patches, patches)
    elif long_side > side_limit:
        new_w, new_h = width * side_limit // long_side, height * side_limit // long_side
    else:
        new_w, new_h = width, height
    cell = patch * merge
    new_w = min(max(1, new_w), side_limit)
    new_h = min(max(1, new_h), side_limit)
    return _ceil_div(new_w, cell) * _ceil_div(new_h, cell)


def gemma4(width: int, height: int, detail: str, *, budget: int = 280) -> int:
    """Gemma 4 (transformers ``get_aspect_ratio_preserving_size``): a soft-token budget.

    The image is resized up or down to about ``budget * 9`` patches of 16 px,
    sides floored to multiples of 48 px (3x3 patches pooled into one token), so
    tokens are ``floor(sqrt(budget*h/w)) * floor(sqrt(budget*w/h))``; a side that
    floors to nothing becomes one cell, the other ``min(ratio, budget)`` cells.
    """
    rows = _floor_sqrt(budget * height, width)
    cols = _floor_sqrt(budget * width, height)
    if rows == 0:
        rows, cols = 1, min(width // height, budget)
    elif cols == 0:
        rows, cols = min(height // width, budget), 1
    return rows * cols


#: Every rule method and the function that counts its tokens.
METHODS: Mapping[str, Callable[..., int]] = MappingProxyType(
    {
        "openai-tiles": openai_tiles,
        "openai-patches": openai_patches,
        "anthropic": patch_grid,
        "gemini-tiles": gemini_tiles,
        "gemini-crop": gemini_crop_units,
        "gemini-fixed": gemini_fixed,
        "fixed": fixed,
        "qwen-vl": qwen_vl,
        "mistral": mistral,
        "llama4": llama4,
        "grok": grok,
        "nova": area_table,
        "kimi-navit": kimi_navit,
        "gemma4": gemma4,
        "fallback": patch_grid,
    }
)


# --- the table ---------------------------------------------------------------------------------


def _rule(family: str, method: str, pattern: str, uncertain: bool, source: str, **params: Any) -> FamilyRule:
    return FamilyRule(family, method, pattern, MappingProxyType(params), uncertain, source)


_OPENAI = "OpenAI 'Images and vision' guide, 'Calculating costs' (design note)"
_CLAUDE = "Anthropic 'Vision' guide, 'Resolution and token cost': ceil(w/28)*ceil(h/28) (design note)"
_GEMINI_2 = (
    "Gemini 2.x token guide: <=384 px 258, else 768 px tiles of 258 (design note); 3072 px box: Vertex AI image docs"
)
_QWEN2 = dict(factor=28, min_pixels=3136, max_pixels=12_845_056)
_QWEN3 = dict(factor=32, min_pixels=65_536, max_pixels=16_777_216)
_PIXTRAL = dict(patch=16, merge=1, max_side=1024)
_SMALL3 = dict(patch=14, merge=2, max_side=1540)
_GLM = dict(factor=28, min_pixels=112 * 112 // 2, max_pixels=28 * 28 * 15_000 // 2)

#: Ordered rules; the first whose pattern matches the normalised id wins.
FAMILY_RULES: tuple[FamilyRule, ...] = (
    # OpenAI: minis and nanos before their base models, dated and suffixed variants included.
    _rule("gpt-4o-mini", "openai-tiles", r"/gpt-4o-mini(?:-|$)", False, _OPENAI, base=2833, tile=5667),
    _rule("gpt-4o", "openai-tiles", r"/(?:chat)?gpt-4o(?:-|$)", False, _OPENAI, base=85, tile=170),
    _rule("gpt-4.1-mini", "openai-patches", r"/gpt-4\.1-mini(?:-|$)", False, _OPENAI, multiplier=1.62),
    _rule("gpt-4.1-nano", "openai-patches", r"/gpt-4\.1-nano(?:-|$)", False, _OPENAI, multiplier=2.46),
    _rule("gpt-4.1", "openai-tiles", r"/gpt-4\.1(?:-|$)", False, _OPENAI, base=85, tile=170),
    _rule("gpt-4.5", "openai-tiles", r"/gpt-4\.5(?:-|$)", False, _OPENAI, base=85, tile=170),
    _rule(
        "gpt-4-turbo", "openai-tiles", r"/gpt-4-(?:turbo|vision|1106|0125)", True,
        "OpenAI vision guide of the GPT-4 Turbo era (85/170); not named in the design note", base=85, tile=170,
    ),
    _rule(
        "o4-mini", "openai-patches", r"/o4-mini-deep-research", True,
        "o4-mini multiplier 1.72 (design note) extended to the deep-research variant", multiplier=1.72,
    ),
    _rule("o4-mini", "openai-patches", r"/o4-mini(?:-|$)", False, _OPENAI, multiplier=1.72),
    _rule(
        "o1-o3", "openai-tiles", r"/o3-deep-research", True,
        "o3 constants 75/150 (design note) extended to the deep-research variant", base=75, tile=150,
    ),
    _rule("o1-o3", "openai-tiles", r"/o[13](?:-pro)?(?:-\d{4}-\d\d-\d\d)?$", False, _OPENAI, base=75, tile=150),
    _rule(
        "gpt-5-mini", "openai-patches", r"/gpt-5-image-mini", True,
        "GPT-5 Mini paired with image generation: gpt-5-mini multiplier 1.62 assumed", multiplier=1.62,
    ),
    _rule("gpt-5-mini", "openai-patches", r"/gpt-5-mini(?:-|$)", False, _OPENAI, multiplier=1.62),
    _rule("gpt-5-nano", "openai-patches", r"/gpt-5-nano(?:-|$)", False, _OPENAI, multiplier=2.46),
    _rule(
        "gpt-5-mini", "openai-patches", r"/gpt-(?:5\.\d+(?:-codex)?-mini|mini-latest)(?:-|$)", True,
        "later minis (and the mini alias) not in the design note: gpt-5-mini multiplier 1.62", multiplier=1.62,
    ),
    _rule(
        "gpt-5-nano", "openai-patches", r"/gpt-5\.\d+-nano(?:-|$)", True,
        "later nanos not in the design note: gpt-5-nano multiplier 2.46", multiplier=2.46,
    ),
    _rule(
        "gpt-5", "openai-tiles", r"/gpt-5(?:\.\d+)?-image", True,
        "GPT-5.x paired with image generation: gpt-5 constants 70/140 assumed", base=70, tile=140,
    ),
    _rule(
        "gpt-5", "openai-tiles", r"/gpt-5(?:-(?:chat|pro|codex)(?:-latest)?)?(?:-\d{4}-\d\d-\d\d)?$", False,
        _OPENAI, base=70, tile=140,
    ),
    _rule(
        "gpt-5", "openai-tiles", r"/gpt-(?:5\.\d+|latest)(?:-|$)", True,
        "GPT-5.1 to 5.5 (and the gpt alias) not in the design note: gpt-5 constants 70/140", base=70, tile=140,
    ),
    # Anthropic: the high-resolution tier from Opus 4.7, the standard tier before it.
    _rule(
        "claude-hires", "anthropic", r"/claude-opus-4\.7(?:-|$)", False,
        "Anthropic 'Vision' guide: newer models 2576 px / 4784 tokens (design note); Opus 4.7",
        patch=28, max_side=2576, max_tokens=4784,
    ),
    _rule(
        "claude-hires", "anthropic",
        r"/claude-(?:(?:opus|sonnet|haiku)-(?:4\.(?:[7-9]|\d{2,})|[5-9])|opus-latest)(?:[-.]|$)", True,
        "high-resolution tier extended to later Claude models and the Opus alias (Opus 4.7 on 2026-05-01)",
        patch=28, max_side=2576, max_tokens=4784,
    ),
    _rule(
        "claude-standard", "anthropic", r"/claude-(?:3(?:\.\d)?-|(?:opus|sonnet|haiku)-4(?:\.[0-6])?(?:-|$))", False,
        _CLAUDE, patch=28, max_side=1568, max_tokens=1568,
    ),
    _rule(
        "claude-standard", "anthropic", r"/claude-(?:sonnet|haiku)-latest$", True,
        "aliases (Sonnet 4.6, Haiku 4.5 on 2026-05-01) follow the family: standard tier",
        patch=28, max_side=1568, max_tokens=1568,
    ),
    # Google.
    _rule(
        "gemini-3", "gemini-fixed", r"/gemini-3(?:\.\d+)?-(?:pro|flash)-image", True,
        "Gemini 3 media-resolution budget extended to the image-generation variants", high=1120, low=280,
    ),
    _rule(
        "gemini-3", "gemini-fixed", r"/gemini-3(?:\.\d+)?-", False,
        "Gemini 3 media_resolution: high/default 1120, low 280 (design note)", high=1120, low=280,
    ),
    _rule(
        "gemini-3", "gemini-fixed", r"/gemini-(?:flash|flash-lite|pro)-latest$", True,
        "aliases (Gemini 3 Flash / 3.1 Pro on 2026-05-01): Gemini 3 budget", high=1120, low=280,
    ),
    _rule(
        "gemini-2", "gemini-tiles", r"/gemini-2\.5-", True,
        "Gemini 2.x tile rule; the design note says Gemini 2.5 sources disagree (64/256/...)",
    ),
    _rule("gemini-2", "gemini-tiles", r"/gemini-2\.0-", False, _GEMINI_2),
    _rule(
        "gemini-1.5", "gemini-crop", r"/gemini-(?:1\.5-|(?:flash|pro)-1\.5)", False,
        "Gemini 1.5 crop unit clamp(short/1.5, 256, 768), 258 tokens each (design note)",
    ),
    _rule(
        "gemma-3", "fixed", r"/gemma-3-\d", False,
        "Gemma docs / model card: image resized to 896x896, 256 tokens (pan-and-scan off)", tokens=256,
    ),
    _rule(
        "gemma-4", "gemma4", r"/gemma-4-", True,
        "transformers Gemma4ImageProcessor, default budget 280 of 70..1120; hosts may pick another", budget=280,
    ),
    # Qwen-VL and processors built like it.
    _rule(
        "qwen-vl-hosted", "qwen-vl", r"/qwen-vl-(?:max|plus)", True,
        "Alibaba API: 28 px tokens, default cap 1280 tokens per image (design note)",
        factor=28, min_pixels=4 * 28 * 28, max_pixels=1280 * 28 * 28,
    ),
    _rule(
        "qwen3-vl", "qwen-vl", r"/qwen3-vl-", False,
        "Qwen3-VL preprocessor_config: factor 32, 65,536..16,777,216 px (design note: factor 32)", **_QWEN3,
    ),
    _rule(
        "qwen3-vl", "qwen-vl", r"/qwen3\.[5-9]", True,
        "Qwen3.5/3.6 ship the Qwen3-VL processor config; hosted flash/plus limits unknown", **_QWEN3,
    ),
    _rule(
        "qwen2.5-vl", "qwen-vl", r"/qwen-?2(?:\.5)?-vl-", False,
        "transformers qwen2_vl smart_resize, open processor limits (design note)", **_QWEN2,
    ),
    _rule(
        "qwen2.5-vl", "qwen-vl", r"/ui-tars-1\.5|arcee-ai/spotlight", True,
        "models publicly built on Qwen2.5-VL: its open processor assumed", **_QWEN2,
    ),
    _rule(
        "glm-4v", "qwen-vl", r"/glm-4(?:\.\d+)?v", False,
        "Qwen-style resize, factor 28 (design note); limits from transformers Glm4vImageProcessor", **_GLM,
    ),
    _rule(
        "glm-4v", "qwen-vl", r"/glm-[5-9](?:\.\d+)?v", True,
        "GLM-4.xV rule extended to later GLM vision models", **_GLM,
    ),
    _rule(
        "ernie-4.5-vl", "qwen-vl", r"/ernie-4\.5-vl", True,
        "transformers Ernie4_5_VLMoeImageProcessor: factor 28, 3,136..4,842,768 px",
        factor=28, min_pixels=3136, max_pixels=28 * 28 * 6177,
    ),
    _rule(
        "kimi-k2.5", "kimi-navit", r"/kimi-(?:k2\.[5-9]|latest)", True,
        "transformers Kimi_K25ImageProcessor (navit_resize); K2.6 and the alias assumed alike",
    ),
    # Mistral.
    _rule("pixtral-12b", "mistral", r"/pixtral-12b", False, "mistral-common image tokenizer (design note)", **_PIXTRAL),
    _rule(
        "pixtral-12b", "mistral", r"/pixtral-large", True,
        "no published tokenizer constants: Pixtral-12B's assumed", **_PIXTRAL,
    ),
    _rule(
        "mistral-small-3", "mistral", r"/mistral-small-3\.\d", False,
        "mistral-common image tokenizer (design note)", **_SMALL3,
    ),
    _rule(
        "mistral-small-3", "mistral",
        r"/(?:mistral-medium-3|mistral-large-2[5-9]\d\d|mistral-small-2[6-9]\d\d|ministral-\d+b-2[5-9]\d\d)", True,
        "later Mistral vision models: the closest documented tokenizer (Small 3.x) assumed", **_SMALL3,
    ),
    # Meta, xAI, Amazon.
    _rule(
        "llama-4", "llama4", r"/llama-(?:guard-)?4(?:-|$)", False,
        "transformers Llama4 processor: 336 px tiles, max 16, 144 a tile + global tile (design note)",
    ),
    _rule("grok", "grok", r"x-ai/grok-", True, "second-hand: (min(6, 448 px tiles) + 1) * 256 (design note)"),
    _rule(
        "nova", "nova", r"amazon/nova-(?:2-)?(?:lite|pro|premier)", True,
        "Amazon Nova published size table, interpolated by area (design note); Nova 2 assumed alike",
        table=((405_000, 800), (810_000, 1300), (1_170_000, 1800), (1_620_000, 2400), (1_690_000, 2600)),
    ),
)

#: The stated default for an unknown family: the 28 px patch rule, capped at
#: 16,384 patches (12,845,056 px, the Qwen2/2.5 open-processor maximum).
FALLBACK = _rule(
    "unknown", "fallback", r"$^", True,
    "no published rule: rough estimate, 28 px patches capped at 16,384 (design note's default)",
    patch=28, max_tokens=16_384,
)


# --- public entry points -------------------------------------------------------------------------


def normalise_model_id(model_id: str) -> str:
    """Lower-case, without a leading ``~`` (alias) or a ``:variant`` suffix (``:free``, ``:thinking``)."""
    return str(model_id).strip().lower().lstrip("~").split(":", 1)[0]


def find_family(model_id: str) -> FamilyRule:
    """The first rule of :data:`FAMILY_RULES` matching the normalised id, else :data:`FALLBACK`."""
    key = normalise_model_id(model_id)
    for rule in FAMILY_RULES:
        if re.search(rule.pattern, key):
            return rule
    return FALLBACK


def check_size(width: object, height: object) -> tuple[int, int]:
    """``(width, height)`` as ints, or a ``ValueError`` naming the bad value.

    Whole-number types (``int``, numpy integers) pass; ``bool``, floats (even
    ``1700.0``: a pixel count is never fractional, and a float usually means a
    scaled size that was not rounded), strings and ``None`` do not.
    """
    return _positive_int("width", width), _positive_int("height", height)


def _positive_int(name: str, value: object) -> int:
    number = None
    if not isinstance(value, bool):
        try:
            number = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            number = None
    if number is None or number <= 0:
        raise ValueError(f"{name} must be a positive integer number of pixels, got {value!r}")
    return number


def check_detail(detail: object) -> str:
    """``detail`` if it is one of :data:`DETAILS`, else a ``ValueError`` naming it."""
    if not isinstance(detail, str) or detail not in DETAILS:
        raise ValueError(f"unknown detail {detail!r}: expected one of {', '.join(DETAILS)}")
    return detail


def image_tokens(rule: FamilyRule, width: int, height: int, detail: str = "high") -> int:
    """Prompt tokens one ``width`` x ``height`` image costs under ``rule``.

    ``detail="low"`` matters only where the family has it (OpenAI tiles: base
    tokens; Gemini 3: 280); elsewhere it is accepted and ignored.
    """
    w, h = check_size(width, height)
    detail = check_detail(detail)
    try:
        method = METHODS[rule.method]
    except KeyError:
        raise ValueError(f"unknown method {rule.method!r} in rule {rule.family!r}") from None
    return int(method(w, h, detail, **rule.params))
