"""What each catalog entry is for: a page reader, or something that must not be ranked as one.

A cost ranking of "models that take an image" is only useful among models
that read an image into text. The catalog also lists image and music
generators, routers and aliases (names that pick another model), safety
classifiers that answer "safe"/"unsafe", GUI agents that answer with clicks,
and embedding models. :func:`kind_columns` gives every entry a ``kind``
(one of :data:`KINDS`) and the rule that decided it (``kind_reason``).

The catalog's own fields decide first: the ``~`` id of an alias, a router's
variable price or ``Router`` tokenizer, the output modalities, and a few
exact phrases of the description. Only then the documented name patterns of
:data:`NAME_PATTERNS` (each with its reason). Everything else is a
``reader``: whether it takes images at all is ``is_vision``'s business.

``variant_of`` links a listing to the model it is a variant of: ``:free``,
``:beta``, ``:extended``, ``:thinking`` listings and dated snapshots
(``openai/gpt-4o-2024-08-06``, ``openai/gpt-4-0314``) name their base model,
when that base model is in the same catalog; chains are followed to the root
(``claude-3.5-haiku-20241022:beta`` -> ``claude-3.5-haiku``). A listing
whose base is not listed is its own base (missing ``variant_of``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

#: The kinds, in the order a rule is tried (the first that matches decides); ``reader`` is what is left.
KINDS = ("alias", "router", "embedding", "generator", "guard", "agent", "reader")

#: The kind a ranking of page readers keeps.
READER = "reader"


class NamePattern(NamedTuple):
    """A documented name rule: ids matching ``pattern`` (case-insensitive) are of ``kind``, for ``reason``.

    ``needles``: lower-case words a text must hold for the pattern to be tried (a description is long: most are
    passed over by a substring test instead of a case-insensitive search); empty: always tried.
    """

    kind: str
    pattern: str
    reason: str
    needles: tuple[str, ...] = ()


#: Phrases of a catalog description that say what a model is for (case-insensitive regular expressions).
DESCRIPTION_PATTERNS = (
    NamePattern(
        "guard",
        r"\bsafety classification\b|\bsafety reasoning model\b",
        "the description says it classifies content as safe or unsafe (Llama Guard 3 and 4: 'fine-tuned for "
        "content safety classification'; gpt-oss-safeguard: 'a safety reasoning model')",
        ("safety",),
    ),
    NamePattern(
        "agent",
        r"\bagent optimi[sz]ed for GUI\b",
        "the description says it is a GUI agent (UI-TARS-1.5: 'a multimodal vision-language agent optimized for "
        "GUI-based environments'); models that merely list GUI control among their skills stay readers",
        ("gui",),
    ),
)

#: Name rules, tried after the catalog's fields; each names the kind and why.
NAME_PATTERNS = (
    NamePattern(
        "embedding", r"embed", "embedding models return vectors, not text (text-embedding-3-small)", ("embed",)
    ),
    NamePattern(
        "guard",
        r"llama-guard|shieldgemma|safeguard",
        "safety classifiers: answer safe/unsafe with a category",
        ("guard", "shieldgemma"),
    ),
    NamePattern(
        "guard",
        r"moderation",
        "moderation models score content against a policy, they do not transcribe",
        ("moderation",),
    ),
    NamePattern(
        "agent",
        r"ui-tars|computer-use|\bcua\b",
        "GUI / computer-use agents answer with actions (clicks)",
        ("ui-tars", "computer-use", "cua"),
    ),
)

#: Output modalities that make neither an embedding model nor a generator (checked without a loop per value).
_TEXT_ONLY = {("text",)}

#: The id suffixes that make a listing a variant (``google/gemma-3-27b-it:free``): anything after the last ``:``.
VARIANT_SUFFIX = re.compile(r"^(?P<base>[^:]+):[A-Za-z0-9_.-]+$")

#: Dates at the end of an id that mark a snapshot of a model: ``-2024-08-06``, ``-20241022``, ``-08-2024``
#: (month-year), ``-05-06`` (month-day), and four digits read as MMDD (``-0613``) or YYMM (``-2411``).
SNAPSHOT_DATE = re.compile(
    r"^(?P<base>.+?)-(?:\d{4}-\d{2}-\d{2}|20\d{6}|\d{2}-20\d{2}|(?:0[1-9]|1[0-2])-\d{2}|(?P<four>\d{4}))$"
)


def kind_columns(
    ids: Sequence[str],
    descriptions: Sequence[Any],
    outputs: Sequence[Any] | np.ndarray,
    *,
    router: np.ndarray,
    alias: np.ndarray,
    canonical: Sequence[Any] | None = None,
    among: tuple[Sequence[str], Sequence[Any]] | None = None,
) -> dict[str, Any]:
    """``kind``, ``kind_reason`` and ``variant_of`` of catalog entries, from their fields then their names.

    ``router`` and ``alias``: the frame's ``is_router`` and ``is_alias``;
    ``outputs``: each entry's output modalities (lists); ``canonical``: each
    entry's ``canonical_slug`` (listings that share one are one model);
    ``among``: the whole catalog's ids and slugs when the entries are some of
    them (a variant's base need not be among the entries).
    """
    n = len(ids)
    kind = np.full(n, READER, dtype=object)
    reason = np.full(n, "reads images into text (no rule says otherwise)", dtype=object)
    decided = np.zeros(n, dtype=bool)

    def decide(mask: np.ndarray, name: str, why: str) -> None:
        mask = mask & ~decided
        kind[mask] = name
        reason[mask] = why
        decided[mask] = True

    decide(np.asarray(alias, dtype=bool), "alias", "the catalog lists it as an alias (its id starts with '~')")
    decide(
        np.asarray(router, dtype=bool),
        "router",
        "the catalog prices it as a router (variable price or Router tokenizer)",
    )
    listed = [out if isinstance(out, list | tuple | np.ndarray) else () for out in outputs]
    plain = [not out or tuple(out) in _TEXT_ONLY for out in listed]  # nearly every model: nothing to look at
    embeds = np.fromiter(
        (not p and any(str(o).startswith("embedding") for o in out) for p, out in zip(plain, listed)), bool, count=n
    )
    decide(embeds, "embedding", "its output modalities list embeddings")
    makes = np.fromiter(
        (not p and any(o not in ("text", "embeddings") for o in out) for p, out in zip(plain, listed)), bool, count=n
    )
    decide(makes, "generator", "its output modalities list more than text (it makes images or audio)")
    texts = [d if isinstance(d, str) else "" for d in descriptions]
    for rule, found in zip(DESCRIPTION_PATTERNS, _matches_each(texts, DESCRIPTION_PATTERNS)):
        decide(found, rule.kind, rule.reason)
    for rule, found in zip(NAME_PATTERNS, _matches_each(ids, NAME_PATTERNS)):
        decide(found, rule.kind, f"its name matches {rule.pattern!r}: {rule.reason}")
    return {
        "kind": pd.array(kind.tolist(), dtype="str"),
        "kind_reason": pd.array(reason.tolist(), dtype="str"),
        "variant_of": variant_bases(ids, canonical, among=among),  # the frame makes it text with missing values
    }


def variant_bases(
    ids: Sequence[str],
    canonical: Sequence[Any] | None = None,
    *,
    among: tuple[Sequence[str], Sequence[Any]] | None = None,
) -> list[str | None]:
    """The base model of each listing that is a variant of another listing of the catalog; None for the rest.

    A ``:suffix`` listing that shares its ``canonical_slug`` with exactly one
    listing without a suffix is that listing's variant (the catalog's own
    link); else the name rules (a ``:suffix``, a trailing snapshot date)
    where the stripped id is listed. Chains end at the root. ``among``: the
    whole catalog's ids and canonical slugs, when ``ids`` are some of them.
    """
    all_ids, all_slugs = (
        among if among is not None else (ids, canonical if canonical is not None else [None] * len(ids))
    )
    listed = set(all_ids)
    by_slug: dict[str, list[str]] = {}
    for model_id, slug in zip(all_ids, all_slugs):
        if isinstance(slug, str) and slug and ":" not in model_id:
            by_slug.setdefault(slug, []).append(model_id)
    parent: dict[str, str] = {}
    for model_id, slug in zip(all_ids, all_slugs):
        plain = by_slug.get(slug, []) if isinstance(slug, str) and ":" in model_id else []
        base = plain[0] if len(plain) == 1 else _stripped(model_id, listed)  # the catalog's link first
        if base is not None and base != model_id:
            parent[model_id] = base
    return [_root(model_id, parent) for model_id in ids]


def base_ids(models: pd.DataFrame) -> pd.Series:
    """Each row's base model: ``variant_of`` where there is one, else its own id (a frame without the column: ids)."""
    ids = models["id"].astype(object)
    if "variant_of" not in models:
        return ids
    return models["variant_of"].astype(object).where(models["variant_of"].notna(), ids)


def check_kinds(kinds: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``kinds`` as a tuple of known kinds (None: all); an unknown one is a ``ValueError`` naming it."""
    if kinds is None:
        return None
    chosen = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    for name in chosen:
        if name not in KINDS:
            raise ValueError(f"unknown kind {name!r}; known: {', '.join(KINDS)}")
    return chosen


def _stripped(model_id: str, listed: set[str]) -> str | None:
    """The id without its ``:suffix`` or its snapshot date, when that id is listed; else None."""
    if ":" not in model_id and not model_id[-1:].isdigit():  # neither a suffix nor a date: most ids
        return None
    for pattern in (VARIANT_SUFFIX, SNAPSHOT_DATE):
        match = pattern.match(model_id)
        if match is None:
            continue
        if pattern is SNAPSHOT_DATE and match.group("four") and not _date_like(match.group("four")):
            continue
        base = match.group("base")
        if base != model_id and base in listed:
            return base
    return None


def _date_like(four: str) -> bool:
    """Four digits that read as MMDD (``0613``) or as YYMM from 2023 on (``2411``)."""
    first, second = int(four[:2]), int(four[2:])
    return (1 <= first <= 12 and 1 <= second <= 31) or (23 <= first <= 39 and 1 <= second <= 12)


def _root(model_id: str, parent: dict[str, str]) -> str | None:
    seen = {model_id}
    base = parent.get(model_id)
    while base is not None and base in parent and parent[base] not in seen:
        seen.add(base)
        base = parent[base]
    return base


def _matches_each(texts: Sequence[str], rules: Sequence[NamePattern]) -> list[np.ndarray]:
    """For each rule, which texts it matches (case-insensitive); a rule with ``needles`` searches only the texts
    that hold one of them."""
    lowered: list[str] | None = None
    found = []
    for rule in rules:
        compiled = re.compile(rule.pattern, re.IGNORECASE)
        if rule.needles:
            lowered = lowered if lowered is not None else [text.lower() for text in texts]
            tried = [i for i, low in enumerate(lowered) if any(needle in low for needle in rule.needles)]
        else:
            tried = list(range(len(texts)))
        mask = np.zeros(len(texts), dtype=bool)
        mask[[i for i in tried if compiled.search(texts[i]) is not None]] = True
        found.append(mask)
    return found


def kind_of(models: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``kind`` and ``variant_of`` of each row as object arrays (a hand-made frame without them: readers, no base)."""
    n = len(models)
    kind = models["kind"].to_numpy(dtype=object) if "kind" in models else np.full(n, READER, dtype=object)
    if "variant_of" in models:
        base = models["variant_of"].astype(object).to_numpy(dtype=object)
        base = np.where(pd.isna(base), None, base)
    else:
        base = np.full(n, None, dtype=object)
    return kind, base


def kind_mask(models: pd.DataFrame, kinds: str | Sequence[str] | None) -> np.ndarray:
    """True for the rows whose ``kind`` is one of ``kinds`` (None: every row); rows without a kind are readers."""
    chosen = check_kinds(kinds)
    if chosen is None:
        return np.ones(len(models), dtype=bool)
    return np.isin(kind_of(models)[0].astype(str), list(chosen))


def repeated_bases(models: pd.DataFrame, among: np.ndarray) -> np.ndarray:
    """True for the rows of ``among`` whose base model an earlier row of ``among`` already has (first row wins).

    The base is ``variant_of``, or the row's own id: in a table sorted
    cheapest first, each base model keeps its cheapest listing.
    """
    base = base_ids(models).to_numpy(dtype=object)
    repeated = pd.Series(base[among], dtype=object).duplicated().to_numpy(dtype=bool)
    out = np.zeros(len(models), dtype=bool)
    out[np.flatnonzero(among)[repeated]] = True
    return out


def select_kinds(models: pd.DataFrame, kinds: str | Sequence[str] | None) -> pd.DataFrame:
    """The rows of a catalog frame whose ``kind`` is one of ``kinds`` (None, or "all": every row), in their order."""
    if kinds == "all" or (not isinstance(kinds, str) and kinds is not None and "all" in kinds):
        return models
    return models[kind_mask(models, kinds)]


def kind_counts(kinds: Iterable[object]) -> str:
    """The kinds of some models counted in words, most first: "8 aliases, 2 routers, 1 agent, 1 guard"."""
    counts = pd.Series(list(kinds), dtype=object).value_counts(sort=False)
    ordered = sorted(((str(kind), int(n)) for kind, n in counts.items()), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{n} {kind}{('es' if kind.endswith('s') else 's') if n != 1 else ''}" for kind, n in ordered)
