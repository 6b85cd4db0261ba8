"""How many prompt tokens one input image costs, by model family.

Most vision models on OpenRouter bill an image as prompt tokens: the provider
turns the image into tokens, and those are priced at ``pricing.prompt``. This
module holds the published rules (the design note ``docs/design-note.md`` and
the sources named per rule; ``docs/image-token-rules.md`` describes them family
by family) as a table of :class:`FamilyRule` entries, and one small pure
function per rule ``method``:

>>> rule = find_family("openai/gpt-4o")
>>> image_tokens(rule, 1700, 2200)
765

``find_family`` picks the first rule whose ``pattern`` matches the normalised
model id (specific rules before general ones), else :data:`FALLBACK`.
``image_tokens`` dispatches on ``rule.method`` through :data:`METHODS`, so a new
family is one table entry; ``rule.reference`` names the implementation (and
version) whose arithmetic the method follows.

A real resize gives whole pixels, so every method that scales an image counts
tiles or patches on whole-pixel sides, rounded as its source rounds. Where the
source is a formula (OpenAI's and Anthropic's guides) the arithmetic is exact
(``fractions.Fraction``, ``math.isqrt``). Where the source is an open processor
that computes in floating point (transformers' ``smart_resize``, Kimi's
``navit_resize``, Gemma 4, mistral-common), the method repeats that float64
arithmetic step by step, because a host running the processor bills what it
computes; only sizes too large for a float fall back to the exact formula.
No loop grows with the image, and every family caps an enormous image.
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
    source: str  # one line: where the rule comes from (the design note as "docs/design-note.md §<section>")
    reference: str = ""  # the implementation (and version) whose arithmetic the method follows


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


def _floor_sqrt(num: int, den: int) -> int:
    """``floor(sqrt(num / den))`` exactly: ``floor(sqrt(q)) == isqrt(floor(q))``."""
    return math.isqrt(num // den)


def _fit_box_rounded(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """Whole-pixel size with the long side at most ``max_side`` (aspect kept, sides rounded, at least 1)."""
    long_side = max(width, height)
    if max_side is None or long_side <= max_side:
        return width, height
    return (
        max(1, _round_half_even(width * max_side, long_side)),
        max(1, _round_half_even(height * max_side, long_side)),
    )


def _largest_fit(limit: int, fits: Callable[[int], bool]) -> int:
    """Largest ``n`` in ``[1, limit]`` with ``fits(n)`` (``fits`` true up to a point, then false), else 1."""
    lo, hi = 1, max(1, limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


# --- one function per method: (width, height, detail, **params) -> tokens ----------------------


def openai_tiles(width: int, height: int, detail: str, *, base: int, tile: int) -> int:
    """OpenAI tile method: fit 2048x2048, short side to 768 (never enlarge), 512 px tiles.

    The scaled sides are whole pixels, floored (as litellm's implementation of the
    guide does: 1217x4867 px becomes 512x2048, one tile column). ``detail="low"``
    costs ``base`` only.
    """
    if detail == "low":
        return base
    scale = min(Fraction(1), Fraction(2048, max(width, height)), Fraction(768, min(width, height)))
    w, h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    return base + tile * _ceil_div(w, 512) * _ceil_div(h, 512)


def openai_patch_count(width: int, height: int, *, budget: int, max_side: int = 2048, patch: int = 32) -> int:
    """OpenAI's patch count (guide, "Patch-based image tokenization"), before the multiplier.

    A side over ``max_side`` is first fitted into the box (whole pixels, rounded).
    Over ``budget`` patches the guide's shrink ``sqrt(budget*32^2/(w*h))`` is cut so
    one side lands on whole patches; the sides are then floored to whole pixels
    and covered with patches, capped at the budget. All of it exact.
    """
    w, h = _fit_box_rounded(width, height, max_side)
    patches = _ceil_div(w, patch) * _ceil_div(h, patch)
    if patches <= budget:
        return patches
    cols_fit = _floor_sqrt(budget * w, h)  # floor(w * shrink / 32)
    rows_fit = _floor_sqrt(budget * h, w)  # floor(h * shrink / 32)
    if cols_fit * h <= rows_fit * w:  # the width is the tighter side: scale = 32*cols_fit/w
        new_w, new_h = patch * cols_fit, (h * patch * cols_fit) // w
    else:
        new_w, new_h = (w * patch * rows_fit) // h, patch * rows_fit
    new_w, new_h = max(1, new_w), max(1, new_h)
    return min(budget, _ceil_div(new_w, patch) * _ceil_div(new_h, patch))


def openai_patches(
    width: int,
    height: int,
    detail: str,
    *,
    multiplier: float,
    budget: int = 1536,
    max_side: int = 2048,
    low_side: int | None = None,
) -> int:
    """OpenAI patch method: :func:`openai_patch_count` times a model multiplier, rounded up.

    ``multiplier`` is read as the decimal it is written as. The guide gives no
    rounding; litellm rounds up, and so do forum measurements read with one request
    overhead for gpt-5-mini and gpt-5-nano (432 patches at 1.2 -> 519, not 518), so
    tokens are ``ceil(multiplier * patches)``.
    ``detail="low"`` only where ``low_side`` is set (GPT-5.4 and later: the image
    fitted into a ``low_side`` box, no budget); the older patch models ignore it.
    """
    if detail == "low" and low_side is not None:
        w, h = _fit_box_rounded(width, height, low_side)
        patches = _ceil_div(w, 32) * _ceil_div(h, 32)
    else:
        patches = openai_patch_count(width, height, budget=budget, max_side=max_side)
    return _ceil(Fraction(str(multiplier)) * patches)


def patch_grid(
    width: int, height: int, detail: str, *, patch: int, max_tokens: int, max_side: int | None = None
) -> int:
    """``ceil(w/patch) * ceil(h/patch)`` after the mildest aspect-kept shrink that fits.

    The shrink (never an enlargement) keeps the long side at most ``max_side`` and
    the count at most ``max_tokens``, on whole pixels: the long side is the largest
    whole number of pixels that fits, the short side that times the aspect ratio,
    rounded (litellm's implementation of Anthropic's guide; it reproduces the
    guide's examples: 1920x1080 -> 1456x819, 1560 tokens). Anthropic, and the fallback.
    """
    long_side, short_side = max(width, height), min(width, height)

    def count(edge: int) -> int:
        return _ceil_div(edge, patch) * _ceil_div(max(1, _round_half_even(edge * short_side, long_side)), patch)

    limit = min(long_side, max_side or long_side, patch * max_tokens)
    return count(_largest_fit(limit, lambda edge: count(edge) <= max_tokens))


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

    An image larger than ``max_side`` is first scaled into that box, to whole
    pixels (rounded: Google documents the box, not the rounding).
    """
    if max(width, height) <= small_side:
        return tile_tokens
    w, h = _fit_box_rounded(width, height, max_side)
    return tile_tokens * _ceil_div(w, tile) * _ceil_div(h, tile)


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
    """Gemini 1.5: crop unit ``clamp(short side / 1.5, 256, 768)``, 258 tokens a unit.

    Scaled into the ``max_side`` box first, to whole pixels (rounded).
    """
    if max(width, height) <= small_side:
        return tile_tokens
    w, h = _fit_box_rounded(width, height, max_side)
    unit = min(max(Fraction(min(w, h)) / Fraction(3, 2), Fraction(min_unit)), Fraction(max_unit))
    return tile_tokens * _ceil(w / unit) * _ceil(h / unit)


def gemini_fixed(width: int, height: int, detail: str, *, high: int, low: int) -> int:
    """Gemini 3: a fixed budget per image by media resolution, whatever its size."""
    return low if detail == "low" else high


def fixed(width: int, height: int, detail: str, *, tokens: int) -> int:
    """A fixed count per image: the encoder always sees one resized square."""
    return tokens


def _smart_resize(
    height: int, width: int, factor: int, min_pixels: int, max_pixels: int, frames: int, enlarge_short: bool
) -> tuple[int, int]:
    """transformers' ``smart_resize`` (qwen2_vl, glm4v, ernie4_5_vl), float for float.

    Raises ``OverflowError`` where the processor's floats would (sizes past 1e308).
    The processors refuse an aspect ratio over 200; this goes on with the same formula.
    """
    if enlarge_short and (height < factor or width < factor):  # glm4v: a side under 28 px is enlarged first
        scale = max(factor / height, factor / width)
        height, width = int(height * scale), int(width * scale)
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if frames * h_bar * w_bar > max_pixels:
        beta = math.sqrt((frames * height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif frames * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (frames * height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def _smart_resize_exact(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """The same resize in exact arithmetic, for sizes beyond floating point (then always shrinking)."""
    area = factor * factor
    rows = max(1, _floor_sqrt(max_pixels * height, width * area))
    cols = max(1, _floor_sqrt(max_pixels * width, height * area))
    return rows * factor, cols * factor


def qwen_vl(
    width: int,
    height: int,
    detail: str,
    *,
    factor: int,
    min_pixels: int,
    max_pixels: int,
    frames: int = 1,
    enlarge_short: bool = False,
) -> int:
    """Qwen-VL ``smart_resize``: sides to multiples of ``factor``, area within the limits.

    Follows transformers' float arithmetic (see :func:`_smart_resize`): round each
    side to a multiple; over ``max_pixels`` shrink by ``beta = sqrt(h*w/max)``
    (floor), under ``min_pixels`` grow (ceil). GLM-4.xV feeds each image as
    ``frames=2`` and first enlarges a side under 28 px. Tokens are
    ``(h/factor) * (w/factor)``, without wrapper tokens, capped at the pixel limit.
    """
    try:
        h_bar, w_bar = _smart_resize(height, width, factor, min_pixels, max_pixels, frames, enlarge_short)
    except OverflowError:
        h_bar, w_bar = _smart_resize_exact(height, width, factor, min_pixels // frames, max_pixels // frames)
    return min((h_bar // factor) * (w_bar // factor), max_pixels // frames // (factor * factor))


def mistral(width: int, height: int, detail: str, *, patch: int, merge: int, max_side: int) -> int:
    """mistral-common ``ImageEncoder``: long side to at most ``max_side`` (float ratio, rounded),
    then one token per ``patch*merge`` px cell plus one break token per row."""
    if max(width, height) > max_side:
        try:
            ratio = max(height / max_side, width / max_side)
            width, height = max(round(width / ratio), 1), max(round(height / ratio), 1)
        except OverflowError:
            width, height = _fit_box_rounded(width, height, max_side)
    cell = patch * merge
    cols, rows = _ceil_div(width, cell), _ceil_div(height, cell)
    return cols * rows + rows


def llama4(
    width: int, height: int, detail: str, *, tile: int = 336, max_tiles: int = 16, tile_tokens: int = 144
) -> int:
    """Llama 4: best canvas of ``rows x cols`` 336 px tiles (at most 16), 144 tokens a tile.

    The canvas follows transformers' ``get_best_fit``: the smallest upscale if
    any canvas fits without shrinking, else the mildest shrink; ties go to the
    smaller canvas (compared exactly here; the processor compares float32 scales,
    which differ only for scales within 1e-7 of each other). The prompt holds
    start, end and global-image markers, the 144-token global tile, and with more
    than one tile each tile plus one separator token per tile.
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
            return math.floor(t0 + Fraction((t1 - t0) * (area - a0), a1 - a0) + Fraction(1, 2))
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
    """Kimi K2.5 MoonViT (transformers ``navit_resize``, float for float): shrink only, pad to 28 px.

    The scale is the least of 1, ``sqrt(max_patches / patches)`` and
    ``max_side_patches*patch / side``; sizes are truncated to whole pixels, padded
    to ``patch*merge``, and each ``merge x merge`` block of patches is one token.
    """
    side_limit = max_side_patches * patch
    patches_h, patches_w = max(1, height // patch), max(1, width // patch)
    try:
        scale = min(1.0, math.sqrt(max_patches / (patches_h * patches_w)), side_limit / height, side_limit / width)
        new_h, new_w = max(1, int(height * scale)), max(1, int(width * scale))
    except OverflowError:  # beyond floats: the exact shrink
        new_h = _floor_sqrt(height * height * max_patches, patches_h * patches_w)
        new_w = _floor_sqrt(width * width * max_patches, patches_h * patches_w)
    cell = patch * merge
    new_h, new_w = min(max(1, new_h), side_limit), min(max(1, new_w), side_limit)
    return _ceil_div(new_h, cell) * _ceil_div(new_w, cell)


def gemma4(width: int, height: int, detail: str, *, budget: int = 280, patch: int = 16, pooling: int = 3) -> int:
    """Gemma 4 (transformers ``get_aspect_ratio_preserving_size``, float for float).

    The image is resized up or down to about ``budget * 9`` patches of 16 px, sides
    floored to multiples of 48 px (3x3 patches pooled into one token); a side that
    floors to nothing becomes one cell, the other ``min(ratio, budget)`` cells.
    """
    side = pooling * patch
    target_px = budget * pooling * pooling * patch * patch
    try:
        factor = math.sqrt(target_px / (height * width))
        rows, cols = math.floor(factor * height / side), math.floor(factor * width / side)
    except OverflowError:
        rows, cols = _floor_sqrt(budget * height, width), _floor_sqrt(budget * width, height)
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


#: Whose arithmetic each method follows, unless a rule names its own reference.
_METHOD_REFERENCES = {
    "openai-tiles": "OpenAI guide's formula, sides floored to whole pixels as litellm 1.110.2 "
    "(token_counter._image_policy_tokens) does",
    "openai-patches": "OpenAI guide's formula (steps A-D) as litellm 1.110.2 token_counter._image_patch_count computes "
    "it, with the guide's budget; tokens rounded up as litellm does",
    "anthropic": "Anthropic guide's limits; whole-pixel sides as litellm 1.110.2 token_counter._anthropic_image_tokens",
    "gemini-tiles": "Gemini token guide (no open reference); box fit rounded to whole pixels",
    "gemini-crop": "Gemini 1.5 token guide (no open reference); box fit rounded to whole pixels",
    "gemini-fixed": "Gemini 3 media_resolution documentation (no open reference)",
    "fixed": "the model's published processor config (fixed image size)",
    "qwen-vl": "transformers 5.24.0 qwen2_vl smart_resize (Qwen2VLImageProcessor), float64 as it computes",
    "mistral": "mistral_common 1.13.1 ImageEncoder._image_to_num_tokens, float64 as it computes",
    "llama4": "transformers 5.24.0 llama4 get_best_fit / find_supported_resolutions, Llama4Processor prompt layout",
    "grok": "second-hand description (no open reference)",
    "nova": "Amazon Nova published size table (no open reference)",
    "kimi-navit": "transformers 5.24.0 kimi_k25 navit_resize (Kimi_K25ImageProcessor), float64 as it computes",
    "gemma4": "transformers 5.24.0 gemma4 get_aspect_ratio_preserving_size (Gemma4ImageProcessor), float64",
    "fallback": "none: the project's stated default",
}


def _rule(
    family: str, method: str, pattern: str, uncertain: bool, source: str, reference: str = "", **params: Any
) -> FamilyRule:
    reference = reference or _METHOD_REFERENCES[method]
    return FamilyRule(family, method, pattern, MappingProxyType(params), uncertain, source, reference)


_OPENAI_NOTE = "design note: docs/design-note.md §OpenAI, tile method"
_OPENAI_PATCH_NOTE = "design note: docs/design-note.md §OpenAI, patch method"
_OPENAI = f"OpenAI 'Images and vision' guide, 'Calculating costs' ({_OPENAI_NOTE})"
_OPENAI_PATCHES = f"OpenAI 'Images and vision' guide, 'Calculating costs' ({_OPENAI_PATCH_NOTE})"
_FORUM = "community.openai.com/t/1377015"  # 'Introducing GPT-5.4 mini and nano': billed image tokens measured
_GPT5_MINI = (
    f"OpenAI guide: 1,536 patches, multiplier 1.62; a forum measurement ({_FORUM}, 2026-03) found 1.2 billed"
)
_GPT5_NANO = (
    f"OpenAI guide: 1,536 patches, multiplier 2.46; a forum measurement ({_FORUM}, 2026-03) found 1.5 billed"
)
_GPT52 = (
    "OpenAI guide lists gpt-5.2, 5.2-codex, 5.2-chat-latest and 5.3-codex under the 1,536-patch budget without a"
    f" multiplier; 1.2 from litellm 1.110.2 and a forum measurement ({_FORUM}; litellm's 6,144-patch cap is not"
    " the guide's)"
)
_GPT54_SOURCE = (
    "OpenAI guide, 'Model sizing behavior': gpt-5.4 and gpt-5.5 at detail high allow 2,500 patches or 2,048 px;"
    f" multiplier 1.2 from litellm 1.110.2 and forum measurements ({_FORUM}; the guide lists none); gpt-5.5's default"
    " detail"
    " (original) allows 10,000 patches"
)
_GPT54_SMALL = (
    f"gpt-5.4-mini/nano: litellm 1.110.2 and a forum measurement ({_FORUM}: 1600x1600 billed 2,500 patches x 1.2)"
    " give the"
    " gpt-5.4 rule; OpenAI's guide says 1,536 patches and 1.62 / 2.46; detail low changed nothing in the measurement"
)
_GPT54 = dict(multiplier=1.2, budget=2500, max_side=2048, low_side=512)
_CLAUDE = (
    "Anthropic 'Vision' guide, 'Resolution and token cost': ceil(w/28)*ceil(h/28)"
    " (design note: docs/design-note.md §Anthropic Claude)"
)
_GEMINI_2 = (
    "Gemini 2.x token guide: <=384 px 258, else 768 px tiles of 258 (design note: docs/design-note.md §Google Gemini);"
    " 3072 px box: Vertex AI image docs"
)
_MISTRAL = "mistral-common image tokenizer (design note: docs/design-note.md §Mistral)"
_QWEN2 = dict(factor=28, min_pixels=3136, max_pixels=12_845_056)
_QWEN3 = dict(factor=32, min_pixels=65_536, max_pixels=16_777_216)
_PIXTRAL = dict(patch=16, merge=1, max_side=1024)
_SMALL3 = dict(patch=14, merge=2, max_side=1540)
_GLM = dict(factor=28, min_pixels=112 * 112, max_pixels=28 * 28 * 15_000, frames=2, enlarge_short=True)
_GLM46 = dict(factor=28, min_pixels=112 * 112, max_pixels=9_633_792, frames=2, enlarge_short=True)

#: Ordered rules; the first whose pattern matches the normalised id wins.
FAMILY_RULES: tuple[FamilyRule, ...] = (
    # OpenAI: minis and nanos before their base models, dated and suffixed variants included.
    _rule("gpt-4o-mini", "openai-tiles", r"/gpt-4o-mini(?:-|$)", False, _OPENAI, base=2833, tile=5667),
    _rule("gpt-4o", "openai-tiles", r"/(?:chat)?gpt-4o(?:-|$)", False, _OPENAI, base=85, tile=170),
    _rule("gpt-4.1-mini", "openai-patches", r"/gpt-4\.1-mini(?:-|$)", False, _OPENAI_PATCHES, multiplier=1.62),
    _rule("gpt-4.1-nano", "openai-patches", r"/gpt-4\.1-nano(?:-|$)", False, _OPENAI_PATCHES, multiplier=2.46),
    _rule("gpt-4.1", "openai-tiles", r"/gpt-4\.1(?:-|$)", False, _OPENAI, base=85, tile=170),
    _rule("gpt-4.5", "openai-tiles", r"/gpt-4\.5(?:-|$)", False, _OPENAI, base=85, tile=170),
    _rule(
        "gpt-4-turbo", "openai-tiles", r"/gpt-4-(?:turbo|vision|1106|0125)", True,
        "OpenAI vision guide of the GPT-4 Turbo era (85/170);"
        " not named in the design note (docs/design-note.md §OpenAI, tile method)",
        base=85, tile=170,
    ),
    _rule(
        "o4-mini", "openai-patches", r"/o4-mini-deep-research", True,
        f"o4-mini multiplier 1.72 ({_OPENAI_PATCH_NOTE}) extended to the deep-research variant", multiplier=1.72,
    ),
    _rule("o4-mini", "openai-patches", r"/o4-mini(?:-|$)", False, _OPENAI_PATCHES, multiplier=1.72),
    _rule(
        "o1-o3", "openai-tiles", r"/o3-deep-research", True,
        f"o3 constants 75/150 ({_OPENAI_NOTE}) extended to the deep-research variant", base=75, tile=150,
    ),
    _rule("o1-o3", "openai-tiles", r"/o[13](?:-pro)?(?:-\d{4}-\d\d-\d\d)?$", False, _OPENAI, base=75, tile=150),
    # GPT-5 minis and nanos: the guide's 1,536-patch budget and multipliers; users measured 1.2 and 1.5.
    _rule(
        "gpt-5-mini", "openai-patches", r"/gpt-5-image-mini", True,
        "GPT-5 Mini paired with image generation: gpt-5-mini's guide rule (1,536 patches, 1.62) assumed",
        multiplier=1.62,
    ),
    _rule("gpt-5-mini", "openai-patches", r"/gpt-5-mini(?:-|$)", True, _GPT5_MINI, multiplier=1.62),
    _rule("gpt-5-nano", "openai-patches", r"/gpt-5-nano(?:-|$)", True, _GPT5_NANO, multiplier=2.46),
    _rule(
        "gpt-5.4-mini", "openai-patches", r"/gpt-(?:5\.(?:[4-9]|\d{2,})-mini|mini-latest)(?:-|$)", True,
        _GPT54_SMALL, multiplier=1.2, budget=2500, max_side=2048,
    ),
    _rule(
        "gpt-5.4-nano", "openai-patches", r"/gpt-5\.(?:[4-9]|\d{2,})-nano(?:-|$)", True,
        _GPT54_SMALL, multiplier=1.2, budget=2500, max_side=2048,
    ),
    _rule(
        "gpt-5.2", "openai-patches", r"/gpt-5(?:\.\d+)?-codex-mini(?:-|$)", True,
        "OpenAI guide lists gpt-5-codex-mini and gpt-5.1-codex-mini under the 1,536-patch budget, no multiplier:"
        " 1.2 as measured on gpt-5.2 (forum) assumed", multiplier=1.2,
    ),
    _rule("gpt-5.2", "openai-patches", r"/gpt-5\.[23](?:-|$)", True, _GPT52, multiplier=1.2),
    _rule(
        "gpt-5.4", "openai-patches", r"/gpt-(?:5\.(?:[4-9]|\d{2,})|latest)(?:-|$)", True, _GPT54_SOURCE, **_GPT54,
    ),
    _rule(
        "gpt-5", "openai-tiles", r"/gpt-5(?:\.1)?-image", True,
        "GPT-5 paired with image generation: gpt-5 constants 70/140 assumed", base=70, tile=140,
    ),
    _rule(
        "gpt-5", "openai-tiles", r"/gpt-5(?:-(?:chat|pro|codex)(?:-latest)?)?(?:-\d{4}-\d\d-\d\d)?$", False,
        _OPENAI, base=70, tile=140,
    ),
    _rule(
        "gpt-5.1", "openai-tiles", r"/gpt-5\.1(?:-|$)", True,
        "GPT-5.1 (chat, codex, max): not in OpenAI's guide; litellm 1.110.2 prices it as gpt-5 tiles, 70/140",
        base=70, tile=140,
    ),
    # Anthropic: the high-resolution tier from Opus 4.7, the standard tier before it.
    _rule(
        "claude-hires", "anthropic", r"/claude-opus-4\.7(?:-|$)", False,
        "Anthropic 'Vision' guide: newer models 2576 px / 4784 tokens"
        " (design note: docs/design-note.md §Anthropic Claude); Opus 4.7",
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
        "Gemini 3 media_resolution: high/default 1120, low 280 (design note: docs/design-note.md §Google Gemini)",
        high=1120, low=280,
    ),
    _rule(
        "gemini-3", "gemini-fixed", r"/gemini-(?:flash|flash-lite|pro)-latest$", True,
        "aliases (Gemini 3 Flash / 3.1 Pro on 2026-05-01): Gemini 3 budget", high=1120, low=280,
    ),
    _rule(
        "gemini-2", "gemini-tiles", r"/gemini-2\.5-", True,
        "Gemini 2.x tile rule; the design note (docs/design-note.md §Google Gemini)"
        " says Gemini 2.5 sources disagree (64/256/...)",
    ),
    _rule("gemini-2", "gemini-tiles", r"/gemini-2\.0-", False, _GEMINI_2),
    _rule(
        "gemini-1.5", "gemini-crop", r"/gemini-(?:1\.5-|(?:flash|pro)-1\.5)", False,
        "Gemini 1.5 crop unit clamp(short/1.5, 256, 768), 258 tokens each"
        " (design note: docs/design-note.md §Google Gemini)",
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
        "Alibaba API: 28 px tokens, default cap 1280 tokens per image (design note: docs/design-note.md §Qwen-VL)",
        factor=28, min_pixels=4 * 28 * 28, max_pixels=1280 * 28 * 28,
    ),
    _rule(
        "qwen3-vl", "qwen-vl", r"/qwen3-vl-", False,
        "Qwen3-VL preprocessor_config: factor 32, 65,536..16,777,216 px"
        " (design note: docs/design-note.md §Qwen-VL: factor 32)",
        **_QWEN3,
    ),
    _rule(
        "qwen3-vl", "qwen-vl", r"/qwen3\.[5-9]", True,
        "Qwen3.5/3.6 ship the Qwen3-VL processor config; hosted flash/plus limits unknown", **_QWEN3,
    ),
    _rule(
        "qwen2.5-vl", "qwen-vl", r"/qwen-?2(?:\.5)?-vl-", False,
        "transformers qwen2_vl smart_resize, open processor limits (design note: docs/design-note.md §Qwen-VL)",
        **_QWEN2,
    ),
    _rule(
        "qwen2.5-vl", "qwen-vl", r"/ui-tars-1\.5|arcee-ai/spotlight", True,
        "models publicly built on Qwen2.5-VL: its open processor assumed", **_QWEN2,
    ),
    _rule(
        "glm-4.6v", "qwen-vl", r"/glm-4\.6v", False,
        "zai-org GLM-4.6V preprocessor_config: 12,544..9,633,792 px over 2 frames, factor 28",
        "transformers 5.24.0 Glm46VImageProcessor (glm4v smart_resize: sides under 28 px enlarged, 2 frames), float64",
        **_GLM46,
    ),
    _rule(
        "glm-4v", "qwen-vl", r"/glm-4(?:\.\d+)?v", False,
        "Qwen-style resize, factor 28 (design note: docs/design-note.md §Others);"
        " limits: transformers Glm4vImageProcessor defaults",
        "transformers 5.24.0 Glm4vImageProcessor (glm4v smart_resize: sides under 28 px enlarged, 2 frames), float64",
        **_GLM,
    ),
    _rule(
        "glm-4.6v", "qwen-vl", r"/glm-[5-9](?:\.\d+)?v", True,
        "GLM-4.6V rule (the latest published GLM vision config) extended to later GLM vision models",
        "transformers 5.24.0 Glm46VImageProcessor (glm4v smart_resize: sides under 28 px enlarged, 2 frames), float64",
        **_GLM46,
    ),
    _rule(
        "ernie-4.5-vl", "qwen-vl", r"/ernie-4\.5-vl", True,
        "transformers Ernie4_5_VLMoeImageProcessor: factor 28, 3,136..4,842,768 px",
        "transformers 5.24.0 Ernie4_5_VLMoeImageProcessor (qwen2_vl smart_resize), float64 as it computes",
        factor=28, min_pixels=3136, max_pixels=28 * 28 * 6177,
    ),
    _rule(
        "kimi-k2.5", "kimi-navit", r"/kimi-(?:k2\.[5-9]|latest)", True,
        "transformers Kimi_K25ImageProcessor (navit_resize); K2.6 and the alias assumed alike",
    ),
    # Mistral.
    _rule("pixtral-12b", "mistral", r"/pixtral-12b", False, _MISTRAL, **_PIXTRAL),
    _rule(
        "pixtral-12b", "mistral", r"/pixtral-large", True,
        "no published tokenizer constants: Pixtral-12B's assumed", **_PIXTRAL,
    ),
    _rule(
        "mistral-small-3", "mistral", r"/mistral-small-3\.\d", False,
        _MISTRAL, **_SMALL3,
    ),
    _rule(
        "mistral-small-3", "mistral",
        r"/(?:mistral-medium-3|mistral-large-2[5-9]\d\d|mistral-small-2[6-9]\d\d|ministral-\d+b-2[5-9]\d\d)", True,
        "later Mistral vision models: the closest documented tokenizer (Small 3.x) assumed", **_SMALL3,
    ),
    # Meta, xAI, Amazon.
    _rule(
        "llama-4", "llama4", r"/llama-(?:guard-)?4(?:-|$)", False,
        "transformers Llama4 processor: 336 px tiles, max 16, 144 a tile + global tile"
        " (design note: docs/design-note.md §Meta Llama 4)",
    ),
    _rule(
        "grok", "grok", r"x-ai/grok-", True,
        "second-hand: (min(6, 448 px tiles) + 1) * 256 (design note: docs/design-note.md §Others)",
    ),
    _rule(
        "nova", "nova", r"amazon/nova-(?:2-)?(?:lite|pro|premier)", True,
        "Amazon Nova published size table, interpolated by area (design note: docs/design-note.md §Others);"
        " Nova 2 assumed alike",
        table=((405_000, 800), (810_000, 1300), (1_170_000, 1800), (1_620_000, 2400), (1_690_000, 2600)),
    ),
)

#: The stated default for an unknown family: the 28 px patch rule, capped at
#: 16,384 patches (12,845,056 px, the Qwen2/2.5 open-processor maximum).
FALLBACK = _rule(
    "unknown", "fallback", r"$^", True,
    "no published rule: rough estimate, 28 px patches capped at 16,384"
    " (the design note's default: docs/design-note.md §Others)",
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
    tokens; GPT-5.4 and later: a 512 px image; Gemini 3: 280); elsewhere it is
    accepted and ignored. ``"high"`` is the documented high detail, also for
    gpt-5.5, whose API default (``auto`` = ``original``) allows 10,000 patches.
    """
    w, h = check_size(width, height)
    detail = check_detail(detail)
    try:
        method = METHODS[rule.method]
    except KeyError:
        raise ValueError(f"unknown method {rule.method!r} in rule {rule.family!r}") from None
    return int(method(w, h, detail, **rule.params))
