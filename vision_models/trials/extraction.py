"""Scoring a structured answer (a JSON object) field by field against the expected object.

Fields
    Every leaf of the expected object is one field, named by its path (``total``,
    ``supplier.name``, ``line_items.amount``: list indices left out). Values are
    compared after :func:`~vision_models.trials.normalise.normalise` by the field's
    kind: given in ``fields={"path": "number" | "date" | "string" | "exact"}``, else
    inferred from the expected value (a JSON number is a number, an ISO date a date,
    anything else a string, case-folded). Fields of the answer that the truth does
    not have are not scored (the schema check covers them). An expected ``null`` is
    right when the answer has null, a blank or nothing.
Line items (arrays)
    The items of an expected array are matched one-to-one with the answer's by an
    optimal assignment (:func:`assign`, the Hungarian algorithm) that maximises the
    number of equal fields over the matched pairs; order does not count. A matched
    pair is scored field by field; each field of an expected item left unmatched is
    wrong (missing); each answer item left unmatched (extra) counts as many wrong
    fields as an expected item has, so ``field_accuracy`` drops for both.
Critical fields
    ``critical=["total", "invoice_number"]``: ``critical_ok`` is True when every field
    at those paths is right (for a line-item path, in every expected item).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .normalise import KINDS, infer_kind, normalise
from .schema_check import schema_errors

#: A value no normalised value equals (an object or a list where a scalar was expected).
_UNEQUAL = object()
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)


@dataclass(frozen=True)
class FieldScore:
    """How an answer's object scored: counts, accuracy, the critical fields, and what was wrong."""

    fields_total: int
    fields_correct: int
    critical_ok: bool
    errors: tuple[str, ...] = field(default_factory=tuple)
    json_valid: bool | None = None  # None: no schema to check against

    @property
    def field_accuracy(self) -> float:
        """Correct fields over all fields (1.0 when the truth has no field)."""
        return self.fields_correct / self.fields_total if self.fields_total else 1.0

    @property
    def field_errors(self) -> str | None:
        """The wrong fields as one line a person can read, or None when all are right."""
        return "; ".join(self.errors) if self.errors else None


def parse_answer(text: str | None) -> Any:
    """The JSON value an answer holds (bare, in a ``` fence, or the outermost ``{...}``); None when it holds none."""
    if not isinstance(text, str) or not text.strip():
        return None
    candidates = [text.strip()]
    if fenced := _FENCE.match(candidates[0]):
        candidates.append(fenced.group(1).strip())
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except (ValueError, RecursionError):
            continue
    return None


def score_answer(text: str | None, truth: Any, *, schema: Any = None, fields: Mapping[str, str] | None = None,
                 critical: Sequence[str] = (), dayfirst: bool = True) -> tuple[Any, FieldScore]:  # fmt: skip
    """(the parsed object, its score) for a raw answer; an answer that does not parse gets every field wrong."""
    parsed = parse_answer(text)
    valid = None if schema is None else (parsed is not None and not schema_errors(parsed, schema, limit=1))
    score = score_fields(parsed, truth, fields=fields, critical=critical, dayfirst=dayfirst)
    if parsed is None:
        score = FieldScore(score.fields_total, 0, False, ("the answer is not JSON",), valid)
    return parsed, FieldScore(score.fields_total, score.fields_correct, score.critical_ok, score.errors, valid)


def score_fields(answer: Any, truth: Any, *, fields: Mapping[str, str] | None = None, critical: Sequence[str] = (),
                 dayfirst: bool = True) -> FieldScore:  # fmt: skip
    """Score ``answer`` (a parsed object) against ``truth`` field by field (see the module docstring)."""
    kinds = dict(fields or {})
    for path, kind in kinds.items():
        if kind not in KINDS:
            raise ValueError(f"field {path!r}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if isinstance(critical, str):
        critical = [critical]
    scorer = _Scorer(kinds, dayfirst)
    scorer.compare(answer, truth, "", "")
    missing = [c for c in critical if c not in scorer.seen]
    if missing:
        raise ValueError(
            f"critical field {missing[0]!r} is not in the truth (fields: {', '.join(sorted(scorer.seen))})"
        )
    critical_ok = not any(path in scorer.wrong_paths for path in critical)
    return FieldScore(scorer.total, scorer.correct, critical_ok, tuple(scorer.errors))


class _Scorer:
    """Walks the truth, counting fields and collecting what was wrong."""

    def __init__(self, kinds: dict[str, str], dayfirst: bool) -> None:
        self.kinds = kinds
        self.dayfirst = dayfirst
        self.total = 0
        self.correct = 0
        self.errors: list[str] = []
        self.seen: set[str] = set()
        self.wrong_paths: set[str] = set()

    def compare(self, answer: Any, truth: Any, path: str, shown: str) -> None:
        if isinstance(truth, Mapping):
            got = answer if isinstance(answer, Mapping) else {}
            for name, expected in truth.items():
                self.compare(got.get(name), expected, _join(path, name), _join(shown, name))
        elif isinstance(truth, list):
            self._compare_items(answer if isinstance(answer, list) else [], truth, path, shown)
        else:
            self.seen.add(path)
            self.total += 1
            kind = self.kinds.get(path) or infer_kind(truth)
            if self._same(answer, truth, kind):
                self.correct += 1
            else:
                self.wrong_paths.add(path)
                self.errors.append(f"{shown or '(value)'}: expected {_show(truth)}, read {_show(answer)}")

    def _same(self, answer: Any, truth: Any, kind: str) -> bool:
        if isinstance(answer, (Mapping, list)):
            return False
        return normalise(answer, kind, dayfirst=self.dayfirst) == normalise(truth, kind, dayfirst=self.dayfirst)

    @staticmethod
    def _similarity(
        norm_e: list[dict[str, Any]], kinds: list[dict[str, str]], answers: int, got_value: Any
    ) -> np.ndarray:
        """Equal fields per (expected item, answer item): values become integer ids, compared a whole leaf at a time."""
        ids: dict[Any, int] = {}
        similarity = np.zeros((len(norm_e), answers))
        for leaf in dict.fromkeys(k for e in norm_e for k in e):
            expected = np.array([ids.setdefault(e[leaf], len(ids)) if leaf in e else -3 for e in norm_e])
            by_kind: dict[str, list[int]] = {}
            rows = []
            for i in range(len(norm_e)):
                kind = kinds[i].get(leaf, "string")
                if kind not in by_kind:
                    by_kind[kind] = [-2 if (v := got_value(j, leaf, kind)) is _UNEQUAL else ids.setdefault(v, len(ids))
                                     for j in range(answers)]  # fmt: skip
                rows.append(by_kind[kind])
            similarity += np.array(rows, dtype=np.int64).reshape(len(norm_e), answers) == expected[:, None]
        return similarity

    def _compare_items(self, answer: list, truth: list, path: str, shown: str) -> None:
        expected = [_leaves(item, "") for item in truth]
        got = [_leaves(item, "") if isinstance(item, (Mapping, list)) or item is not None else {} for item in answer]
        kinds = [{leaf: self.kinds.get(_join(path, leaf)) or infer_kind(v) for leaf, v in e.items()} for e in expected]
        norm_e = [
            {k: normalise(v, kinds[i][k], dayfirst=self.dayfirst) for k, v in e.items()} for i, e in enumerate(expected)
        ]
        cache: dict[tuple[int, str, str], Any] = {}  # each answer value normalised once per kind

        def got_value(j: int, leaf: str, kind: str) -> Any:
            key = (j, leaf, kind)
            if key not in cache:
                value = got[j].get(leaf)
                cache[key] = (
                    _UNEQUAL if isinstance(value, (Mapping, list)) else normalise(value, kind, dayfirst=self.dayfirst)
                )
            return cache[key]

        pairs = assign(self._similarity(norm_e, kinds, len(got), got_value))
        matched_answers = {j for _, j in pairs}
        for i, j in pairs:
            for leaf, expected_value in expected[i].items():
                where, label = _join(path, leaf), f"{shown}[{i}]" + (f".{leaf}" if leaf else "")
                if isinstance(expected_value, list):
                    self.compare(got[j].get(leaf), expected_value, where, label)
                    continue
                self.seen.add(where)
                self.total += 1
                if norm_e[i][leaf] == got_value(j, leaf, kinds[i][leaf]):
                    self.correct += 1
                else:
                    self.wrong_paths.add(where)
                    self.errors.append(f"{label}: expected {_show(expected_value)}, read {_show(got[j].get(leaf))}")
        for i in sorted(set(range(len(truth))) - {i for i, _ in pairs}):
            width = max(1, len(expected[i]))
            self.total += width
            self.seen.update(_join(path, leaf) for leaf in expected[i])
            self.wrong_paths.update(_join(path, leaf) for leaf in expected[i])
            self.errors.append(f"{shown}[{i}]: missing ({_show(truth[i])})")
        width = max((len(e) for e in expected), default=1) or 1
        for j in sorted(set(range(len(answer))) - matched_answers):
            self.total += width
            self.wrong_paths.add(path)
            self.errors.append(f"{shown}: extra item {_show(answer[j])}")
        if not truth:
            self.seen.add(path)


def assign(similarity: np.ndarray) -> list[tuple[int, int]]:
    """The one-to-one pairs (row, column) of greatest total similarity (Hungarian algorithm, O(n^3)).

    A rectangular matrix pairs min(rows, columns) of them; ties go to the lower indices as the algorithm meets them.
    """
    sim = np.asarray(similarity, dtype="float64")
    if sim.ndim != 2:
        raise ValueError(f"similarity must be a 2-D matrix, not {sim.ndim}-D")
    rows, cols = sim.shape
    if rows == 0 or cols == 0:
        return []
    transposed = rows > cols
    best = np.argmax(sim.T if transposed else sim, axis=1)
    if len(set(best.tolist())) == len(best):  # each row's best column differs: the sum of row maxima, an upper bound
        pairs = (
            [(j, int(i)) for j, i in enumerate(best)] if not transposed else [(int(i), j) for j, i in enumerate(best)]
        )
        return sorted(pairs)
    cost = -(sim.T if transposed else sim)  # n <= m: every row gets a column
    n, m = cost.shape
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    p = np.zeros(m + 1, dtype=np.int64)  # p[j]: the row (1-based) holding column j; column 0 is the free slot
    way = np.zeros(m + 1, dtype=np.int64)
    padded = np.zeros((n + 1, m + 1))
    padded[1:, 1:] = cost
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            reduced = padded[i0] - u[i0] - v
            free = ~used
            better = free & (reduced < minv)
            minv[better] = reduced[better]
            way[better] = j0
            candidates = np.where(free, minv, np.inf)
            candidates[0] = np.inf
            j1 = int(np.argmin(candidates))
            delta = candidates[j1]
            u[p[used]] += delta
            v[used] -= delta
            minv[free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = int(way[j0])
            p[j0] = p[j1]
            j0 = j1
    pairs = [(int(p[j]) - 1, j - 1) for j in range(1, m + 1) if p[j]]
    if transposed:
        pairs = [(j, i) for i, j in pairs]
    return sorted(pairs)


def _leaves(value: Any, path: str) -> dict[str, Any]:
    """The leaf values of ``value`` by path (a scalar is one leaf, path ``""``); nested lists are one leaf each."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for name, item in value.items():
            out.update(_leaves(item, _join(path, name)))
        return out
    return {path: value}


def _join(path: str, name: Any) -> str:
    return f"{path}.{name}" if path and name != "" else (path or str(name))


def _show(value: Any, limit: int = 60) -> str:
    if value is None:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
