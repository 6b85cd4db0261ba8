"""Measurements correct the estimates: measured image tokens from trials, fed into cost_per_image."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from factories import model
from openrouter_standin import ModelBill, StandIn, serving
from PIL import Image

import vision_models as vm
from vision_models.catalog.frame import models_frame

MINI, FLASH = "openai/gpt-4o-mini", "google/gemini-2.5-flash"


@pytest.fixture
def catalog():
    return models_frame([
        model(MINI, prompt="0.00000015", completion="0.0000006", inputs=("text", "image")),
        model(FLASH, prompt="0.0000003", completion="0.0000025", inputs=("text", "image")),
    ])  # fmt: skip


def measured_frame(rows):
    frame = pd.DataFrame(
        rows, columns=["model", "width_px", "height_px", "pages", "measured_image_tokens", "estimated_image_tokens"]
    )
    frame["pixels"] = frame["width_px"] * frame["height_px"]
    frame["estimate_ratio"] = frame["estimated_image_tokens"] / frame["measured_image_tokens"]
    return frame


def test_measured_columns_and_pricing(catalog):
    measured = measured_frame([(MINI, 1700, 2200, 3, 25_000.0, 36_835.0)])
    plain = vm.cost_per_image(catalog, 1700, 2200, output_tokens=700)
    assert "measured_image_tokens" not in plain  # no store, nothing given: the table as before

    shown = vm.cost_per_image(catalog, 1700, 2200, output_tokens=700, measured=measured).set_index("id")
    assert shown.loc[MINI, "measured_image_tokens"] == 25_000
    assert shown.loc[MINI, "estimate_ratio"] == pytest.approx(36_835 / 25_000)
    assert np.isnan(shown.loc[FLASH, "measured_image_tokens"])
    assert shown.loc[MINI, "method"] == plain.set_index("id").loc[MINI, "method"]  # shown, not used

    priced = vm.cost_per_image(
        catalog, 1700, 2200, output_tokens=700, measured=measured, prefer_measured=True
    ).set_index("id")
    row = priced.loc[MINI]
    assert row["method"] == "measured" and not row["uncertain"] and row["image_tokens"] == 25_000
    # By hand: 25,000 tokens x $0.15/M + 700 x $0.60/M.
    assert row["image_usd"] == pytest.approx(25_000 * 0.15e-6)
    assert row["usd_per_image"] == pytest.approx(25_000 * 0.15e-6 + 700 * 0.6e-6)
    assert row["usd_per_1k_images"] == pytest.approx(1000 * (25_000 * 0.15e-6 + 700 * 0.6e-6))
    assert priced.loc[FLASH, "method"] != "measured"
    assert priced.loc[FLASH, "usd_per_image"] == pytest.approx(plain.set_index("id").loc[FLASH, "usd_per_image"])


def test_bars_priced_from_measurements_are_marked_in_the_cost_chart(catalog):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = measured_frame([(MINI, 1700, 2200, 3, 25_000.0, 36_835.0)])
    costs = vm.cost_per_image(catalog, 1700, 2200, output_tokens=700, measured=measured, prefer_measured=True)
    ax = vm.plot_cost_per_image(costs)
    bars = {label.get_text(): bar for label, bar in zip(ax.get_yticklabels(), ax.patches)}
    assert bars[MINI].get_linewidth() > bars[FLASH].get_linewidth()  # the measured bar stands out
    notes = [t.get_text() for t in ax.texts]
    assert sum("measured" in n for n in notes) == 1
    assert "measured in your trials" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(ax.figure)
    plain = vm.plot_cost_per_image(vm.cost_per_image(catalog, 1700, 2200, output_tokens=700))
    assert "measured in your trials" not in [t.get_text() for t in plain.get_legend().get_texts()]
    plt.close(plain.figure)


def test_only_a_comparable_size_is_used(catalog):
    measured = measured_frame([(MINI, 1700, 2200, 3, 25_000.0, 36_835.0), (MINI, 850, 1100, 5, 8_000.0, 14_168.0)])
    # A4 at 200 dpi (1654 x 2339) is within 25 % of 1700 x 2200 in area; Letter at 300 dpi is not, nor is 150 dpi.
    a4 = vm.cost_per_image(catalog, preset="a4-200dpi", measured=measured, prefer_measured=True).set_index("id")
    assert a4.loc[MINI, "measured_image_tokens"] == 25_000 and a4.loc[MINI, "method"] == "measured"
    big = vm.cost_per_image(catalog, preset="letter-300dpi", measured=measured, prefer_measured=True).set_index("id")
    assert np.isnan(big.loc[MINI, "measured_image_tokens"]) and big.loc[MINI, "method"] != "measured"
    # The closest comparable size wins: 900 x 1100 is nearer 850 x 1100 than 1700 x 2200.
    small = vm.cost_per_image(catalog, 900, 1100, measured=measured).set_index("id")
    assert small.loc[MINI, "measured_image_tokens"] == 8_000


def test_the_default_reads_the_trials_store(catalog, tmp_path, monkeypatch):
    with serving(StandIn({MINI: ModelBill(0.15e-6, 0.6e-6, image_tokens=2_900)})) as stand:
        path = tmp_path / "page.png"
        Image.new("RGB", (1700, 2200), "white").save(path)
        vm.run_trial(
            [path], [MINI], catalog=catalog, base_url=stand.base_url, api_key="sk-test", progress=False, max_side=4096
        )
    measured = vm.measured_image_tokens()
    assert measured[["model", "width_px", "height_px", "pages", "measured_image_tokens"]].values.tolist() == [
        [MINI, 1700, 2200, 1, 2_900.0]
    ]
    costs = vm.cost_per_image(catalog, preset="letter-200dpi", output_tokens=700, prefer_measured=True).set_index("id")
    assert costs.loc[MINI, "measured_image_tokens"] == 2_900 and costs.loc[MINI, "method"] == "measured"
    # The answer's length comes from the measurement too: the page's billed completion tokens, not the 700 given.
    answer = int(measured.loc[0, "completion_tokens"])
    assert answer != 700 and costs.loc[MINI, "output_tokens"] == answer
    assert costs.loc[MINI, "reasoning_tokens"] == 0 and costs.loc[MINI, "reasoning_source"] == "does not reason"
    assert costs.loc[MINI, "usd_per_image"] == pytest.approx(2_900 * 0.15e-6 + answer * 0.6e-6)


def test_reading_measurements_never_creates_the_store(catalog, tmp_path):
    store = tmp_path / "cache" / "trials.sqlite"
    assert vm.measured_image_tokens().empty
    vm.cost_per_image(catalog, 100, 100)
    assert not store.exists()


def _bad_stores(tmp_path):
    """Trials locations that cannot be read, made without the trials store: name -> path."""
    import sqlite3

    from requests_cache import SQLiteCache

    folder = tmp_path / "folder.sqlite"
    folder.mkdir()
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"\x00\x01 not sqlite " * 200)
    newer = tmp_path / "newer.sqlite"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA application_id = {int.from_bytes(b'VMtr', 'big')}")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    cache = tmp_path / "http_cache.sqlite"
    SQLiteCache(str(cache)).responses.close()
    return {"directory": folder, "not sqlite": garbage, "newer schema": newer, "http cache": cache}


def test_a_bad_trials_store_is_one_warning_and_the_cost_table_goes_on(catalog, tmp_path, monkeypatch):
    import warnings

    plain = vm.cost_per_image(catalog, 1700, 2200, output_tokens=700)  # no store at all
    for name, path in _bad_stores(tmp_path).items():
        monkeypatch.setenv("VISION_MODELS_TRIALS", str(path))
        for prefer in (False, True):
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                costs = vm.cost_per_image(catalog, 1700, 2200, output_tokens=700, prefer_measured=prefer)
            assert [str(path) in str(w.message) for w in seen] == [True], (name, [str(w.message) for w in seen])
            pd.testing.assert_frame_equal(costs, plain)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # tables that show no measurement never open the store
            vm.compare(catalog, [MINI, FLASH], 1700, 2200)
            vm.cost_per_image(catalog, 1700, 2200, measured=False)
            from vision_models.catalog.endpoints import endpoints_frame

            vm.cost_per_image(catalog, 1700, 2200, by_provider=True, endpoints=endpoints_frame([]))


def test_a_bad_measured_value_is_named(catalog):
    with pytest.raises(ValueError, match="bad measured 'yes'"):
        vm.cost_per_image(catalog, 100, 100, measured="yes")


def test_the_trials_path_given_is_the_one_read(catalog, tmp_path, monkeypatch):
    """cost_per_image(trials_path=) and estimate_trial(trials_path=) read that store, never the default one."""
    import warnings

    mine = tmp_path / "mine.sqlite"
    with serving(StandIn({MINI: ModelBill(0.15e-6, 0.6e-6, image_tokens=2_900)})) as stand:
        page = tmp_path / "page.png"
        Image.new("RGB", (1700, 2200), "white").save(page)
        vm.run_trial([page], [MINI], catalog=catalog, base_url=stand.base_url, api_key="sk-test", progress=False,
                     max_side=4096, trials_path=mine)  # fmt: skip
    monkeypatch.setenv("VISION_MODELS_TRIALS", str(_bad_stores(tmp_path)["directory"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        costs = vm.cost_per_image(catalog, 1700, 2200, output_tokens=700, prefer_measured=True, trials_path=mine)
        plan = vm.estimate_trial([page], [MINI], catalog=catalog, max_side=4096, trials_path=mine)
    row = costs.set_index("id").loc[MINI]
    assert (
        row["measured_image_tokens"] == 2_900 and row["method"] == "measured"
    )  # the stand-in billed 2,900 image tokens
    assert plan["cached"].tolist() == [True]


def test_a_trial_sends_the_reasoning_effort_and_its_rows_feed_the_allowance(catalog, tmp_path):
    # The stand-in reasons 300 tokens before each page's answer (usage.completion_tokens_details.reasoning_tokens,
    # inside completion_tokens, as OpenRouter reports it).
    stand = StandIn({FLASH: ModelBill(0.3e-6, 2.5e-6, image_tokens=1_000, reasoning_tokens=300)}, keep_bodies=True)
    path = tmp_path / "page.png"
    Image.new("RGB", (1700, 2200), "white").save(path)
    options = vm.TrialOptions(reasoning_effort="low", progress=False, max_side=4096)
    with serving(stand):
        trial = vm.run_trial(
            [path], [FLASH], catalog=catalog, base_url=stand.base_url, api_key="sk-test", options=options
        )
    pages = [r["body"] for r in stand.requests if r["images"]]
    controls = [r["body"] for r in stand.requests if not r["images"]]
    assert [r.get("reasoning") for r in pages] == [{"effort": "low"}]  # OpenRouter's reasoning parameter
    assert controls and all("reasoning" not in r for r in controls)  # the control measures the prompt only
    assert trial.results["reasoning_tokens"].tolist() == [300]
    measured = vm.measured_image_tokens()
    assert measured.loc[0, "reasoning_tokens"] == 300
    completion = measured.loc[0, "completion_tokens"]
    row = vm.cost_per_image(catalog, 1700, 2200, output_tokens=700).set_index("id").loc[FLASH]
    # The measured median replaces the low effort's default; the answer is the billed completion less it.
    assert row["reasoning_tokens"] == 300 and row["reasoning_source"].startswith("measured")
    assert row["output_tokens"] == completion - 300
    with pytest.raises(ValueError, match="unknown reasoning effort 'extreme'"):
        vm.TrialOptions(reasoning_effort="extreme")
