"""Low and high image-token counts where public sources disagree, beside the point estimate.

The point estimate follows one rule (:mod:`.image_tokens`). Where public sources conflict and no
set of bills settles it, a :class:`TokenRange` names two other rules that bound the count, and
the sources that give each bound (``docs/cost-evidence.md``, "Ranges where sources disagree").
The range is ``min`` / ``max`` of the point and both bounds, so it always holds the point. A
model with no range has low = high = point. A trial's measurement replaces the range
(:mod:`.measured`).

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from .image_tokens import FamilyRule, image_tokens, normalise_model_id

__all__ = ["RANGES", "TokenRange", "find_range", "token_range"]


def _bound(family: str, method: str, source: str, **params: object) -> FamilyRule:
    return FamilyRule(family, method, r"$^", MappingProxyType(params), True, source)


@dataclass(frozen=True)
class TokenRange:
    """Two rules that bound a family's image tokens where sources disagree, and who says each."""

    pattern: str  # regex searched in the normalised model id
    low: FamilyRule  # the rule giving the low bound
    high: FamilyRule  # the rule giving the high bound
    sources: str  # one line: which sources bound the range (shown as ``range_sources``)


_GENAI_1349 = "github.com/googleapis/python-genai/issues/1349"
_FORUM_1377015 = "community.openai.com/t/1377015"
_ROKABOT_121 = "github.com/AlaskanTuna/Rokabot/issues/121"

#: Ordered ranges; the first whose pattern matches the normalised id applies.
RANGES: tuple[TokenRange, ...] = (
    TokenRange(
        r"/gemini-3(?:\.\d+)?-flash-lite",
        _bound("gemini-3", "fixed", f"{_ROKABOT_121}: countTokens 1,056..1,089 flat", tokens=1056),
        _bound("gemini-3", "gemini-fixed", "Gemini 3 media_resolution default", high=1120, low=280),
        f"low: {_ROKABOT_121} (2026-08, countTokens on gemini-3.5-flash-lite: 1,089 flat, 1,056 at 2048x512);"
        " high: Gemini 3 media_resolution default (1,120)",
    ),
    TokenRange(
        r"/gemini-2\.5-",
        _bound("gemini-2", "fixed", f"{_GENAI_1349}: 258 billed at every size", tokens=258),
        _bound("gemini-2", "gemini-tiles", "Gemini token guide: 768 px tiles of 258"),
        f"low: {_GENAI_1349} (2025-09, gemini-2.5-pro billed 258 for 768x1280, 1024x1024, 3840x2160);"
        " high: the Gemini token guide's 768 px tiles of 258",
    ),
    TokenRange(
        r"/gpt-(?:5\.(?:[4-9]|\d{2,})-(?:mini|nano)|mini-latest)(?:-|$)",
        _bound("gpt-5.4-mini", "openai-patches", "OpenAI guide's budget, 1,536 patches", multiplier=1.2),
        _bound("gpt-5.4-mini", "openai-patches", f"{_FORUM_1377015}: 2,500 patches", multiplier=1.2, budget=2500),
        f"low: OpenAI's guide (1,536 patches) and {_FORUM_1377015}'s first table (max 1,843 billed);"
        f" high: {_FORUM_1377015} (2026-03-18, 1600x1600 billed 2,500 patches x 1.2)",
    ),
)


def find_range(model_id: str) -> TokenRange | None:
    """The first :data:`RANGES` entry matching the normalised id, else None (sources agree, or no other source)."""
    key = normalise_model_id(model_id)
    for entry in RANGES:
        if re.search(entry.pattern, key):
            return entry
    return None


def token_range(entry: TokenRange | None, point: int, width: int, height: int, detail: str = "high") -> tuple[int, int]:
    """``(low, high)`` image tokens: the point and both bounds' counts, least and most; ``(point, point)`` without a range."""
    if entry is None:
        return point, point
    counts = (point, image_tokens(entry.low, width, height, detail), image_tokens(entry.high, width, height, detail))
    return min(counts), max(counts)
