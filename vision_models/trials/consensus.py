"""Reading quality without ground truth: how far the models agree with one another, page by page.

This measures agreement, not accuracy: three models making the same mistake agree perfectly.

Transcripts
    Two texts agree by ``1 - d / max(len)``, ``d`` their character edit distance after the CER normalisation
    (NFC, whitespace collapsed, optionally case folded). A page's reference is its medoid: the transcript with
    the greatest total agreement with the others (ties: the model listed first). A row's ``agreement`` is its
    mean agreement with the other models' transcripts of the page (its own transcript never counts for it).
Objects (trials with a schema)
    The reference object takes each top-level field by majority (more than half of the models' normalised
    values agree; otherwise the medoid object's value), and lists (line items) from the medoid object, the one
    with the greatest mean field accuracy against the others. A row's ``agreement`` is its field accuracy
    against the reference.
Dissent
    A model ``dissents`` on a page when the other models agree strongly among themselves (mean pairwise
    agreement at least ``strong``, 0.9) and its own agreement is below ``dissent`` (0.7).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from .accuracy import normalise_text
from .extraction import score_fields
from .normalise import infer_kind, normalise, parse_date, parse_number

MIN_MODELS = 3
STRONG = 0.9
DISSENT = 0.7


@dataclass(frozen=True)
class PageConsensus:
    """One page: the reference (and whose answer it is), each model's agreement, and who dissents."""

    reference_model: str
    reference: Any
    models: tuple[str, ...]
    agreement: dict[str, float]
    dissenters: tuple[str, ...]


def text_agreement(a: str, b: str, *, casefold: bool = False) -> float:
    """``1 - edit distance / longer length`` of the normalised texts (1.0 for two empty texts)."""
    return 1.0 - Levenshtein.normalized_distance(
        normalise_text(a, casefold=casefold), normalise_text(b, casefold=casefold)
    )


def agreement_matrix(texts: Sequence[str], *, casefold: bool = False) -> np.ndarray:
    """Pairwise :func:`text_agreement` (1 on the diagonal)."""
    n = len(texts)
    matrix = np.eye(n)
    for i, j in combinations(range(n), 2):
        matrix[i, j] = matrix[j, i] = text_agreement(texts[i], texts[j], casefold=casefold)
    return matrix


def consensus_page(answers: Mapping[str, str], *, casefold: bool = False, strong: float = STRONG,
                   dissent: float = DISSENT) -> PageConsensus:  # fmt: skip
    """The consensus of one page's transcripts (model -> text; three or more)."""
    models = list(answers)
    _check_count(models)
    matrix = agreement_matrix([answers[m] for m in models], casefold=casefold)
    return _consensus(models, matrix, [answers[m] for m in models], strong, dissent)


def consensus_object(answers: Mapping[str, Any], *, fields: Mapping[str, str] | None = None, strong: float = STRONG,
                     dissent: float = DISSENT) -> PageConsensus:  # fmt: skip
    """The consensus of one page's parsed objects (model -> object; three or more; None for an unparsed answer)."""
    models = list(answers)
    _check_count(models)
    objects = [answers[m] if isinstance(answers[m], Mapping) else {} for m in models]
    fields = {**_kinds(objects), **(fields or {})}
    n = len(models)
    matrix = np.eye(n)
    for i, j in combinations(range(n), 2):
        both = (_accuracy(objects[i], objects[j], fields) + _accuracy(objects[j], objects[i], fields)) / 2
        matrix[i, j] = matrix[j, i] = both
    medoid = int(np.argmax(matrix.sum(axis=1) - 1))
    reference = _majority(objects, objects[medoid], fields)
    agreement = {m: _accuracy(objects[i], reference, fields) for i, m in enumerate(models)}
    dissenters = _dissenters(models, matrix, agreement, strong, dissent)
    return PageConsensus(models[medoid], reference, tuple(models), agreement, dissenters)


def _kinds(objects: Sequence[Any]) -> dict[str, str]:
    """Each field path's kind from all the answers: a number when every value reads as one, else a date, else text.

    (The answers play the truth here, so one model writing ``"12.50"`` and another ``12.5`` must still agree.)
    """
    values: dict[str, list[Any]] = {}
    for obj in objects:
        for path, value in _scalars(obj, ""):
            if value is not None and not (isinstance(value, str) and not value.strip()):
                values.setdefault(path, []).append(value)
    out = {}
    for path, found in values.items():
        if all(parse_number(v) is not None for v in found):
            out[path] = "number"
        elif all(parse_date(v) is not None for v in found):
            out[path] = "date"
        else:
            out[path] = "string"
    return out


def _scalars(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [
            pair for name, item in value.items() for pair in _scalars(item, f"{path}.{name}" if path else str(name))
        ]
    if isinstance(value, list):
        return [pair for item in value for pair in _scalars(item, path)]
    return [(path, value)]


def _accuracy(answer: Mapping, truth: Mapping, fields: Mapping[str, str] | None) -> float:
    if not truth:
        return 1.0 if not answer else 0.0
    return score_fields(answer, truth, fields=fields).field_accuracy


def _majority(objects: list[Mapping], medoid: Mapping, fields: Mapping[str, str] | None) -> dict[str, Any]:
    """Each top-level scalar field by majority of the normalised values, else the medoid's; lists from the medoid."""
    names = list(dict.fromkeys(name for obj in objects for name in obj))
    out: dict[str, Any] = {}
    for name in names:
        values = [obj.get(name) for obj in objects]
        if any(isinstance(v, (Mapping, list)) for v in values):
            if name in medoid:
                out[name] = medoid[name]
            continue
        kind = (fields or {}).get(name) or infer_kind(
            medoid.get(name, next((v for v in values if v is not None), None))
        )
        keys = [_key(normalise(v, kind)) for v in values]
        top, count = Counter(keys).most_common(1)[0]
        if count * 2 > len(objects):
            out[name] = values[keys.index(top)]
        elif name in medoid:
            out[name] = medoid[name]
    return out


def _key(value: Any) -> str:
    return repr(value)


def _consensus(
    models: list[str], matrix: np.ndarray, answers: list[Any], strong: float, dissent: float
) -> PageConsensus:
    n = len(models)
    totals = matrix.sum(axis=1) - 1.0
    medoid = int(np.argmax(totals))
    agreement = {m: float(totals[i] / (n - 1)) for i, m in enumerate(models)}
    return PageConsensus(models[medoid], answers[medoid], tuple(models), agreement,
                         _dissenters(models, matrix, agreement, strong, dissent))  # fmt: skip


def _dissenters(models: list[str], matrix: np.ndarray, agreement: Mapping[str, float], strong: float,
                dissent: float) -> tuple[str, ...]:  # fmt: skip
    out = []
    for i, model in enumerate(models):
        others = [j for j in range(len(models)) if j != i]
        pairs = [matrix[j, k] for j, k in combinations(others, 2)]
        if pairs and float(np.mean(pairs)) >= strong and agreement[model] < dissent:
            out.append(model)
    return tuple(out)


def _check_count(models: Sequence[str]) -> None:
    if len(models) < MIN_MODELS:
        raise ValueError(f"truth='consensus' needs {MIN_MODELS} or more models reading the page, not {len(models)}")


#: Columns :func:`consensus_columns` adds to a results frame.
CONSENSUS_COLUMNS = {"agreement": "float64", "consensus_reference": "object", "consensus_models": "object",
                     "dissents": "boolean"}  # fmt: skip


def consensus_columns(results: Any, *, parsed: Sequence[Any] | None = None, casefold: bool = False,
                      strong: float = STRONG, dissent: float = DISSENT) -> Any:  # fmt: skip
    """The consensus columns for a results frame, aligned with its rows (a pandas DataFrame).

    Rows are grouped by page (and repeat, when the frame has one); a group with fewer than three models
    that answered gets NaN / None. ``parsed``: the rows' parsed objects, for an object consensus.
    """
    import pandas as pd

    out = pd.DataFrame({name: pd.Series([None] * len(results), dtype=dtype, index=results.index)
                        for name, dtype in CONSENSUS_COLUMNS.items()})  # fmt: skip
    answered = (results["error"].isna() & results["status"].isin(["ok", "cached"])).tolist()
    texts = results["text"].tolist()
    objects = list(parsed) if parsed is not None else None
    keys = ["page", "repeat"] if "repeat" in results else ["page"]
    for _, group in results.groupby(keys, sort=False):
        positions = [results.index.get_loc(i) for i in group.index]
        chosen: dict[str, int] = {}
        for pos, model in zip(positions, group["model"].tolist()):
            if answered[pos] and model not in chosen and isinstance(texts[pos], str):
                chosen[model] = pos
        if len(chosen) < MIN_MODELS:
            continue
        if objects is not None:
            page = consensus_object({m: objects[p] for m, p in chosen.items()}, strong=strong, dissent=dissent)
        else:
            page = consensus_page({m: texts[p] for m, p in chosen.items()}, casefold=casefold, strong=strong,
                                  dissent=dissent)  # fmt: skip
        for model, pos in chosen.items():
            label = results.index[pos]
            out.loc[label, "agreement"] = page.agreement[model]
            out.loc[label, "consensus_reference"] = page.reference_model
            out.loc[label, "consensus_models"] = ", ".join(page.models)
            out.loc[label, "dissents"] = model in page.dissenters
    return out
