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

import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..common import check_choice
from .token_methods import (  # noqa: F401 (each method's function, as this module has always named them)
    METHODS,
    area_table,
    fixed,
    gemini_crop_units,
    gemini_fixed,
    gemini_tiles,
    gemma4,
    grok,
    kimi_navit,
    llama4,
    mistral,
    openai_patch_count,
    openai_patches,
    openai_tiles,
    patch_grid,
    qwen_vl,
)

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
_FAQ = "community.openai.com/t/1344040"  # 'GPT-5-mini image input token calculation discrepancy' (2025-08, 2026-06)
_GPT5_MINI = (
    "bills over the guide: 1,536 patches x 1.2, as billed in two independent measurements"
    f" ({_FORUM}, 2026-03: 432 patches billed 519; {_FAQ}, 2026-06: 64..1,536 patches billed 1.20 a patch)"
    " and as OpenAI's pricing-page calculator computes; the 'Images and vision' guide says 1.62"
    " (docs/cost-evidence.md)"
)
_GPT5_NANO = (
    "bills over the guide: 1,536 patches x 1.5, as billed in two measurements"
    f" ({_FORUM}, 2026-03: 432 patches billed 648 + overhead; {_FAQ}, 2025-08: 1,536 patches billed 2,334 with the"
    " prompt's text, 2,304 + text) and as OpenAI's pricing-page calculator computes; the guide says 2.46 (docs/cost-evidence.md)"
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
_GPT54: dict[str, Any] = dict(multiplier=1.2, budget=2500, max_side=2048, low_side=512)
_CLAUDE = (
    "Anthropic 'Vision' guide, 'Resolution and token cost': ceil(w/28)*ceil(h/28)"
    " (design note: docs/design-note.md §Anthropic Claude)"
)
_GEMINI_2 = (
    "Gemini 2.x token guide: <=384 px 258, else 768 px tiles of 258 (design note: docs/design-note.md §Google Gemini);"
    " 3072 px box: Vertex AI image docs"
)
_MISTRAL = "mistral-common image tokenizer (design note: docs/design-note.md §Mistral)"
_QWEN2: dict[str, Any] = dict(factor=28, min_pixels=3136, max_pixels=12_845_056)
_QWEN3: dict[str, Any] = dict(factor=32, min_pixels=65_536, max_pixels=16_777_216)
_PIXTRAL: dict[str, Any] = dict(patch=16, merge=1, max_side=1024)
_SMALL3: dict[str, Any] = dict(patch=14, merge=2, max_side=1540)
_GLM: dict[str, Any] = dict(factor=28, min_pixels=112 * 112, max_pixels=28 * 28 * 15_000, frames=2, enlarge_short=True)
_GLM46: dict[str, Any] = dict(factor=28, min_pixels=112 * 112, max_pixels=9_633_792, frames=2, enlarge_short=True)

#: Ordered rules; the first whose pattern matches the normalised id wins.
# The table reads as a table (one rule a line or a short block), so the formatter leaves it alone.
# fmt: off
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
        "GPT-5 Mini paired with image generation: gpt-5-mini's billed rule (1,536 patches, 1.2) assumed",
        multiplier=1.2,
    ),
    _rule("gpt-5-mini", "openai-patches", r"/gpt-5-mini(?:-|$)", False, _GPT5_MINI, multiplier=1.2),
    _rule("gpt-5-nano", "openai-patches", r"/gpt-5-nano(?:-|$)", False, _GPT5_NANO, multiplier=1.5),
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
        "nova-2", "fixed", r"amazon/nova-2-", False,
        "Amazon Nova 2 user guide, 'Image-token estimation': billed at a flat 230 tokens per image whatever its"
        " size (docs/cost-evidence.md)", "Amazon Nova 2 user guide (no open reference)", tokens=230,
    ),
    _rule(
        "nova", "nova", r"amazon/nova-(?:lite|pro|premier)", True,
        "Amazon Nova (version 1) published size table, interpolated by area (design note: docs/design-note.md"
        " §Others); 1400x900 is 1,260,000 px (docs/cost-evidence.md)",
        table=((405_000, 800), (810_000, 1300), (1_260_000, 1800), (1_620_000, 2400), (1_690_000, 2600)),
    ),
)
# fmt: on

#: The stated default for an unknown family: the 28 px patch rule, capped at
#: 16,384 patches (12,845,056 px, the Qwen2/2.5 open-processor maximum).
FALLBACK = _rule(
    "unknown",
    "fallback",
    r"$^",
    True,
    "no published rule: rough estimate, 28 px patches capped at 16,384"
    " (the design note's default: docs/design-note.md §Others)",
    patch=28,
    max_tokens=16_384,
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
    return check_choice(detail, DETAILS, "detail")


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
