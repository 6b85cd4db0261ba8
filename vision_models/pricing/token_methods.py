"""How each method counts an image's tokens: one function per method, ``(width, height, detail, **params) -> tokens``,
in exact integer arithmetic (whole pixels after every resize, rounded as each reference implementation rounds).

Which family uses which method, with which parameters and sources, is the table in :mod:`.image_tokens`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from types import MappingProxyType

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
