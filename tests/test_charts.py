"""Cost charts: what they draw, and the CLI writing them as PNG."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from factories import run_cli_process  # noqa: E402

import vision_models as vm  # noqa: E402
from vision_models.present.charts import UNCERTAIN_HATCH, pareto_front  # noqa: E402


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
    priced = costs[costs["usd_per_1k_images"].notna() & ~costs["free"]]  # free models are named, not drawn
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
    from vision_models.present.charts import provider_groups

    ax = vm.plot_cost_per_image(costs, top=31)
    drawn = costs[costs["usd_per_1k_images"].notna() & ~costs["free"]]
    by_group = {}
    for bar, group in zip(ax.patches, provider_groups(drawn["provider"])):
        by_group.setdefault(group, set()).add(bar.get_facecolor())
    assert all(len(colours) == 1 for colours in by_group.values())
    assert len({next(iter(c)) for c in by_group.values()}) == len(by_group)


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
    # The sample's 26 priced models cost $0.147 (gemma-3-27b-it) to $75.84 (claude-opus-4) per 1,000 pages: 2.7
    # decades, a log axis. Their contexts run from 32,000 to 1,048,576 tokens: 1.5 decades, a linear one.
    assert ax.get_yscale() == "log" and ax.get_xscale() == "linear" and ax.get_xlim()[0] == 0
    labelled = {text.get_text() for text in ax.texts}
    front = pareto_front(costs[(costs["usd_per_1k_images"] > 0) & (costs["context_length"] > 0)])
    assert labelled == set(front["id"])
    # The sample's 30 vision models: 1 free (gemma-3-27b-it:free), 3 without a price (see test_widgets), one
    # of which is the router openrouter/auto (the sample prices it "-1"): it is counted as a router.
    assert ax.get_title().endswith("\n26 models; 1 free and 2 with unknown price or context; 1 router not shown")


def test_a_frame_that_is_not_a_cost_table_is_refused():
    with pytest.raises(ValueError, match="not a cost table"):
        vm.plot_cost_per_image(pd.DataFrame({"id": ["a"]}))


@pytest.mark.parametrize("kind", ["cost", "context"])
def test_cli_writes_png(tmp_path, kind):
    out = tmp_path / f"{kind}.png"
    done = run_cli_process(
        "chart", kind, "--out", str(out), "--source", "sample", "--preset", "letter-200dpi", "--output-tokens", "700"
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert done.stdout == ""


def test_import_does_not_load_matplotlib():
    code = "import sys, vision_models, vision_models.cli; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# --- What a reader relies on, checked on the rendered picture (sample and real catalogs) ---

REAL = ["openrouter-2025-05-23.json", "openrouter-2026-02-27.json", "openrouter-2026-05-01.json"]


def _costs_of(source: str):
    models = vm.fetch_vision_models(source).models
    return vm.cost_per_image(models, preset="letter-200dpi", prompt_tokens=60, output_tokens=700)


@pytest.fixture(params=["sample", *REAL])
def any_costs(request):
    if request.param == "sample":
        return _costs_of("sample")
    from factories import shared_catalog

    return _costs_of(str(shared_catalog(request.param)))


def _render(ax, tmp_path, name="chart.png"):
    path = tmp_path / name
    ax.figure.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


def _legend_labels(ax) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def _no_overlap(labels) -> bool:
    boxes = [t.get_window_extent() for t in labels if t.get_text()]
    return all(not a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_cost_bars_picture_legend_axis_and_free_models(any_costs, tmp_path):
    ax = vm.plot_cost_per_image(any_costs, top=25)
    _render(ax, tmp_path)
    # The bars are the ranked page readers (one listing per base model; see test_kinds for the kinds of the real
    # catalogs), free :free variants named in the title rather than drawn.
    ranked = vm.cost.rank_costs(any_costs, include_free=True, include_unfit=True)
    priced = ranked[ranked["usd_per_1k_images"].notna() & ~ranked["free"]]
    expected = priced.sort_values(["usd_per_1k_images", "id"], kind="stable").head(25)
    assert [t.get_text() for t in ax.get_yticklabels()] == expected["id"].tolist()
    assert all(bar.get_width() > 0 for bar in ax.patches)  # no empty bars for free models
    cheapest, dearest = expected["usd_per_1k_images"].min(), expected["usd_per_1k_images"].max()
    assert ax.get_xlim()[1] > dearest
    if dearest / cheapest > 100:  # more than two decades
        assert ax.get_xscale() == "log" and 0 < ax.get_xlim()[0] < cheapest
    else:
        assert ax.get_xscale() == "linear" and ax.get_xlim()[0] == 0
    ticks = _ticks(ax.xaxis)
    assert len(ticks) >= 3 and all(t.startswith("$") for t in ticks), ticks
    drawn = {vm.charts.provider_groups([p])[0] for p in expected["provider"]}
    labels = _legend_labels(ax)
    # the legend lists what is drawn, nothing else (a whisker is drawn where sources disagree)
    assert set(labels) - {"uncertain estimate", "range: sources disagree"} == drawn
    colours = {bar.get_facecolor()[:3] for bar in ax.patches}
    assert len(colours) == len(drawn)
    free = ranked[ranked["free"]]
    if len(free):
        assert f"{len(free)} free, not drawn" in ax.get_title()


def test_cost_bars_of_a_real_catalog_draw_page_readers_only(tmp_path):
    """2026-05-01: among its cheapest vision models are a safety classifier and a GUI agent; neither is a bar."""
    from factories import shared_catalog

    costs = _costs_of(str(shared_catalog("openrouter-2026-05-01.json")))
    cheapest = costs[costs["fits"] & ~costs["free"]].sort_values("usd_per_1k_images").head(40)["id"].tolist()
    assert {"meta-llama/llama-guard-4-12b", "bytedance/ui-tars-1.5-7b"} <= set(cheapest)  # the two
    ax = vm.plot_cost_per_image(costs, top=40)
    _render(ax, tmp_path)
    drawn = [t.get_text() for t in ax.get_yticklabels()]
    assert "meta-llama/llama-guard-4-12b" not in drawn and "bytedance/ui-tars-1.5-7b" not in drawn
    assert not any(i.startswith("~") for i in drawn)  # aliases (~anthropic/claude-opus-latest) stand apart
    assert len(drawn) == 40
    title = ax.get_title().replace("\n", " ")
    # The catalog's vision models that are not readers: 8 "~" aliases, openrouter/auto and openrouter/bodybuilder,
    # ui-tars-1.5-7b and llama-guard-4-12b.
    assert "12 non-readers (8 aliases, 2 routers, 1 agent, 1 guard)" in title
    assert "dearer listings of a drawn model not shown" in title
    everything = vm.plot_cost_per_image(costs, top=40, kinds=None, one_per_base=False)
    assert "meta-llama/llama-guard-4-12b" in [t.get_text() for t in everything.get_yticklabels()]
    guards = vm.plot_cost_per_image(costs[costs["id"].isin(["meta-llama/llama-guard-4-12b"])])
    assert [t.get_text().replace("\n", " ") for t in guards.texts] == [
        "No models to show: none here reads pages into text (kinds=None shows every kind)."
    ]
    assert guards.get_title().endswith("\n1 model; 1 guard not shown")
    assert [t.get_text().replace("\n", " ") for t in vm.plot_cost_vs_context(costs[costs["kind"].eq("guard")]).texts] \
        == ["No models to show: none here reads pages into text (kinds=None shows every kind)."]  # fmt: skip
    # A table ranked before (as CostExplorer's) keeps what that ranking left out in the count: its 8 :free
    # variants (gemma-3-4b/12b/27b, gemma-4-26b/31b, qianfan-ocr-fast, two nemotron) are named, though gone.
    twice = vm.plot_cost_per_image(vm.cost.rank_costs(vm.cost.rank_costs(costs)), top=40)
    said = twice.get_title().replace("\n", " ")
    assert "12 non-readers (8 aliases, 2 routers, 1 agent, 1 guard)" in said and "8 :free variants" in said
    assert [t.get_text() for t in twice.get_yticklabels()] == drawn


def test_an_all_free_top_draws_a_message_not_empty_bars(tmp_path):
    costs = _costs_of("sample")
    free = costs[costs["free"]]
    assert len(free) == 1  # google/gemma-3-27b-it:free in the sample
    ax = vm.plot_cost_per_image(free, top=5)
    _render(ax, tmp_path)
    assert list(ax.patches) == [] and ax.get_xlim() == (0, 1)
    assert [t.get_text() for t in ax.texts] == ["Every model here is free (1): no cost to chart."]
    assert _legend_labels(ax) == []


def test_models_the_request_does_not_fit_are_counted_not_drawn(tmp_path):
    from factories import model

    vision = ("text", "image")
    entries = [
        model("openai/gpt-4o", prompt="0.0000025", completion="0.00001", inputs=vision),
        model("openai/gpt-4o-mini", prompt="0.00000015", completion="0.0000006", inputs=vision),
        # The cheapest, but 700 answer tokens and the page's image tokens exceed its 700 tokens of context.
        model("openai/gpt-4.1-nano", prompt="0.0000001", completion="0.0000004", inputs=vision, context_length=700),
    ]
    costs = vm.cost_per_image(vm.catalog.models_frame(entries), 1700, 2200, output_tokens=700)
    ax = vm.plot_cost_per_image(costs, top=5)
    _render(ax, tmp_path)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["openai/gpt-4o-mini", "openai/gpt-4o"]
    assert "2 priced models; 1 too small for the request not shown" in ax.get_title()
    only = vm.plot_cost_per_image(costs[~costs["fits"]], top=5)
    assert [t.get_text().replace("\n", " ") for t in only.texts] == [
        "No models to show: the request fits no model here (context or maximum output)."
    ]


def test_one_provider_one_colour_in_every_chart(tmp_path):
    from vision_models.present.charts import OTHER, OTHER_COLOUR, PROVIDER_COLOURS

    real = _present(REAL)
    if not real:
        pytest.skip("needs the real OpenRouter catalogs in ../shared/catalogs (absent here)")
    seen: dict[str, set] = {}
    for source in ["sample", *[str(p) for p in real]]:
        costs = _costs_of(source)
        bars = vm.plot_cost_per_image(costs, top=40)
        for label, handle in zip(_legend_labels(bars), bars.get_legend().legend_handles):
            if label == "range: sources disagree":  # the whisker's key: a line, not a provider
                continue
            seen.setdefault(label, set()).add(matplotlib.colors.to_hex(handle.get_facecolor()))
        scatter = vm.plot_cost_vs_context(costs)
        for collection in scatter.collections:
            seen.setdefault(collection.get_label(), set()).add(matplotlib.colors.to_hex(collection.get_facecolor()[0]))
        plt.close("all")
    seen.pop("uncertain estimate", None)
    assert all(len(colours) == 1 for colours in seen.values()), seen
    assert seen[OTHER] == {OTHER_COLOUR}
    assert seen["openai"] == {PROVIDER_COLOURS["openai"]} and seen["google"] == {PROVIDER_COLOURS["google"]}
    assert len(set(PROVIDER_COLOURS.values()) | {OTHER_COLOUR}) == len(PROVIDER_COLOURS) + 1


def _present(names):
    from factories import SHARED_CATALOGS

    return [SHARED_CATALOGS / n for n in names if (SHARED_CATALOGS / n).exists()]


def test_context_scatter_legend_matches_drawn_points(any_costs, tmp_path):
    ax = vm.plot_cost_vs_context(any_costs)
    _render(ax, tmp_path)
    drawn = [c.get_label() for c in ax.collections if len(c.get_offsets())]
    labels = _legend_labels(ax)
    assert labels[: len(drawn)] == drawn and labels[len(drawn) :] == ["cheapest for its context"]
    ranked = vm.cost.rank_costs(any_costs, include_free=True, include_unfit=True)
    plotted = ranked[(ranked["usd_per_1k_images"] > 0) & (ranked["context_length"].astype("float64") > 0)]
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(plotted)
    assert len(drawn) <= len(vm.charts.PROVIDER_COLOURS) + 1  # the long tail is one "other" group
    assert ax.get_ylim()[0] > 0 if ax.get_yscale() == "log" else ax.get_ylim()[0] == 0
    usd, tokens = _ticks(ax.yaxis), _ticks(ax.xaxis)
    assert usd and all(t.startswith("$") for t in usd), usd
    assert tokens and all(t[-1] in "kM" or t == "0" for t in tokens), tokens  # 200k, 1M: no 10^5, no 1e6


@pytest.fixture(scope="module")
def daily_history(daily_history_built, tmp_path_factory):
    """The 60 dailies imported in date order (the run's shared import), in this module's own copy."""
    from factories import copy_of_daily_history

    return copy_of_daily_history(daily_history_built, tmp_path_factory.mktemp("history"))


def test_price_history_has_a_date_axis_readable_ticks_and_words(daily_history, tmp_path):
    changes = vm.catalog_changes(vision_only=True, path=daily_history)
    moved = changes.loc[changes["kind"] == "price", "id"].value_counts().head(4).index.tolist()
    prices = vm.price_history(moved, path=daily_history)
    ax = vm.plot_price_history(prices, what="vision model", why="with the most price changes")
    _render(ax, tmp_path)
    # The 60 dailies run from 2026-03-02 to 2026-05-01; the title says which models, how many and why.
    assert ax.get_title().replace("\n", " ") == (
        "Prompt price of the 4 vision models with the most price changes, 2026-03-02 to 2026-05-01"
    )
    assert ax.get_ylabel() == "USD per million prompt tokens" and "date" in ax.get_xlabel()
    assert ax.get_ylim()[0] == 0
    assert _legend_labels(ax) == sorted(moved) == [line.get_label() for line in ax.get_lines()]
    ticks = [matplotlib.dates.num2date(t).date() for t in ax.get_xticks()]
    first, last = prices["date"].min().date(), prices["date"].max().date()
    inside = [t for t in ticks if first <= t <= last]
    assert len(inside) >= 3  # dated ticks along the snapshot period (2026-03-02 to 2026-05-01)
    assert _no_overlap(ax.get_xticklabels())
    shown = [t.get_text() for t in ax.get_xticklabels()]
    assert "Apr" in shown  # a month name, as ConciseDateFormatter writes it


def test_models_added_per_week_labels_are_the_weeks_mondays(daily_history, tmp_path):
    changes = vm.catalog_changes(vision_only=True, path=daily_history)
    per_week = vm.models_added_per_week(changes)
    # Independent count: pandas' own weekly resample (weeks starting Monday) of the same rows, aliases
    # (the ~...-latest ids, new names for models already listed) left out.
    added = changes[(changes["kind"] == "added") & ~changes["id"].str.startswith("~")].set_index("date")["id"]
    resampled = added.resample("W-MON", label="left", closed="left").count()
    assert per_week["models_added"].tolist() == resampled.tolist()
    assert [d.strftime("%Y-%m-%d") for d in per_week.index] == [d.strftime("%Y-%m-%d") for d in resampled.index]
    # The dailies run from Monday 2026-03-02 (the baseline: nothing can be added on it) to Friday 2026-05-01:
    # the first and the last week are partial, the seven between whole.
    assert per_week["partial"].tolist() == [True, *[False] * 7, True]
    assert per_week["models_added"].dtype == "int64" and per_week["partial"].dtype == bool
    ax = vm.plot_models_added_per_week(per_week)
    _render(ax, tmp_path)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "2026-03-02" and labels[-1] == "2026-04-27" and len(labels) == 9  # 9 Mondays
    assert all(pd.Timestamp(label).day_of_week == 0 for label in labels)
    bars = ax.patches
    assert [int(bar.get_height()) for bar in bars] == per_week["models_added"].tolist()
    assert [bool(bar.get_hatch()) for bar in bars] == per_week["partial"].tolist()
    assert _legend_labels(ax) == ["whole week", "partial week"]
    assert ax.get_ylim()[0] == 0 and _no_overlap(ax.get_xticklabels())


def test_aliases_are_not_new_models_in_the_weekly_count(daily_history):
    changes = vm.catalog_changes(vision_only=True, path=daily_history)
    added = changes[changes["kind"] == "added"]
    aliases = added[added["id"].str.startswith("~")]
    # Read from the daily files: ~anthropic/claude-opus-latest appears on 2026-04-22, seven more ~ aliases on 04-28.
    assert aliases["date"].dt.strftime("%Y-%m-%d").value_counts().to_dict() == {"2026-04-28": 7, "2026-04-22": 1}
    per_week = vm.models_added_per_week(changes)
    total = len(added) - len(aliases)
    assert per_week["models_added"].sum() == total


def _hand_changes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2026-03-04", "2026-03-08", "2026-03-09", "2026-03-24", "2026-03-05", "2026-03-10"], utc=True
            ),
            "kind": ["added", "added", "added", "added", "removed", "added"],
            "id": ["a/a", "b/b", "c/c", "d/d", "e/e", "~f/f-latest"],
        }
    )


def test_models_added_per_week_by_hand(tmp_path):
    changes = _hand_changes()
    per_week = vm.models_added_per_week(changes)
    # 03-04 (Wed) and 03-08 (Sun) fall in the week of Monday 03-02; 03-09 is a Monday; 03-16 has none;
    # 03-24 is in 03-23's. The removal and the ~ alias added on 03-10 do not count.
    assert [(str(d), n) for d, n in per_week["models_added"].items()] == [
        ("2026-03-02", 2),
        ("2026-03-09", 1),
        ("2026-03-16", 0),
        ("2026-03-23", 1),
    ]
    # No range given, none in attrs: the first and last week cannot be shown whole.
    assert per_week["partial"].tolist() == [True, False, False, True]
    ax = vm.plot_models_added_per_week(per_week)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"]
    assert ax.get_title() == "Vision models added per week: 4 in 4 weeks (2 partial)"
    empty = vm.plot_models_added_per_week(changes.iloc[:0])
    _render(empty, tmp_path)
    assert list(empty.patches) == []
    assert [t.get_text() for t in empty.texts] == ["No vision models added in this period."]


def test_the_range_decides_the_weeks_and_which_are_partial():
    changes = _hand_changes()
    # From Monday 03-02 00:00 to Sunday 03-29 23:59:59.999999: four whole weeks, the last with one addition.
    whole = vm.models_added_per_week(changes, since="2026-03-02", until="2026-03-29T23:59:59.999999")
    assert whole["partial"].tolist() == [False] * 4
    # From Tuesday 03-03 to Wednesday 04-08: the weeks of 03-02 and 04-06 are partial; 03-30 and 04-06 added none.
    part = vm.models_added_per_week(changes, since="2026-03-03", until="2026-04-08")
    assert [str(d) for d in part.index] == [
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-23",
        "2026-03-30",
        "2026-04-06",
    ]
    assert part["models_added"].tolist() == [2, 1, 0, 1, 0, 0]
    assert part["partial"].tolist() == [True, False, False, False, False, True]
    # catalog_changes leaves the range in attrs; an explicit argument wins over it.
    changes.attrs = {"since": pd.Timestamp("2026-03-02", tz="UTC"), "until": pd.Timestamp("2026-03-25", tz="UTC")}
    assert vm.models_added_per_week(changes)["partial"].tolist() == [False, False, False, True]
    assert vm.models_added_per_week(changes, until="2026-03-29T23:59:59.999999")["partial"].tolist() == [False] * 4


@pytest.mark.parametrize(
    "options, needle",
    [
        ({"since": "2026-04-01", "until": "2026-03-01"}, "the range is reversed"),
        ({"since": "the start"}, "bad since 'the start'"),
        ({"until": 3.5j}, "bad until 3.5j"),
    ],
)
def test_a_bad_weekly_range_is_named(options, needle):
    with pytest.raises(ValueError, match=needle):
        vm.models_added_per_week(_hand_changes(), **options)


# --- Axes that read right: log past two decades, dollars and tokens on the ticks, words in the right number ---


def cost_table(values, *, providers=None, uncertain=None, contexts=None) -> pd.DataFrame:
    """A cost table by hand, in cost_per_image's columns: one model per value (USD per 1,000 images)."""
    count = len(values)
    return pd.DataFrame(
        {
            "id": [f"p/model-{i}" for i in range(count)],
            "provider": providers or ["openai"] * count,
            "usd_per_1k_images": pd.array(values, dtype="float64"),
            "uncertain": uncertain or [False] * count,
            "free": [value == 0 for value in values],
            "context_length": pd.array(contexts or [128_000] * count, dtype="Int64"),
        }
    )


def _ticks(axis) -> list[str]:
    """The tick labels inside the axis' view (a locator also labels ticks just outside it)."""
    low, high = sorted(axis.get_view_interval())
    return [label.get_text() for tick, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels())
            if low <= tick <= high and label.get_text()]  # fmt: skip


@pytest.mark.parametrize(
    "values, scale",
    [
        ([0.1, 1.0, 10.0, 100.0], "log"),
        ([0.12, 0.5, 80.0], "log"),
        ([1.0, 4.0, 10.0], "linear"),
        ([2.0, 150.0], "linear"),
    ],
)
def test_cost_bars_go_logarithmic_past_two_decades_with_dollar_ticks(values, scale, tmp_path):
    # 0.1 to 100 is three decades and 0.12 to 80 is 2.8; 1 to 10 is one and 2 to 150 is 1.9.
    ax = vm.plot_cost_per_image(cost_table(values))
    _render(ax, tmp_path)
    assert ax.get_xscale() == scale
    ticks = _ticks(ax.xaxis)
    assert len(ticks) >= 3 and all(t.startswith("$") for t in ticks), ticks
    if scale == "log":
        assert ax.get_xlim()[0] < min(values) and "(log scale)" in ax.get_xlabel()
        assert {"$1", "$10"} <= set(ticks) and not any("10^" in t or "e" in t for t in ticks)
    else:
        assert ax.get_xlim()[0] == 0 and ticks[0] == "$0"
    assert [bar.get_x() + bar.get_width() for bar in ax.patches] == pytest.approx(values)  # each bar ends at its cost


def test_log_ticks_read_as_dollars_below_a_dollar():
    ax = vm.plot_cost_per_image(cost_table([0.1, 1.0, 10.0, 100.0]))
    ax.figure.canvas.draw()
    ticks = _ticks(ax.xaxis)
    assert {"$0.10", "$0.20", "$0.50", "$1", "$2", "$5", "$100"} <= set(ticks), ticks


def test_tick_texts_by_hand():
    from vision_models.present.charts import tokens_tick, usd_ticks

    assert usd_ticks([0.1, 1.0, 10.0, 1000.0, 0.002, 0.05], uniform=False) == [
        "$0.10",
        "$1",
        "$10",
        "$1,000",
        "$0.002",
        "$0.05",
    ]
    assert usd_ticks([0.0, 0.5, 1.0, 1.5]) == ["$0.00", "$0.50", "$1.00", "$1.50"]  # one axis, one precision
    assert usd_ticks([0.0, 5.0, 10.0]) == ["$0", "$5", "$10"]
    assert [tokens_tick(v) for v in (0, 500, 4_000, 128_000, 1_000_000, 1_500_000)] == [
        "0",
        "500",
        "4k",
        "128k",
        "1M",
        "1.5M",
    ]


def test_free_models_on_a_log_axis_are_named_not_dropped():
    table = cost_table([0.0, 0.1, 10.0, 100.0])
    ax = vm.plot_cost_per_image(table)
    assert ax.get_xscale() == "log" and len(ax.patches) == 3
    assert ax.get_title().endswith("\n3 priced models\n1 free, not drawn: p/model-0")
    scatter = vm.plot_cost_vs_context(table)
    assert scatter.get_title().endswith("\n3 models; 1 free not shown")


@pytest.mark.parametrize(
    "costs, contexts, x_scale, y_scale",
    [
        ([0.1, 2.0, 150.0], [4_000, 128_000, 2_000_000], "log", "log"),
        ([1.0, 3.0, 9.0], [32_000, 128_000, 1_000_000], "linear", "linear"),
    ],
)
def test_context_scatter_scales_and_tick_words(costs, contexts, x_scale, y_scale, tmp_path):
    ax = vm.plot_cost_vs_context(cost_table(costs, contexts=contexts))
    _render(ax, tmp_path)
    assert (ax.get_xscale(), ax.get_yscale()) == (x_scale, y_scale)
    usd, tokens = _ticks(ax.yaxis), _ticks(ax.xaxis)
    assert all(t.startswith("$") for t in usd), usd
    if x_scale == "log":  # 4k to 2M is 2.7 decades: ticks at 1, 2, 5 x 10^n tokens
        assert {"10k", "100k", "1M"} <= set(tokens), tokens
        assert {"$1", "$10", "$100"} <= set(usd), usd
    else:  # 32k to 1M is 1.5 decades
        assert "1M" in tokens and ax.get_xlim()[0] == 0 and ax.get_ylim()[0] == 0


def _pixels_unlike_the_face(fig, bar) -> float:
    """The share of a bar's inner pixels that differ clearly from its face colour: its hatching, as rendered."""
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
    box = bar.get_window_extent()
    top = pixels.shape[0] - int(box.y1)
    inside = pixels[top + 3 : top + int(box.height) - 3, int(box.x0) + 3 : int(box.x1) - 3].reshape(-1, 3)
    face = np.array(matplotlib.colors.to_rgb(bar.get_facecolor())) * 255
    return float((np.abs(inside - face).sum(axis=1) > 60).mean())


def test_hatching_shows_in_the_picture_on_dark_and_light_bars():
    table = cost_table([1.0, 2.0, 3.0], providers=["bytedance-seed", "google", "openai"], uncertain=[True, True, False])
    fig, ax = plt.subplots(figsize=(6, 2.5), dpi=100)
    vm.plot_cost_per_image(table, ax=ax)
    dark, light, plain = ax.patches[:3]  # cheapest first: navy and orange hatched, blue not
    assert dark.get_hatch() and light.get_hatch() and not plain.get_hatch()
    assert _pixels_unlike_the_face(fig, dark) > 0.1
    assert _pixels_unlike_the_face(fig, light) > 0.1
    assert _pixels_unlike_the_face(fig, plain) < 0.01


def test_one_model_is_one_model_and_one_week_one_week():
    one = cost_table([2.0])
    assert vm.plot_cost_per_image(one).get_title() == "Cost per image\n1 priced model"
    assert vm.plot_cost_vs_context(one).get_title() == "Cost per image\n1 model"
    per_week = pd.Series([3], index=pd.Index([date(2026, 3, 2)], name="week_starting"), name="models added")
    assert vm.plot_models_added_per_week(per_week).get_title() == "Vision models added per week: 3 in 1 week"
    history = price_frame(["p/a"])
    assert vm.plot_price_history(history).get_title() == "Prompt price of 1 model, 2026-03-01 to 2026-03-02"


def price_frame(ids) -> pd.DataFrame:
    """A price_history frame by hand: each model at $1 then $2 per M prompt tokens, on 2026-03-01 and 03-02."""
    dates = pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True)
    return pd.DataFrame(
        {
            "date": dates.repeat(len(ids)),
            "id": list(ids) * 2,
            "name": list(ids) * 2,
            "prompt_usd_per_mtok": [1.0] * len(ids) + [2.0] * len(ids),
            "completion_usd_per_mtok": [3.0] * (2 * len(ids)),
            "image_price": [np.nan] * (2 * len(ids)),
            "request_usd": [0.0] * (2 * len(ids)),
        }
    )


def test_price_history_lines_never_share_a_colour_and_style(tmp_path):
    ids = [f"p/model-{i:02d}" for i in range(12)]
    ax = vm.plot_price_history(price_frame(ids))
    _render(ax, tmp_path)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ids
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in lines]
    assert len(set(colours[:10])) == 10  # the palette's ten, all different
    assert len({(c, line.get_linestyle()) for c, line in zip(colours, lines)}) == 12  # then a new style
    assert ax.get_title() == "Prompt price of 12 models, 2026-03-01 to 2026-03-02"
    ticks = _ticks(ax.yaxis)
    assert ticks and all(t.startswith("$") for t in ticks), ticks


def test_price_history_of_real_models_has_distinct_colours(daily_history, tmp_path):
    changes = vm.catalog_changes(vision_only=True, path=daily_history)
    moved = changes.loc[changes["kind"] == "price", "id"].value_counts().head(6).index.tolist()
    ax = vm.plot_price_history(vm.price_history(moved, path=daily_history))
    _render(ax, tmp_path)
    # Two of the six are moonshotai's and two qwen's: provider colours would repeat, line colours do not.
    assert len({matplotlib.colors.to_hex(line.get_color()) for line in ax.get_lines()}) == len(ax.get_lines()) == 6
    assert ax.get_title().startswith("Prompt price of 6 models, 2026-03-02 to 2026-05-01")


@pytest.mark.parametrize("chart", ["cost", "context", "history", "weekly"])
def test_an_empty_frame_draws_a_message_instead_of_failing(chart, costs, tmp_path):
    draw = {
        "cost": lambda: vm.plot_cost_per_image(costs.iloc[:0]),
        "context": lambda: vm.plot_cost_vs_context(costs.iloc[:0]),
        "history": lambda: vm.plot_price_history(vm.price_history([])),
        "weekly": lambda: vm.plot_models_added_per_week(
            vm.models_added_per_week(pd.DataFrame({"date": [], "kind": []}))
        ),
    }[chart]
    ax = draw()
    _render(ax, tmp_path)
    assert [t.get_text().split(":")[0] for t in ax.texts] == [
        "No models to show" if chart != "weekly" else "No vision models added in this period."
    ]
    assert not ax.patches and not ax.lines and not ax.collections
    assert "0 models" not in ax.get_title() or chart in ("cost", "context")


# --- Called without ax= in a notebook: shown once, under any backend ---

STANDALONE_CELLS = [
    (
        "import vision_models as vm\n"
        "costs = vm.cost_per_image(vm.fetch_vision_models('sample').models, preset='letter-200dpi')\n"
        "ax = vm.plot_cost_per_image(costs, top=5)"
    ),
    "import matplotlib.pyplot as plt\nprint('open figures', len(plt.get_fignums()))",
]


@pytest.mark.parametrize(
    "backend, magic",
    [("Agg", ""), ("module://matplotlib_inline.backend_inline", "%matplotlib inline"), (None, "%matplotlib widget")],
)
def test_a_chart_in_a_notebook_cell_is_shown_once_under_any_backend(tmp_path, monkeypatch, backend, magic):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if magic == "%matplotlib widget":
        pytest.importorskip("ipympl", reason="ipympl is not installed (pip install ipympl)")
    if backend:
        monkeypatch.setenv("MPLBACKEND", backend)
    else:
        monkeypatch.delenv("MPLBACKEND", raising=False)
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(c) for c in ([magic] if magic else []) + STANDALONE_CELLS]
    nbclient.NotebookClient(
        book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    chart, after = book.cells[-2].outputs, book.cells[-1].outputs
    assert [o for o in chart + after if o.output_type == "error"] == []
    shown = [o for o in chart if o.output_type in ("display_data", "execute_result")]
    assert len(shown) == 1, chart  # shown, and only once
    if magic == "%matplotlib widget":  # ipympl shows its own live canvas (with a PNG beside it for saved notebooks)
        assert "application/vnd.jupyter.widget-view+json" in shown[0]["data"]
    else:
        assert "image/png" in shown[0]["data"]
        assert "open figures 0" in after[0]["text"]  # closed after showing: no second copy at the next cell


def test_outside_a_notebook_a_chart_only_returns_its_axes():
    code = (
        "import matplotlib; matplotlib.use('Agg'); import sys, vision_models as vm, matplotlib.pyplot as plt\n"
        "costs = vm.cost_per_image(vm.fetch_vision_models('sample').models, preset='letter-200dpi')\n"
        "ax = vm.plot_cost_per_image(costs)\n"
        "print('IPython' in sys.modules, plt.get_fignums() == [ax.figure.number])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False True"
