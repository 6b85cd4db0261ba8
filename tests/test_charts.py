"""Cost charts: what they draw, and the CLI writing them as PNG."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import vision_models as vm  # noqa: E402
from vision_models.charts import UNCERTAIN_HATCH, pareto_front  # noqa: E402


@pytest.fixture(scope="module")
def costs():
    models = vm.fetch_vision_models("sample").models
    return vm.cost_per_image(models, preset="letter-200dpi", prompt_tokens=60, output_tokens=700)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_bars_cheapest_at_top_hatched_when_uncertain_and_titled(costs):
    fig, ax = plt.subplots()
    returned = vm.plot_cost_per_image(costs, top=10, ax=ax)
    assert returned is ax
    labels = [t.get_text() for t in ax.get_yticklabels()]
    priced = costs[costs["usd_per_1k_images"].notna()]
    assert labels == priced["id"].head(10).tolist()  # cost_per_image already sorts cheapest first
    assert ax.yaxis_inverted()
    bars = ax.patches[:10]
    widths = [bar.get_width() for bar in bars]
    assert widths == sorted(widths)
    hatched = [bool(bar.get_hatch()) for bar in bars]
    assert hatched == priced["uncertain"].head(10).tolist()
    assert any(hatched) and UNCERTAIN_HATCH in {bar.get_hatch() for bar in bars}
    title = ax.get_title()
    assert "1700x2200" in title and "60 instruction + 700 answer tokens" in title


def test_bars_colour_by_provider(costs):
    ax = vm.plot_cost_per_image(costs, top=31)
    by_provider = {}
    for bar, provider in zip(ax.patches, costs.dropna(subset=["usd_per_1k_images"])["provider"]):
        by_provider.setdefault(provider, set()).add(bar.get_facecolor())
    assert all(len(colours) == 1 for colours in by_provider.values())
    assert len({next(iter(c)) for c in by_provider.values()}) == len(by_provider)


def test_bad_top_is_named(costs):
    with pytest.raises(ValueError, match="'many'"):
        vm.plot_cost_per_image(costs, top="many")


def test_pareto_front_by_hand():
    table = pd.DataFrame(
        {
            "id": ["A", "B", "C", "D", "E"],
            "context_length": pd.array([100_000, 200_000, 150_000, 50_000, 400_000], dtype="Int64"),
            "usd_per_1k_images": [1.0, 2.0, 3.0, 0.5, 4.0],
        }
    )
    # E has the most context; B is cheaper with the next most; C costs more than B with less context;
    # A is cheaper than B; D is cheaper than all. Front by context: D, A, B, E.
    assert pareto_front(table)["id"].tolist() == ["D", "A", "B", "E"]


def test_scatter_labels_the_front_and_returns_axes(costs):
    fig, ax = plt.subplots()
    assert vm.plot_cost_vs_context(costs, ax=ax) is ax
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labelled = {text.get_text() for text in ax.texts}
    front = pareto_front(costs[(costs["usd_per_1k_images"] > 0) & (costs["context_length"] > 0)])
    assert labelled == set(front["id"])
    assert "free or unknown not shown" in ax.get_title()


def test_a_frame_that_is_not_a_cost_table_is_refused():
    with pytest.raises(ValueError, match="not a cost table"):
        vm.plot_cost_per_image(pd.DataFrame({"id": ["a"]}))


@pytest.mark.parametrize("kind", ["cost", "context"])
def test_cli_writes_png(tmp_path, kind):
    out = tmp_path / f"{kind}.png"
    done = subprocess.run(
        [sys.executable, "-m", "vision_models.cli", "chart", kind, "--out", str(out), "--source", "sample",
         "--preset", "letter-200dpi", "--output-tokens", "700"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert done.stdout == ""


def test_import_does_not_load_matplotlib():
    code = "import sys, vision_models, vision_models.cli; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
