"""How well a page was read: character and word error rates against ground truth.

Both texts are normalised first (``normalise_text``): Unicode NFC, so an accent typed as one code
point or as letter + combining mark counts the same; every run of whitespace (spaces, tabs, line
breaks, no-break spaces) becomes one space, and the ends are stripped, so layout (line breaks, column
gaps) is not counted as errors; optionally case-folded. The edit distance is rapidfuzz's Levenshtein
distance (insertions, deletions and substitutions each cost 1), over characters for CER and over
words for WER, divided by the length of the normalised truth. A text longer than the truth can score
above 1. An empty truth scores 0.0 against an empty text and 1.0 against anything else.
"""

from __future__ import annotations

import unicodedata

from rapidfuzz.distance import Levenshtein


def normalise_text(text: str, *, casefold: bool = False) -> str:
    """NFC, whitespace runs collapsed to one space, ends stripped; case-folded when asked."""
    _check_text("text", text)
    text = unicodedata.normalize("NFC", text)
    if casefold:
        text = unicodedata.normalize("NFC", text.casefold())
    return " ".join(text.split())


def cer(truth: str, text: str, *, casefold: bool = False) -> float:
    """Character error rate: character edit distance / characters in the normalised truth."""
    _check_text("truth", truth)
    _check_text("text", text)
    reference = normalise_text(truth, casefold=casefold)
    hypothesis = normalise_text(text, casefold=casefold)
    return _rate(Levenshtein.distance(reference, hypothesis), len(reference), bool(hypothesis))


def wer(truth: str, text: str, *, casefold: bool = False) -> float:
    """Word error rate: word edit distance / words in the normalised truth (words split on whitespace)."""
    _check_text("truth", truth)
    _check_text("text", text)
    reference = normalise_text(truth, casefold=casefold).split()
    hypothesis = normalise_text(text, casefold=casefold).split()
    return _rate(Levenshtein.distance(reference, hypothesis), len(reference), bool(hypothesis))


def _rate(distance: int, length: int, hypothesis_present: bool) -> float:
    if length == 0:
        return 1.0 if hypothesis_present else 0.0
    return distance / length


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, not {type(value).__name__}: {value!r:.60}")
