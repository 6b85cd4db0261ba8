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
    from vision_models.charts import provider_groups

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
    priced = any_costs[any_costs["usd_per_1k_images"].notna() & ~any_costs["free"]]
    expected = priced.sort_values(["usd_per_1k_images", "id"], kind="stable").head(25)
    assert [t.get_text() for t in ax.get_yticklabels()] == expected["id"].tolist()
    assert all(bar.get_width() > 0 for bar in ax.patches)  # no empty bars for free models
    assert ax.get_xlim()[0] == 0 and ax.get_xlim()[1] > expected["usd_per_1k_images"].max()
    drawn = {vm.charts.provider_groups([p])[0] for p in expected["provider"]}
    labels = _legend_labels(ax)
    assert set(labels) - {"uncertain estimate"} == drawn  # the legend lists what is drawn, nothing else
    colours = {bar.get_facecolor()[:3] for bar in ax.patches}
    assert len(colours) == len(drawn)
    free = any_costs[any_costs["free"]]
    if len(free):
        assert f"{len(free)} free, not drawn" in ax.get_title()


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
    assert "cheapest 2 of 2 priced models; 1 too small for the request not shown" in ax.get_title()
    only = vm.plot_cost_per_image(costs[~costs["fits"]], top=5)
    assert [t.get_text() for t in only.texts] == ["The request fits no model here (context or maximum output)."]


def test_one_provider_one_colour_in_every_chart(tmp_path):
    from vision_models.charts import OTHER, OTHER_COLOUR, PROVIDER_COLOURS

    real = _present(REAL)
    if not real:
        pytest.skip("needs the real OpenRouter catalogs in ../shared/catalogs (absent here)")
    seen: dict[str, set] = {}
    for source in ["sample", *[str(p) for p in real]]:
        costs = _costs_of(source)
        bars = vm.plot_cost_per_image(costs, top=40)
        for label, colour in zip(_legend_labels(bars), bars.get_legend().legend_handles):
            seen.setdefault(label, set()).add(matplotlib.colors.to_hex(colour.get_facecolor()))
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
    plotted = any_costs[(any_costs["usd_per_1k_images"] > 0) & (any_costs["context_length"].astype("float64") > 0)]
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(plotted)
    assert len(drawn) <= len(vm.charts.PROVIDER_COLOURS) + 1  # the long tail is one "other" group
    assert ax.get_ylim()[0] > 0


@pytest.fixture(scope="module")
def daily_history(tmp_path_factory):
    from factories import SHARED_CATALOGS

    files = sorted((SHARED_CATALOGS / "daily").glob("openrouter-*.json.gz"))
    if not files:
        pytest.skip(f"daily catalogs {SHARED_CATALOGS / 'daily'} are absent")
    path = tmp_path_factory.mktemp("history") / "history.sqlite"
    vm.history.import_files(files, path=path)
    return path


def test_price_history_has_a_date_axis_readable_ticks_and_words(daily_history, tmp_path):
    changes = vm.catalog_changes(vision_only=True, path=daily_history)
    moved = changes.loc[changes["kind"] == "price", "id"].value_counts().head(4).index.tolist()
    prices = vm.price_history(moved, path=daily_history)
    ax = vm.plot_price_history(prices)
    _render(ax, tmp_path)
    assert ax.get_title() == "Prompt price over time"
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
        ("2026-03-02", 2), ("2026-03-09", 1), ("2026-03-16", 0), ("2026-03-23", 1)
    ]
    # No range given, none in attrs: the first and last week cannot be shown whole.
    assert per_week["partial"].tolist() == [True, False, False, True]
    ax = vm.plot_models_added_per_week(per_week)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"]
    assert ax.get_title() == "Vision models added per week: 4 in 4 weeks (2 partial)"
    empty = vm.plot_models_added_per_week(changes.iloc[:0])
    _render(empty, tmp_path)
    assert list(empty.patches) == []
    assert [t.get_text() for t in empty.texts] == ["no vision models added"]


def test_the_range_decides_the_weeks_and_which_are_partial():
    changes = _hand_changes()
    # From Monday 03-02 00:00 to Sunday 03-29 23:59:59.999999: four whole weeks, the last with one addition.
    whole = vm.models_added_per_week(changes, since="2026-03-02", until="2026-03-29T23:59:59.999999")
    assert whole["partial"].tolist() == [False] * 4
    # From Tuesday 03-03 to Wednesday 04-08: the weeks of 03-02 and 04-06 are partial; 03-30 and 04-06 added none.
    part = vm.models_added_per_week(changes, since="2026-03-03", until="2026-04-08")
    assert [str(d) for d in part.index] == ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30", "2026-04-06"]
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
