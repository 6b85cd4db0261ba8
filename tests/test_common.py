"""The shared small rules (vision_models.common, catalog.filters' mask, the strict vision rule), on hand-made cases."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from factories import model

from vision_models.catalog.filters import check_max_price, check_min_context, filter_mask
from vision_models.catalog.frame import models_frame
from vision_models.common import as_utc, check_known, check_number, utc_index
from vision_models.notices import NoBar, progress_bar, warn_once


@pytest.mark.parametrize(
    "value, kwargs, expected",
    [("3", {}, 3.0), (0, {"low": 0}, 0.0), (2.5, {"high": 2.5}, 2.5), (7, {"whole": True}, 7.0)],
)
def test_check_number_accepts(value, kwargs, expected):
    assert check_number(value, "x", **kwargs) == expected


@pytest.mark.parametrize(
    "value, kwargs",
    [
        ("abc", {}),
        (None, {}),
        (True, {}),
        (math.nan, {}),
        (math.inf, {}),
        (-1, {"low": 0}),
        (3, {"high": 2}),
        (0, {"above_zero": True}),
        (1.5, {"whole": True}),
    ],
)
def test_check_number_refuses_with_the_parameter_named(value, kwargs):
    with pytest.raises(ValueError, match=rf"^bad maxPromptPrice {value!r}: expected "):
        check_number(value, "maxPromptPrice", **kwargs)


def test_each_interface_names_the_parameter_its_own_way():
    with pytest.raises(ValueError, match="^bad minContext -1: expected a whole number of tokens >= 0$"):
        check_min_context(-1, "minContext")
    with pytest.raises(ValueError, match="^bad max_prompt_price 'x': expected USD per million tokens >= 0$"):
        check_max_price("x")


def test_filter_mask_on_hand_made_rows():
    frame = pd.DataFrame(
        {
            "id": ["a/one", "B/two", "c/three"],
            "name": ["One", "Two Vision", "Three"],
            "provider": ["a", "B", "c"],
            "context_length": pd.array([1000, None, 50], dtype="Int64"),
            "prompt_usd_per_mtok": [1.0, 0.5, np.nan],
        }
    )
    assert filter_mask(frame).tolist() == [True, True, True]
    assert filter_mask(frame, providers="b").tolist() == [False, True, False]
    assert filter_mask(frame, min_context=60).tolist() == [True, False, False]  # unknown context never passes
    assert filter_mask(frame, max_prompt_price=0.5).tolist() == [False, True, False]  # unknown price neither
    assert filter_mask(frame, search="VISION").tolist() == [False, True, False]
    assert filter_mask(frame, search="e.").tolist() == [False, False, False]  # plain text, not a pattern


def test_vision_only_frame_decides_as_the_strict_rule():
    """Listed inputs decide; a model listing none falls back to modality, image price or name."""
    entries = [
        model("p/lists-image", inputs=("text", "image")),
        model("p/gpt-4o-text-only", inputs=("text",)),  # a vision family name, but its list says text
        model("p/unlisted-priced", architecture={"modality": "text->text"}, pricing={"prompt": "0", "image": "0.01"}),
        model("p/unlisted-llava", architecture=None),
        model("p/unlisted-plain", architecture={"modality": "text->text"}),
    ]
    strict = models_frame(entries, "strict", vision_only=True)["id"].tolist()
    seed = models_frame(entries, "seed", vision_only=True)["id"].tolist()
    assert sorted(strict) == ["p/lists-image", "p/unlisted-llava", "p/unlisted-priced"]
    assert sorted(seed) == ["p/gpt-4o-text-only", "p/lists-image", "p/unlisted-llava", "p/unlisted-priced"]


def test_utc_helpers():
    assert as_utc(datetime(2026, 1, 2, 3, 4)) == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    plus_two = datetime(2026, 1, 2, 5, 4, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(plus_two).tzinfo is UTC and as_utc(plus_two).hour == 3
    index = utc_index(np.array([0, 86_400_000_000], dtype="int64"))
    assert [str(t) for t in index] == ["1970-01-01 00:00:00+00:00", "1970-01-02 00:00:00+00:00"]


def test_warn_once_says_a_topic_once():
    with pytest.warns(UserWarning, match="first") as said:
        warn_once("test-common-topic", "first")
        warn_once("test-common-topic", "second")
    assert [str(w.message) for w in said] == ["first"]


def test_no_bar_when_not_asked_or_not_interactive():
    assert isinstance(progress_bar(10, desc="x", unit="y", show=False), NoBar)
    assert isinstance(progress_bar(3, desc="x", unit="y", more_than=5), NoBar)


def test_check_known_names_the_value_and_offers_close_matches():
    known = ["openai/gpt-4o", "openai/gpt-4o-mini", "google/gemini-2.5-pro"]
    check_known(["openai/gpt-4o"], known)  # known: no error
    with pytest.raises(ValueError, match=r"^unknown model id 'openai/gpt4o'; close matches: openai/gpt-4o\b"):
        check_known(["openai/gpt-4o", "openai/gpt4o"], known)
    with pytest.raises(ValueError, match=r"^unknown model id 'zzz': not in the history$"):
        check_known(["zzz"], known, where=": not in the history")


def test_a_huge_or_long_bad_value_is_quoted_short():
    with pytest.raises(ValueError, match="^bad n a number with over 40 digits: expected a finite number$"):
        check_number(10**400, "n")
    with pytest.raises(ValueError) as caught:
        check_number("x" * 1000, "n")
    assert len(str(caught.value)) < 100
