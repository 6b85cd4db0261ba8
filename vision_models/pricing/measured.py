"""Trial measurements beside the estimates: what the bills said an image of a size costs on a model.

Pure: the measurements are an argument. Reading them from the trials store is the caller's
(:func:`vision_models.cost_per_image`, :mod:`vision_models.present.cost_tables`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .listing import _per_token, _usd

#: A measurement prices an image when its pixel area is within this fraction of the image's.
COMPARABLE_AREA = 0.25
MEASURED_METHOD = "measured"


def apply_measurements(
    table: pd.DataFrame,
    width: int,
    height: int,
    measured: pd.DataFrame | bool | None,
    *,
    prefer_measured: bool = False,
) -> pd.DataFrame:
    """Trial measurements next to the estimates: what the bills said an image of this size costs.

    A measurement is comparable when its pixel area is within 25 % of
    ``width x height`` (the closest one is used; token counts follow area for
    most families). ``measured_image_tokens`` is its median measured tokens and
    ``estimate_ratio`` its estimate / measured at the size that was sent (above 1:
    the rule counts too many); both NaN where there is none. With
    ``prefer_measured``, those rows are priced from the measurement:
    ``method="measured"``, not uncertain. No measurements: the table unchanged.
    ``measured`` None or False: none (this function reads nothing).
    """
    if measured is None or measured is False:
        return table
    if not isinstance(measured, pd.DataFrame):
        raise ValueError(f"bad measured {measured!r}: expected a measured_image_tokens() frame, None or False")
    if measured.empty:
        return table
    area = width * height
    near = measured[(measured["pixels"] - area).abs() <= COMPARABLE_AREA * area]
    best = near.assign(_gap=(near["pixels"] - area).abs()).sort_values(["_gap", "pages"], ascending=[True, False])
    best = best.drop_duplicates("model").set_index("model")
    tokens = table["id"].map(best["measured_image_tokens"]).to_numpy(dtype="float64", na_value=np.nan)
    table = table.assign(
        measured_image_tokens=tokens,
        estimate_ratio=table["id"].map(best["estimate_ratio"]).to_numpy(dtype="float64", na_value=np.nan),
    )
    use = ~np.isnan(tokens) if prefer_measured else np.zeros(len(table), dtype=bool)
    if use.any():
        prompt = _per_token(table["prompt_usd_per_mtok"])
        before = table["image_usd"].to_numpy(dtype="float64")
        image_usd = np.where(use, _usd(tokens * prompt), before)
        # every other part of the bill (text, answer, reasoning, fees) stays as estimated
        total = _usd(table["usd_per_image"].to_numpy(dtype="float64") - before + image_usd)
        counted = table["image_tokens"].to_numpy(dtype="float64", na_value=np.nan)
        whole = pd.array(np.where(use, np.round(tokens), np.where(np.isnan(counted), None, counted)), dtype="Int64")
        ranged: dict[str, object] = {}
        if "image_tokens_low" in table:  # a measurement replaces the range
            ranged = {
                name: np.where(use, total, table[name].to_numpy(dtype="float64"))
                for name in ("usd_per_image_low", "usd_per_image_high")
            }
            for name in ("image_tokens_low", "image_tokens_high"):
                kept = table[name].to_numpy(dtype="float64", na_value=np.nan)
                ranged[name] = pd.array(
                    np.where(use, np.round(tokens), np.where(np.isnan(kept), None, kept)), dtype="Int64"
                )
            ranged["range_sources"] = np.where(use, "", table["range_sources"].to_numpy(dtype=object))
        table = table.assign(
            **ranged,
            image_tokens=whole,
            method=np.where(use, MEASURED_METHOD, table["method"].to_numpy(dtype=object)),
            uncertain=np.where(use, False, table["uncertain"].to_numpy(dtype=bool)),
            image_usd=image_usd,
            usd_per_image=total,
            usd_per_1k_images=_usd(total * 1000),
        ).astype({c: "str" for c in ("method", "range_sources") if c in table})
    return table
