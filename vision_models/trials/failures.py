"""What went wrong with an answer, beyond its error rate: truncated, looping, empty, refused, not JSON.

Kinds (a row may have several; ``ok`` is none of them and an answer to use)
    ``error``      the request failed (no answer: an HTTP error, a lost connection, a budget skip).
    ``truncated``  the model stopped at ``max_tokens`` (``finish_reason`` ``length``).
    ``looped``     the answer repeats itself: :func:`repetition_share` at or above ``LOOP_SHARE``.
    ``empty``      no text, or only whitespace.
    ``refused``    the provider's content filter withheld it (``finish_reason`` ``content_filter``), or the
                   answer is a short refusal (under :data:`REFUSAL_MAX_CHARS` characters and matching
                   :data:`REFUSAL`: "I'm sorry, but I can't ...", "I cannot assist ...") instead of a transcript.
    ``invalid_json`` a trial with a schema whose answer does not parse or does not match the schema.

The repetition measure
    The text is split into words (a word over 20 characters is cut into 20-character pieces, so a run of one
    character with no space is seen too). Every word-``n``-gram (``n`` = :data:`LOOP_N`, 4) that occurs at least
    :data:`LOOP_MIN_COUNT` (3) times marks the words it spans; the share is the marked words over all words.
    A model caught in a loop writes the same phrase until ``max_tokens``, so its share nears 1; real pages
    repeat a four-word phrase three times rarely (the four sample pages score 0). Texts under
    ``LOOP_N x LOOP_MIN_COUNT`` words score 0.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LOOP_N = 4
LOOP_MIN_COUNT = 3
#: The repetition share from which an answer counts as looped.
LOOP_SHARE = 0.5
REFUSAL_MAX_CHARS = 400
REFUSAL = re.compile(
    r"\b(?:i(?:'m| am) sorry|i(?: can(?:'|no)t| cannot| am unable to| won't| will not)"
    r"|unable to (?:assist|help|comply|transcribe|process)|as an ai\b|i must decline)",
    re.IGNORECASE,
)
FAILURE_KINDS = ("error", "truncated", "looped", "empty", "refused", "invalid_json")
_WORD_PIECE = 20


@dataclass(frozen=True)
class Failures:
    """The failure flags of one row, and its repetition share."""

    finish_reason: str | None
    error: bool
    truncated: bool
    looped: bool
    empty: bool
    refused: bool
    invalid_json: bool
    repetition: float

    @property
    def ok(self) -> bool:
        return not (self.error or self.truncated or self.looped or self.empty or self.refused or self.invalid_json)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The failure kinds that apply, in :data:`FAILURE_KINDS` order."""
        return tuple(kind for kind in FAILURE_KINDS if getattr(self, kind))


def repetition_share(text: str | None, *, n: int = LOOP_N, min_count: int = LOOP_MIN_COUNT) -> float:
    """The share of the words of ``text`` covered by a word-``n``-gram occurring ``min_count`` times or more."""
    words = _words(text or "")
    if len(words) < n * min_count:
        return 0.0
    grams = list(zip(*(words[i:] for i in range(n))))
    counts = Counter(grams)
    starts = np.fromiter((counts[g] >= min_count for g in grams), dtype=bool, count=len(grams))
    if not starts.any():
        return 0.0
    covered = np.zeros(len(words) + 1, dtype=np.int64)  # +1 at each repeated gram's start, -1 after its end
    index = np.flatnonzero(starts)
    np.add.at(covered, index, 1)
    np.add.at(covered, index + n, -1)
    return float((np.cumsum(covered)[: len(words)] > 0).mean())


def _words(text: str) -> list[str]:
    out: list[str] = []
    for word in text.split():
        if len(word) <= _WORD_PIECE:
            out.append(word)
        else:
            out.extend(word[i : i + _WORD_PIECE] for i in range(0, len(word), _WORD_PIECE))
    return out


def is_refusal(text: str | None, finish_reason: str | None = None) -> bool:
    """A content-filter stop, or a short answer that is a refusal rather than a transcript."""
    if finish_reason == "content_filter":
        return True
    if not text:
        return False
    stripped = text.strip()
    return len(stripped) < REFUSAL_MAX_CHARS and REFUSAL.search(stripped) is not None


def classify(text: str | None, finish_reason: str | None = None, *, error: str | None = None,
             json_valid: bool | None = None, loop_share: float = LOOP_SHARE) -> Failures:  # fmt: skip
    """The failure flags of one answer (``error``: the row's error, None when the request succeeded).

    A content filter counts as ``refused``, not as an ``error``, even though the request's row records it as one.
    """
    reason = finish_reason if isinstance(finish_reason, str) else None
    filtered = reason == "content_filter" or (isinstance(error, str) and error.startswith("content filter"))
    failed = isinstance(error, str) and not filtered
    blank = not (isinstance(text, str) and text.strip())
    share = repetition_share(text) if isinstance(text, str) else 0.0
    return Failures(
        finish_reason=reason,
        error=failed,
        truncated=reason == "length",
        looped=share >= loop_share,
        empty=blank and not failed and not filtered,
        refused=filtered or (not failed and is_refusal(text, reason)),
        invalid_json=json_valid is False and not failed,
        repetition=share,
    )


def classify_many(texts: Sequence[str | None], finish_reasons: Sequence[str | None], errors: Sequence[str | None],
                  json_valid: Sequence[bool | None] | None = None) -> list[Failures]:  # fmt: skip
    """:func:`classify` over aligned columns (of a results frame)."""
    valid = list(json_valid) if json_valid is not None else [None] * len(texts)
    return [
        classify(t, f, error=e, json_valid=v) for t, f, e, v in zip(texts, finish_reasons, errors, valid, strict=True)
    ]
