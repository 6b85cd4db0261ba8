"""Which models can read an image: the seed's three rules, each over whole columns.

1. ``modality``: ``image``, ``vision`` or ``multimodal`` in the model's input
   modalities or in the input side (before ``->``) of its modality string;
2. ``image_price``: the catalog lists an image price above zero;
3. ``name``: the id or name belongs to a known vision family.

``vision_evidence`` lists every rule that matched. ``rules="strict"`` (the
default) lets a model's own input modalities decide where it lists them (real
catalogs hold names that match rule 3 but take no image, such as
``openai/gpt-4o-search-preview``) and falls back to rules 1-3 only where it
lists none. ``rules="seed"`` counts a model when any rule matches: exact parity
with the original endpoint.

The rules read columns of a frame or of the dict of arrays the frame is built
from, so loading a catalog builds its ``DataFrame`` once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

Rules = Literal["seed", "strict"]
RULES: tuple[str, ...] = ("seed", "strict")
#: The rules used when none are given: a model's own metadata decides.
DEFAULT_RULES: Rules = "strict"
EVIDENCE: tuple[str, ...] = ("modality", "image_price", "name")
# The evidence of every combination of matches, indexed by modality + 2*image_price + 4*name.
_LABELS = [tuple(name for bit, name in enumerate(EVIDENCE) if code >> bit & 1) for code in range(8)]

_IMAGE_INPUT = re.compile(r"image|vision|multimodal")

#: Known vision families (rule 3), matched in the lower-cased id and name.
VISION_FAMILIES: dict[str, str] = {
    "GPT-4o": r"gpt-4o",
    "GPT-4 Turbo": r"gpt-4[- ]turbo",
    "Gemini": r"gemini",
    "Claude 3 and later": r"claude[- ]?(?:[3-9]|opus|sonnet|haiku)",
    "LLaVA": r"llava",
    "Pixtral": r"pixtral",
    "Qwen-VL": r"qwen[\d.]*[- ]?vl",
    "CogVLM": r"cogvlm",
    "InternVL": r"internvl",
    "Yi-Vision": r"yi[- ]vision",
}
# Lower-casing once and matching without IGNORECASE is about six times faster.
_FAMILY = re.compile("|".join(f"(?:{p})" for p in VISION_FAMILIES.values()))


def check_rules(rules: str) -> Rules:
    """Return ``rules`` if it names a rule set, else raise a one-line ``ValueError``."""
    if rules not in RULES:
        raise ValueError(f"unknown rules {rules!r}: expected one of {', '.join(RULES)}")
    return rules  # type: ignore[return-value]


def get_vision_evidence(columns: Mapping[str, Any] | pd.DataFrame) -> dict[str, np.ndarray]:
    """Per model, whether each rule matched: boolean arrays keyed by rule name."""
    inputs = [
        f"{'|'.join(listed)} {modality.partition('->')[0]}".lower()
        for listed, modality in zip(columns["input_modalities"], _objects(columns["modality"]))
    ]
    names = [f"{i} {n}".lower() for i, n in zip(_objects(columns["id"]), _objects(columns["name"]))]
    return {
        "modality": _matches(_IMAGE_INPUT, inputs),
        "image_price": np.asarray(columns["image_price"], dtype="float64") > 0,
        "name": _matches(_FAMILY, names),
    }


def vision_columns(columns: Mapping[str, Any] | pd.DataFrame, rules: str = DEFAULT_RULES) -> dict[str, np.ndarray]:
    """``is_vision`` (bool) and ``vision_evidence`` (a list of rule names per model)."""
    rules = check_rules(rules)
    evidence = get_vision_evidence(columns)
    codes = evidence["modality"] * 1 + evidence["image_price"] * 2 + evidence["name"] * 4
    labels = np.empty(len(codes), dtype=object)
    labels[:] = [list(_LABELS[code]) for code in codes.tolist()]
    return {"is_vision": _supports_images(columns, evidence, rules), "vision_evidence": labels}


def get_supports_images(frame: pd.DataFrame, rules: str = DEFAULT_RULES) -> pd.Series:
    """Whether each model of ``frame`` reads images under ``rules`` (``"seed"`` or ``"strict"``)."""
    flags = _supports_images(frame, get_vision_evidence(frame), check_rules(rules))
    return pd.Series(flags, index=frame.index, name="is_vision")


def get_name_only_vision(frame: pd.DataFrame) -> pd.DataFrame:
    """Models the seed rules count as vision although their own input modalities list no image.

    Typically a family name match (``openai/gpt-4o-search-preview``): worth a
    look before sending one of them a page.
    """
    disputed = get_supports_images(frame, "seed") & ~get_supports_images(frame, "strict")
    return frame[disputed.to_numpy()]


def get_listed_image_input(input_modalities: Any) -> tuple[np.ndarray, np.ndarray]:
    """(takes an image by its listed input modalities, lists any input modality) per model.

    Where a model lists its inputs, this alone decides the strict rules.
    """
    listed = ["|".join(x).lower() for x in input_modalities]
    lists_inputs = np.fromiter(map(bool, listed), dtype=bool, count=len(listed))
    return _matches(_IMAGE_INPUT, listed), lists_inputs


def decide_vision(
    input_modalities: Any, rules: Rules, any_rule: Callable[[np.ndarray | None], np.ndarray]
) -> np.ndarray:
    """The one place the rule sets are decided: which models read images (a boolean array).

    ``"seed"``: ``any_rule(None)``, whether any of rules 1-3 matched, for
    every model. ``"strict"``: a model's listed input modalities decide; only
    the models that list none are asked about (``any_rule(positions)``), so a
    caller can parse their other fields alone.
    """
    if rules == "seed":
        return any_rule(None)
    takes_image, lists_inputs = get_listed_image_input(input_modalities)
    unlisted = np.flatnonzero(~lists_inputs)
    if len(unlisted):
        takes_image[unlisted] = any_rule(unlisted)
    return takes_image


def any_rule_matched(evidence: Mapping[str, np.ndarray]) -> np.ndarray:
    """Whether any of rules 1-3 matched, per model of :func:`get_vision_evidence`'s answer."""
    return evidence["modality"] | evidence["image_price"] | evidence["name"]


def _supports_images(
    columns: Mapping[str, Any] | pd.DataFrame, evidence: dict[str, np.ndarray], rules: Rules
) -> np.ndarray:
    matched = any_rule_matched(evidence)
    return decide_vision(columns["input_modalities"], rules, lambda rows: matched if rows is None else matched[rows])


def _objects(column: Any) -> np.ndarray:
    return np.asarray(column, dtype=object)


def _matches(pattern: re.Pattern, texts: list[str]) -> np.ndarray:
    return np.fromiter(map(bool, map(pattern.search, texts)), dtype=bool, count=len(texts))
