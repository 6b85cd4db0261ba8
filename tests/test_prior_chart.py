"""Cost against a published score: the front by hand, readers without a score drawn apart, the real catalog."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from factories import model, shared_catalog  # noqa: E402

import vision_models as vm  # noqa: E402
from vision_models.catalog.frame import models_frame  # noqa: E402
from vision_models.trials.shortlist import prior_front, with_prior  # noqa: E402

OMNI = "OmniDocBench v1.5 (IDP Leaderboard)"
VISION = ("text", "image")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_prior_front_by_hand():
    scored = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "usd_per_1k_images": [1.0, 2.0, 3.0, 4.0, 4.0],
            "prior_score": [50.0, 45.0, 70.0, 70.0, 90.0],
        }
    )
    # a: cheapest; b: dearer and worse than a; c: better than a; d: as good as c but dearer; e: best.
    assert prior_front(scored)["id"].tolist() == ["a", "c", "e"]
    # An edit distance: lower is better, so the front runs the other way.
    edit = scored.assign(prior_score=[0.5, 0.4, 0.6, 0.1, 0.2])
    assert prior_front(edit, higher_is_better=False)["id"].tolist() == ["a", "b", "d"]


def test_scores_join_by_exact_id_and_unscored_readers_are_drawn_apart():
    models = models_frame(
        [
            model("google/gemini-3-flash-preview", prompt="0.0000005", completion="0.000003", inputs=VISION),
            model("openai/gpt-5-nano", prompt="0.00000005", completion="0.0000004", inputs=VISION),
            model("openai/gpt-5-nano-2026-01-01", prompt="0.00000001", completion="0.0000001", inputs=VISION),
            model("acme/cheap-reader", prompt="0.00000001", completion="0.00000002", inputs=VISION),
            model("meta-llama/llama-guard-4-12b", prompt="0.00000001", completion="0.00000001", inputs=VISION),
        ]
    )
    costs = vm.cost_per_image(models, 1000, 1000, output_tokens=500, measured=False)
    ranked = with_prior(costs, OMNI, "overall").set_index("id")
    # Scores typed from the IDP Leaderboard page: 90.1 and 63.4; a snapshot does not inherit its base's score.
    assert ranked.loc["google/gemini-3-flash-preview", "prior_score"] == 90.1
    assert "openai/gpt-5-nano" not in ranked.index  # its cheaper snapshot stands for it: one row per base model
    assert pd.isna(ranked.loc["openai/gpt-5-nano-2026-01-01", "prior_score"])
    assert "meta-llama/llama-guard-4-12b" not in ranked.index  # a guard is no reader
    fig, ax = plt.subplots()
    assert vm.plot_cost_vs_prior(costs, OMNI, "overall", ax=ax) is ax
    texts = [t.get_text() for t in ax.texts]
    assert "no public score (2 readers)" in texts
    assert {"acme/cheap-reader", "google/gemini-3-flash-preview"} <= set(texts)
    assert "no public score: untested, not bad" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_edit_distance_is_drawn_better_up_and_unknown_prior_is_an_error():
    models = models_frame([model("openai/gpt-4.1", prompt="0.000002", completion="0.000008", inputs=VISION)])
    costs = vm.cost_per_image(models, 1000, 1000, measured=False)
    ax = vm.plot_cost_vs_prior(costs, OMNI, "text_edit_distance")
    bottom, top = ax.get_ylim()
    assert bottom > top  # inverted: the lower distance sits higher
    with pytest.raises(ValueError, match="unknown metric 'cer'"):
        vm.plot_cost_vs_prior(costs, OMNI, "cer")


def test_the_2026_05_01_front_starts_cheap_and_ends_at_the_best_published_score():
    models = models_frame(
        json.loads(shared_catalog("openrouter-2026-05-01.json").read_text())["data"], vision_only=True
    )
    costs = vm.cost_per_image(models, preset="letter-200dpi", prompt_tokens=60, output_tokens=700, measured=False)
    ranked = with_prior(costs, OMNI, "overall")
    front = prior_front(ranked[ranked["prior_score"].notna()])
    # The best published score of a model still listed (the page: Gemini-3-Flash, 90.1) ends the front.
    assert front["id"].iloc[-1] == "google/gemini-3-flash-preview"
    assert front["prior_score"].is_monotonic_increasing and front["usd_per_1k_images"].is_monotonic_increasing
    ax = vm.plot_cost_vs_prior(costs)
    assert any(t.get_text().startswith("no public score (") for t in ax.texts)


def test_the_cli_writes_the_prior_chart(tmp_path, capsys):
    from factories import catalog_body

    from vision_models.cli import main

    path = tmp_path / "catalog.json"
    path.write_text(catalog_body(model("openai/gpt-4.1", prompt="0.000002", completion="0.000008", inputs=VISION)))
    out = tmp_path / "prior.png"
    status = main(["chart", "prior", "--out", str(out), "--source", str(path), "--preset", "letter-200dpi",
                   "--output-tokens", "700", "--metric", "text_edit_distance"])  # fmt: skip
    assert status == 0 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in capsys.readouterr().err


def test_shortlist_holds_the_front_the_cheapest_unscored_readers_and_tesseract():
    models = models_frame(
        [
            model("google/gemini-3-flash-preview", prompt="0.0000005", completion="0.000003", inputs=VISION),
            model("openai/gpt-5-nano", prompt="0.00000005", completion="0.0000004", inputs=VISION),
            model("openai/gpt-5.2", prompt="0.00000175", completion="0.000014", inputs=VISION),
            model("acme/cheap-reader", prompt="0.00000001", completion="0.00000002", inputs=VISION),
            model("acme/dear-reader", prompt="0.00001", completion="0.00004", inputs=VISION),
            model("meta-llama/llama-guard-4-12b", prompt="0.00000001", completion="0.00000001", inputs=VISION),
        ]
    )
    costs = vm.cost_per_image(models, 1000, 1000, output_tokens=500, measured=False)
    picked = vm.shortlist(costs, without_prior=1)
    # Published (IDP Leaderboard, OmniDocBench overall): gpt-5-nano 63.4, gemini-3-flash 90.1, gpt-5.2 88.0.
    # gpt-5.2 costs more than gemini-3-flash and scores lower: dominated. The guard is no reader.
    assert picked["id"].tolist() == [
        "openai/gpt-5-nano",
        "google/gemini-3-flash-preview",
        "acme/cheap-reader",
        "tesseract",
    ]
    assert picked["why"].str.len().gt(10).all() and picked.loc[3, "usd_per_1k_images"] == 0.0
    assert vm.shortlist(costs, without_prior=0, tesseract=False)["id"].tolist() == picked["id"].tolist()[:2]
    with pytest.raises(ValueError, match="bad without_prior -1"):
        vm.shortlist(costs, without_prior=-1)
