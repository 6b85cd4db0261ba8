"""What one image costs at each provider's endpoint of a model, and each model's spread between its providers.

Pure: the endpoints are an argument (a :func:`vision_models.fetch_endpoints` frame). Fetching them is the
caller's: :func:`vision_models.cost_per_image` with ``by_provider=True`` fetches them when not given.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
import pandas as pd

from .estimate import COST_COLUMNS, HOST_RULE_COLUMN, _token_count, image_costs, resolve_size
from .hosts import host_rules
from .image_tokens import check_detail
from .listing import _usd
from .reasoning import DEFAULT_EFFORT, check_priced_effort, check_reasoning_tokens

#: Columns of :func:`cost_by_provider`: the endpoint, its cost (as in ``COST_COLUMNS``), the model's spread.
PROVIDER_COST_COLUMNS = [
    "id",
    "name",
    "provider",
    "provider_name",
    "tag",
    "quantization",
    "status",
    "uptime_last_30m",
    "discount",
    *COST_COLUMNS[3:],
    "rule_of",
    "catalog_usd_per_image",
    "vs_cheapest_pct",
    "providers_priced",
    "cheapest_provider",
    "dearest_provider",
    "min_usd_per_image",
    "max_usd_per_image",
    "spread_usd_per_image",
    "spread_pct",
]


class _PriceOptions(TypedDict):
    """The request every endpoint is priced for, as :func:`image_costs` takes it."""

    prompt_tokens: int
    output_tokens: int
    detail: str
    reasoning_effort: str
    reasoning_tokens: int | None
    cached_instruction: bool


def cost_by_provider(
    models: pd.DataFrame,
    endpoints: pd.DataFrame | None,
    width: int | None = None,
    height: int | None = None,
    *,
    prompt_tokens: int = 0,
    output_tokens: int = 0,
    detail: str = "high",
    preset: str | None = None,
    reasoning_effort: str = DEFAULT_EFFORT,
    reasoning_tokens: int | None = None,
    cached_instruction: bool = False,
) -> pd.DataFrame:
    """One row per (model, provider endpoint): one image's cost at that endpoint's prices, and each model's spread.

    Each endpoint is priced as :func:`price_images` prices a model, with the
    endpoint's prompt, completion, image and request prices after its
    ``discount`` (price x (1 - discount)), its image price read against its
    prompt price as for the catalog, and its own context length. Per model:
    ``cheapest_provider`` / ``dearest_provider`` and ``min_`` / ``max_`` /
    ``spread_usd_per_image`` (max - min) and ``spread_pct`` (max / min - 1, in
    percent) over the endpoints that are priced and not down (``status`` 0 or
    unlisted; negative is degraded or down); ``vs_cheapest_pct`` is a row's
    premium over that minimum; ``catalog_usd_per_image`` is the model's cost at
    the catalog's headline prices. ``rule_of`` says whose image-token rule priced
    the endpoint: the host's own where it documents one (:mod:`.hosts`), else
    "rule of the model, not of this host". Sorted by the model's cheapest endpoint,
    then id, then cost (endpoints that are down last). ``endpoints``: a
    :func:`vision_models.fetch_endpoints` frame, required (this function fetches
    nothing; :func:`vision_models.cost_per_image` does). Models without
    endpoints have no rows (``attrs["errors"]`` says why, when a fetch failed).
    """
    if endpoints is not None and not isinstance(endpoints, pd.DataFrame):
        raise TypeError(f"bad endpoints {type(endpoints).__name__}: expected a fetch_endpoints() frame")
    if endpoints is None:
        raise ValueError(
            "endpoints=None: pricing by provider needs a fetch_endpoints() frame; "
            "vision_models.cost_per_image(by_provider=True) fetches it"
        )
    width, height = resolve_size(width, height, preset)
    options = _PriceOptions(
        prompt_tokens=_token_count("prompt_tokens", prompt_tokens),
        output_tokens=_token_count("output_tokens", output_tokens),
        detail=check_detail(detail),
        reasoning_effort=check_priced_effort(reasoning_effort),
        reasoning_tokens=check_reasoning_tokens(reasoning_tokens),
        cached_instruction=cached_instruction,
    )
    catalog = image_costs(models, width, height, measured=False, **options).drop_duplicates("id").set_index("id")
    if endpoints.empty:
        endpoints = _no_endpoints(endpoints)
    listed = endpoints[endpoints["id"].isin(catalog.index).to_numpy()].reset_index(drop=True)
    priced = _endpoint_costs(listed, models, width, height, options)
    table = pd.DataFrame(
        {
            **{c: listed[c].to_numpy() for c in ("id", "provider", "provider_name", "tag", "quantization")},
            "name": priced["name"].to_numpy(),
            "status": listed["status"].array,
            "uptime_last_30m": listed["uptime_last_30m"].to_numpy(dtype="float64"),
            "discount": listed["discount"].to_numpy(dtype="float64"),
            **{c: priced[c] for c in COST_COLUMNS[3:]},
            "catalog_usd_per_image": catalog["usd_per_image"].reindex(listed["id"]).to_numpy(dtype="float64"),
            "rule_of": host_rules(listed["id"].tolist(), listed["provider_name"].tolist())[1],
        }
    )
    table = _with_spread(
        table.astype({c: "str" for c in ("id", "name", "provider", "provider_name", "tag", "quantization", "rule_of")})
    )
    table.attrs = {
        "width": width,
        "height": height,
        **options,
        "preset": preset,
        "errors": endpoints.attrs.get("errors", {}),
    }
    return table


def _endpoint_costs(
    listed: pd.DataFrame, models: pd.DataFrame, width: int, height: int, options: _PriceOptions
) -> pd.DataFrame:
    """:func:`price_images` of every endpoint, row for row with ``listed``.

    Endpoints are priced in rounds holding at most one endpoint per model, so
    each round's rows are found again by id. A model keeps its catalog name
    (the family rule may read it) and, where the endpoint lists none, its
    context; whether the request fits is read from the endpoint's own limits.
    """
    keep = 1 - listed["discount"].fillna(0).to_numpy(dtype="float64")
    catalog = models.drop_duplicates("id").set_index("id").reindex(listed["id"])
    names = catalog["name"].to_numpy(dtype=object, na_value=None)
    own, inherited = listed["context_length"].array, catalog["context_length"].array
    pseudo = pd.DataFrame(
        {
            "id": listed["id"].to_numpy(),
            "name": np.where(pd.isna(names), listed["name"].to_numpy(dtype=object), names),
            "provider": listed["provider"].to_numpy(),
            **{c: _endpoint_price(listed, c) * keep for c in _ENDPOINT_PRICES},
            "context_length": pd.array(np.where(own.isna(), inherited, own), dtype="Int64"),
            "max_completion_tokens": listed["max_completion_tokens"].array,  # the endpoint's own limit
            # the endpoint's own parameters decide whether it reasons; its cache price, as the other prices
            "supported_parameters": _own_parameters(listed, catalog),
            "cache_read_usd_per_mtok": _endpoint_price(listed, "cache_read_usd_per_mtok") * keep,
            HOST_RULE_COLUMN: host_rules(listed["id"].tolist(), listed["provider_name"].tolist())[0],
        }
    ).astype({"name": "str"})
    rounds = listed.groupby("id", sort=False).cumcount().to_numpy()
    pieces = []
    for n in range(int(rounds.max()) + 1 if len(rounds) else 0):
        rows = np.flatnonzero(rounds == n)
        costs = image_costs(pseudo.iloc[rows].reset_index(drop=True), width, height, measured=False, **options)
        pieces.append(costs.set_index("id").reindex(pseudo["id"].to_numpy()[rows]).reset_index().set_axis(rows))
    if not pieces:
        return image_costs(pseudo, width, height, measured=False, **options)
    return pd.concat(pieces).sort_index()


_ENDPOINT_PRICES = (
    "prompt_usd_per_mtok", "completion_usd_per_mtok", "image_price", "request_usd", "web_search_usd",
    "reasoning_usd_per_mtok",
)  # fmt: skip


def _endpoint_price(listed: pd.DataFrame, column: str) -> np.ndarray:
    """An endpoint price column as floats; NaN where the frame lacks it (a frame from before the column existed)."""
    if column not in listed:
        return np.full(len(listed), np.nan)
    return listed[column].to_numpy(dtype="float64", na_value=np.nan)


def _own_parameters(listed: pd.DataFrame, catalog: pd.DataFrame) -> list:
    """Each endpoint's ``supported_parameters``; the model's where the endpoint lists none."""
    own = listed["supported_parameters"].tolist() if "supported_parameters" in listed else [None] * len(listed)
    inherited = catalog["supported_parameters"].tolist() if "supported_parameters" in catalog else [None] * len(listed)
    return [o if isinstance(o, list) and o else i for o, i in zip(own, inherited)]


def _with_spread(table: pd.DataFrame) -> pd.DataFrame:
    """Add each model's cheapest and dearest usable endpoint, the spread, and each row's premium; sort."""
    status = table["status"].to_numpy(dtype="float64", na_value=np.nan)
    cost = table["usd_per_image"].to_numpy(dtype="float64")
    usable = ~np.isnan(cost) & ~(status < 0)
    candidates = table.loc[usable, ["id", "provider_name", "usd_per_image"]]
    ordered = candidates.assign(_key=candidates["provider_name"].str.lower()).sort_values(
        ["id", "usd_per_image", "_key"], kind="stable"
    )
    by_model = ordered.groupby("id", sort=False)
    spread = pd.DataFrame(
        {
            "providers_priced": by_model.size(),
            "cheapest_provider": by_model["provider_name"].first(),
            "dearest_provider": by_model["provider_name"].last(),
            "min_usd_per_image": by_model["usd_per_image"].min(),
            "max_usd_per_image": by_model["usd_per_image"].max(),
        }
    )
    low, high = spread["min_usd_per_image"].to_numpy(), spread["max_usd_per_image"].to_numpy()
    spread["spread_usd_per_image"] = _usd(high - low)
    spread["spread_pct"] = _pct_over(high, low)
    joined = spread.reindex(table["id"].to_numpy())
    table = table.assign(
        vs_cheapest_pct=_pct_over(cost, joined["min_usd_per_image"].to_numpy(dtype="float64")),
        providers_priced=joined["providers_priced"].fillna(0).to_numpy(dtype="int64"),
        cheapest_provider=joined["cheapest_provider"].fillna("").to_numpy(dtype=object),
        dearest_provider=joined["dearest_provider"].fillna("").to_numpy(dtype=object),
        **{c: joined[c].to_numpy(dtype="float64") for c in ("min_usd_per_image", "max_usd_per_image")},
        spread_usd_per_image=joined["spread_usd_per_image"].to_numpy(dtype="float64"),
        spread_pct=joined["spread_pct"].to_numpy(dtype="float64"),
    ).astype({"cheapest_provider": "str", "dearest_provider": "str"})
    order = table.assign(_down=~usable, _key=table["provider_name"].str.lower())
    keys = ["min_usd_per_image", "id", "_down", "usd_per_image", "_key"]
    order = order.sort_values(keys, na_position="last", kind="stable")
    return table.loc[order.index, PROVIDER_COST_COLUMNS].reset_index(drop=True)


def _pct_over(values: np.ndarray, base: np.ndarray) -> np.ndarray:
    """How much ``values`` exceed ``base``, in percent; NaN over a base of 0 or unknown."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(base > 0, np.round((values / base - 1) * 100, 6), np.nan)


def _no_endpoints(endpoints: pd.DataFrame) -> pd.DataFrame:
    """An empty endpoints frame with the columns the pricing reads (and the fetch's errors, if any)."""
    text = ("id", "name", "provider", "provider_name", "tag", "quantization")
    numbers = ("uptime_last_30m", "discount", *_ENDPOINT_PRICES)
    empty = pd.DataFrame(
        {
            **{c: pd.Series([], dtype="str") for c in text},
            **{c: pd.Series([], dtype="float64") for c in numbers},
            **{c: pd.Series([], dtype="Int64") for c in ("context_length", "max_completion_tokens", "status")},
        }
    )
    empty.attrs = dict(endpoints.attrs)
    return empty
