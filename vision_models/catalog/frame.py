"""Turn the entries of an OpenRouter catalog response into one typed DataFrame.

Each column is built from the whole list of entries at once (one list
comprehension per field, then a vectorised conversion), never row by row
through ``apply`` or ``json_normalize``: that is what keeps a warm
``fetch_vision_models()`` close to the cost of reading the cached body.
Odd fields (nulls, numbers where strings belong, nested junk) become missing
values in their own cell and never drop the other models.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from .kinds import kind_columns
from .vision import (
    DEFAULT_RULES,
    Rules,
    any_rule_matched,
    check_rules,
    decide_vision,
    get_vision_evidence,
    vision_columns,
)

#: Columns of the catalog frame, in order (``is_vision`` and
#: ``vision_evidence`` are added by :mod:`vision_models.catalog.vision`).
BASE_COLUMNS = [
    "id",
    "name",
    "description",
    "provider",
    "context_length",
    "modality",
    "input_modalities",
    "output_modalities",
    "prompt_usd_per_mtok",
    "completion_usd_per_mtok",
    "image_price",
    "request_usd",
    "max_completion_tokens",
    "created",
    "cache_read_usd_per_mtok",
    "discount",
    "image_token_usd_per_mtok",
    "image_output_usd_per_image",
    "web_search_usd",
    "reasoning_usd_per_mtok",
    "supported_parameters",
    "structured_outputs",
    "takes_files",
    "expiration_date",
    "expiring",
    "is_router",
    "free",
    "is_alias",
    "alias_of",
    "kind",
    "kind_reason",
    "variant_of",
]
#: ``supported_parameters`` that mean the model can be held to a JSON schema.
STRUCTURED_OUTPUT_PARAMETERS = frozenset({"structured_outputs", "response_format"})

_EMPTY: dict = {}
_PER_MILLION = 1_000_000
# Per-token prices scaled to per-million carry float noise (2.4999999999999996);
# ten decimals of a dollar per million tokens keep every real price exact.
_PRICE_DECIMALS = 10


def vision_rows(models: list[dict], arch: list[dict], inputs: np.ndarray, rules: Rules) -> np.ndarray:
    """Which usable entries read images under ``rules``, parsing as little as the rules need.

    The rule is :func:`~vision_models.catalog.vision.decide_vision`'s; here only
    the models it asks about (under strict rules, those listing no inputs) have
    their image price and name read.
    """

    def any_rule(rows: np.ndarray | None) -> np.ndarray:
        some = models if rows is None else [models[i] for i in rows]
        some_arch = arch if rows is None else [arch[i] for i in rows]
        ids = _field(some, "id")
        probe = {
            "id": ids,
            "name": [v if isinstance(v, str) else i for v, i in zip(_field(some, "name"), ids)],
            "modality": _strings(_field(some_arch, "modality")),
            "input_modalities": inputs if rows is None else inputs[rows],
            "image_price": _price(_field(_mappings(_field(some, "pricing")), "image")),
        }
        return any_rule_matched(get_vision_evidence(probe))

    return decide_vision(inputs, rules, any_rule)


def model_columns(
    models: list[dict],
    arch: list[dict] | None = None,
    inputs: np.ndarray | None = None,
    catalog: list[dict] | None = None,
) -> dict[str, Any]:
    """The columns of usable entries (dicts with a unique string ``id``).

    ``arch`` and ``inputs``: their parsed ``architecture`` and input modalities, when already at hand;
    ``catalog``: every usable entry, when ``models`` are some of them (a variant's base may be among the rest).
    """
    ids = _field(models, "id")
    arch = _mappings(_field(models, "architecture")) if arch is None else arch
    pricing = _mappings(_field(models, "pricing"))
    top = _mappings(_field(models, "top_provider"))
    prompt_listed = _numbers(_field(pricing, "prompt"))
    completion_listed = _numbers(_field(pricing, "completion"))
    inputs = _lists(_field(arch, "input_modalities")) if inputs is None else inputs
    parameters = _lists(_field(models, "supported_parameters"))
    expiration = _dates(_field(models, "expiration_date"))
    router = _routers(ids, arch, prompt_listed, completion_listed)
    outputs = _lists(_field(arch, "output_modalities"))
    canonical = _field(models, "canonical_slug")
    aliases = alias_columns(ids, canonical)
    among = None if catalog is None else (_field(catalog, "id"), _field(catalog, "canonical_slug"))
    kinds = kind_columns(
        ids,
        _field(models, "description"),
        outputs,
        router=router,
        alias=aliases["is_alias"],
        canonical=canonical,
        among=among,
    )
    return {
        "id": _text(ids),
        "name": _text([v if isinstance(v, str) else i for v, i in zip(_field(models, "name"), ids)]),
        "description": _text(_strings(_field(models, "description"))),
        "provider": _text([_provider(i) for i in ids]),
        "context_length": _count(_field(models, "context_length")),
        "modality": _text(_strings(_field(arch, "modality"))),
        "input_modalities": inputs,
        "output_modalities": outputs,
        "prompt_usd_per_mtok": _scaled_price(prompt_listed, _PER_MILLION),
        "completion_usd_per_mtok": _scaled_price(completion_listed, _PER_MILLION),
        "image_price": _price(_field(pricing, "image")),
        "request_usd": _price(_field(pricing, "request")),
        "max_completion_tokens": _count(_field(top, "max_completion_tokens")),
        "created": _timestamps(_field(models, "created")),
        "cache_read_usd_per_mtok": _price(_field(pricing, "input_cache_read"), _PER_MILLION),
        "discount": _fraction(_field(pricing, "discount")),
        "image_token_usd_per_mtok": _price(_field(pricing, "image_token"), _PER_MILLION),
        "image_output_usd_per_image": _price(_field(pricing, "image_output")),
        "web_search_usd": _price(_field(pricing, "web_search")),
        "reasoning_usd_per_mtok": _price(_field(pricing, "internal_reasoning"), _PER_MILLION),
        "supported_parameters": parameters,
        "structured_outputs": np.array(
            [not STRUCTURED_OUTPUT_PARAMETERS.isdisjoint(x) for x in parameters], dtype=bool
        ),
        "takes_files": np.array(["file" in x for x in inputs], dtype=bool),
        "expiration_date": expiration,
        "expiring": np.asarray(expiration.notna()),
        "is_router": router,
        "free": _free(pricing, prompt_listed, completion_listed, router),
        **aliases,
        **kinds,
        "variant_of": optional_text(kinds["variant_of"]),
    }


#: What starts the id of an OpenRouter alias (``~openai/gpt-latest``): a moving name for the newest model of a family.
ALIAS_PREFIX = "~"


def is_alias_id(ids: Any) -> np.ndarray:
    """Which ids are OpenRouter aliases: they start with ``~`` (``~anthropic/claude-sonnet-latest``).

    Only the ``~`` ids: ``openai/chatgpt-4o-latest`` ends in ``-latest`` too,
    but it is a listing of its own (OpenAI's name, priced by OpenRouter as one
    model), not a second name for another listing.
    """
    return np.array([isinstance(i, str) and i.startswith(ALIAS_PREFIX) for i in ids], dtype=bool)


def alias_columns(ids: list[str], canonical: list[Any]) -> dict[str, Any]:
    """``is_alias`` and ``alias_of``: the model an alias names, where the catalog says.

    An alias's ``canonical_slug`` is read as the model it names when it differs
    from the alias's own id (as a ``:free`` variant's names its paid model).
    Every alias of the 2026 catalogs lists its own id there and says nothing
    else about its target (the description only says it "always redirects to
    the latest model" of a family), so ``alias_of`` is missing on all of them.
    """
    alias = is_alias_id(ids)
    named = [
        c if a and isinstance(c, str) and c and c != i else None for a, c, i in zip(alias.tolist(), canonical, ids)
    ]
    return {"is_alias": alias, "alias_of": optional_text(named)}


def _field(objects: list[dict], key: str) -> list[Any]:
    """``obj.get(key)`` of every object, in one C-level pass."""
    return list(map(dict.get, objects, repeat(key, len(objects))))


def _mappings(values: list[Any]) -> list[dict]:
    return [v if isinstance(v, dict) else _EMPTY for v in values]


def _strings(values: list[Any]) -> list[str]:
    return [v if isinstance(v, str) else "" for v in values]


def _usable_entries(entries: list[Any]) -> list[dict]:
    unique, problems = _split_entries(entries)
    for problem in problems:
        warnings.warn(problem, stacklevel=4)
    return unique


def entry_problems(entries: list[Any]) -> list[str]:
    """What building a frame of ``entries`` warns about: entries without a string id, repeated ids ([] when none)."""
    return _split_entries(entries)[1]


def _split_entries(entries: list[Any]) -> tuple[list[dict], list[str]]:
    """The usable entries (dicts with a unique non-empty string ``id``, first kept) and what was skipped."""
    problems = []
    models = [m for m in entries if isinstance(m, dict) and isinstance(m.get("id"), str) and m["id"]]
    if len(models) < len(entries):
        problems.append(f"skipped {len(entries) - len(models)} catalog entries without a string id")
    first: dict[str, dict] = {}
    for m in models:
        first.setdefault(m["id"], m)
    unique = list(first.values())
    if len(unique) < len(models):
        problems.append(f"skipped {len(models) - len(unique)} catalog entries with a repeated id (kept the first)")
    return unique, problems


def _provider(model_id: str) -> str:
    """The id's prefix (``openai`` of ``openai/gpt-4o``); a ``~`` alias marker is dropped."""
    return model_id.partition("/")[0].lstrip("~")


def _text(values: list[str]):
    return pd.array(values, dtype="str")


# pandas 3's ``str`` keeps None missing; pandas 2's writes it as "None".
_STR_KEEPS_MISSING = bool(pd.isna(pd.array([None], dtype="str"))[0])


def optional_text(values: list[str | None]):
    """Text with missing values kept missing: ``str`` on pandas 3, objects (NaN for missing) on pandas 2."""
    if _STR_KEEPS_MISSING:
        return pd.array(values, dtype="str")
    return pd.array([np.nan if v is None else v for v in values], dtype=object)


def _lists(values: list[Any]) -> np.ndarray:
    """Lists of text, one per model; members that are not text become text."""
    lists = [x if type(x) is list else [] for x in values]
    try:
        for _ in map("|".join, lists):  # one pass in C: every member is text, the usual case
            pass
    except TypeError:
        lists = [[str(v) for v in x] for x in lists]
    column = np.empty(len(lists), dtype=object)
    column[:] = lists
    return column


_PLAIN_TYPES = {str, int, float, type(None)}


def _numbers(values: list[Any]) -> np.ndarray:
    """Floats from strings or numbers; anything else (bools, dicts, junk) is NaN."""
    numbers = None
    if set(map(type, values)) <= _PLAIN_TYPES:
        try:  # the usual case, parsed in C: numeric strings, numbers, nulls
            numbers = np.array(values, dtype="float64")
        except (ValueError, OverflowError):
            pass
    if numbers is None:
        plain = np.array([v if type(v) in (str, int, float) else None for v in values], dtype=object)
        numbers = pd.to_numeric(plain, errors="coerce").astype("float64")
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers


def _price(values: list[Any], scale: int = 1) -> np.ndarray:
    """A price column: negative (``"-1"``: variable) and unparseable values are NaN, never 0."""
    return _scaled_price(_numbers(values), scale)


def _scaled_price(numbers: np.ndarray, scale: int = 1) -> np.ndarray:
    prices = numbers.copy()
    prices[prices < 0] = np.nan
    if scale != 1:
        prices = np.round(prices * scale, _PRICE_DECIMALS)
    return prices


def _fraction(values: list[Any]) -> np.ndarray:
    """A share between 0 and 1 (``discount``: the price is multiplied by 1 - discount); else NaN."""
    numbers = _numbers(values)
    numbers[(numbers < 0) | (numbers > 1)] = np.nan
    return numbers


def _routers(ids: list[str], arch: list[dict], prompt: np.ndarray, completion: np.ndarray) -> np.ndarray:
    """Entries that route each request to another model instead of being one.

    A variable price (``"-1"``, as on ``openrouter/auto``) or the catalog's own
    ``Router`` tokenizer (``openrouter/free``); not the ``~`` aliases, which
    carry the fixed prices of the one model they currently name.
    """
    variable = (prompt < 0) | (completion < 0)
    named = np.array([a.get("tokenizer") == "Router" and i[0] != "~" for a, i in zip(arch, ids)], dtype=bool)
    return variable | named


def _free(pricing: list[dict], prompt: np.ndarray, completion: np.ndarray, router: np.ndarray) -> np.ndarray:
    """True when prompt and completion are listed as 0 and every other listed price is 0 too.

    A router is never free: it routes to models that may not be. Only the few
    rows priced 0/0 have their whole pricing read.
    """
    free = (prompt == 0) & (completion == 0) & ~router
    for row in np.flatnonzero(free).tolist():
        free[row] = all(_is_zero(value) for key, value in pricing[row].items() if key != "discount")
    return free


def _is_zero(value: Any) -> bool:
    if type(value) not in (str, int, float):
        return not isinstance(value, (str, int, float, bool, type(None)))  # tiers and other nested data: not a price
    try:
        return float(value) == 0
    except ValueError:
        return False


def _dates(values: list[Any]) -> pd.DatetimeIndex:
    """ISO dates or datetimes as UTC datetimes (a bare date is midnight UTC); missing or junk is NaT."""
    dates = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    listed = [i for i, v in enumerate(values) if isinstance(v, str) and v]
    if listed:
        texts = [values[i] for i in listed]
        try:  # the usual case, parsed in C: plain dates such as "2026-05-07"
            if not all(len(t) == 10 for t in texts):
                raise ValueError("not all plain dates")
            dates[listed] = np.array(texts, dtype="datetime64[us]")
        except ValueError:  # times, offsets, junk: pandas reads what it can, the rest is NaT
            parsed = pd.to_datetime(texts, utc=True, errors="coerce", format="ISO8601")
            dates[listed] = parsed.tz_localize(None).to_numpy(dtype="datetime64[us]")
    return pd.DatetimeIndex(dates).tz_localize("UTC")


def _count(values: list[Any]) -> pd.arrays.IntegerArray:
    """A non-negative whole number (token counts) as nullable Int64."""
    numbers = _numbers(values)
    missing = ~((numbers >= 0) & (numbers < 2**53)) | (numbers != np.floor(numbers))
    return pd.arrays.IntegerArray(np.where(missing, 0, numbers).astype("int64"), missing)


def _timestamps(values: list[Any]) -> pd.DatetimeIndex:
    """Unix seconds as UTC datetimes; junk and dates beyond the year 5000 are NaT."""
    seconds = _numbers(values)
    seconds[np.abs(seconds) >= 1e11] = np.nan
    return pd.DatetimeIndex(np.round(seconds * 1e6).astype("datetime64[us]")).tz_localize("UTC")


def models_frame(entries: list[Any], rules: str = DEFAULT_RULES, *, vision_only: bool = False) -> pd.DataFrame:
    """The sorted catalog frame of a ``data`` list, vision columns included.

    Rows are chosen and ordered on the column arrays, so the ``DataFrame`` is
    built once, already in its final shape.
    """
    models = _usable_entries(entries)
    if vision_only:  # decide vision on the few columns it needs, then build the rest for those rows only
        arch = _mappings(_field(models, "architecture"))
        inputs = _lists(_field(arch, "input_modalities"))
        keep = np.flatnonzero(vision_rows(models, arch, inputs, check_rules(rules))).tolist()
        columns = model_columns([models[i] for i in keep], [arch[i] for i in keep], inputs[keep], catalog=models)
    else:
        columns = model_columns(models)
    columns.update(vision_columns(columns, rules))
    rows = sort_order(columns)
    return pd.DataFrame({name: values[rows] for name, values in columns.items()}, index=pd.RangeIndex(len(rows)))


def stored_models_frame(
    stored: Mapping[str, list[Any]], rules: str = DEFAULT_RULES, *, vision_only: bool = False
) -> pd.DataFrame:
    """The sorted catalog frame of a store's columns, equal to what :func:`models_frame` makes of the same models.

    ``stored``: ``id``, ``name``, ``context_length``, ``prompt_usd_per_mtok``,
    ``completion_usd_per_mtok``, ``image_price``, ``request_usd``, ``modality``
    and ``input_modalities`` (lists of text), as the history keeps them. What is
    not stored is empty (no description, creation time, limit, parameters).
    Neither a prompt nor a completion price stored is a variable price: a router.
    """
    ids = list(stored["id"])
    none = [None] * len(ids)
    modality = _strings(list(stored["modality"]))
    inputs = _lists(list(stored["input_modalities"]))
    prompt, completion = _per_mtok(stored["prompt_usd_per_mtok"]), _per_mtok(stored["completion_usd_per_mtok"])
    variable = np.isnan(prompt) & np.isnan(completion)
    prompt[variable] = completion[variable] = -1.0
    image, request = _price(list(stored["image_price"])), _price(list(stored["request_usd"]))
    router = (prompt < 0) | (completion < 0)  # no tokenizer is stored: only a variable price names a router
    others_zero = (np.isnan(image) | (image == 0)) & (np.isnan(request) | (request == 0))
    expiration = _dates(none)
    columns: dict[str, Any] = {
        "id": _text(ids),
        "name": _text(list(stored["name"])),
        "description": _text([""] * len(ids)),
        "provider": _text([_provider(i) for i in ids]),
        "context_length": _count(list(stored["context_length"])),
        "modality": _text(modality),
        "input_modalities": inputs,
        "output_modalities": _lists(
            [[m for m in x.split("->", 1)[1].split("+") if m] if "->" in x else [] for x in modality]
        ),
        "prompt_usd_per_mtok": _scaled_price(prompt, _PER_MILLION),
        "completion_usd_per_mtok": _scaled_price(completion, _PER_MILLION),
        "image_price": image,
        "request_usd": request,
        "max_completion_tokens": _count(none),
        "created": _timestamps(none),
        "cache_read_usd_per_mtok": _price(none, _PER_MILLION),
        "discount": _fraction(none),
        "image_token_usd_per_mtok": _price(none, _PER_MILLION),
        "image_output_usd_per_image": _price(none),
        "web_search_usd": _price(none),
        "reasoning_usd_per_mtok": _price(none, _PER_MILLION),
        "supported_parameters": _lists(none),
        "structured_outputs": np.zeros(len(ids), dtype=bool),
        "takes_files": np.array(["file" in x for x in inputs], dtype=bool),
        "expiration_date": expiration,
        "expiring": np.asarray(expiration.notna()),
        "is_router": router,
        "free": (prompt == 0) & (completion == 0) & ~router & others_zero,
        **alias_columns(ids, none),
    }
    kinds = kind_columns(ids, none, columns["output_modalities"], router=router, alias=columns["is_alias"])
    columns.update(kinds, variant_of=optional_text(kinds["variant_of"]))  # no description stored: names decide
    columns.update(vision_columns(columns, rules))
    rows = sort_order(columns)
    if vision_only:
        rows = rows[columns["is_vision"][rows]]
    return pd.DataFrame({name: values[rows] for name, values in columns.items()}, index=pd.RangeIndex(len(rows)))


def _per_mtok(stored: Any) -> np.ndarray:
    """Stored USD per million tokens as the per-token price a catalog lists (NULL: NaN).

    Dividing here and multiplying back in :func:`_scaled_price` rounds exactly as a download's prices do.
    """
    return _numbers(list(stored)) / _PER_MILLION


def sort_models(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` by provider, then name, both case-insensitive, then id; a fresh 0..n-1 index."""
    ordered = frame.take(sort_order(frame))
    ordered.index = pd.RangeIndex(len(ordered))
    return ordered


def sort_order(columns: Mapping[str, Any] | pd.DataFrame) -> np.ndarray:
    """Row positions in catalog order: provider, name (case-insensitive), id."""
    ids, names, providers = (np.asarray(columns[c], dtype=object).tolist() for c in ("id", "name", "provider"))
    # Ids are unique, so the row number at the end of each key is never compared.
    keys = sorted(zip(map(str.lower, providers), map(str.lower, names), ids, range(len(ids))))
    return np.fromiter((key[3] for key in keys), dtype=np.intp, count=len(keys))
