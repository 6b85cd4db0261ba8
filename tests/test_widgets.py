"""Widgets without a browser: set .value, read the result the widget exposes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import re  # noqa: E402
from html.parser import HTMLParser  # noqa: E402

import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from factories import model  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from vision_models import fetch_catalog  # noqa: E402
from vision_models.catalog.frame import models_frame  # noqa: E402
from vision_models.present import comparison_widget, widgets  # noqa: E402
from vision_models.present.widgets import CostExplorer, ModelComparison, ModelFilter, ModelPicker, html_table  # noqa: E402

VISION = ("text", "image")


@pytest.fixture
def catalog():
    return fetch_catalog("sample").models


def test_filter_follows_every_control(catalog):
    box = ModelFilter(catalog)
    vision_ids = set(catalog.loc[catalog["is_vision"], "id"])
    assert set(box.filtered["id"]) == vision_ids
    box.providers.value = ("openai",)
    assert set(box.filtered["provider"]) == {"openai"}
    box.min_context.value = 200_000
    assert (box.filtered["context_length"] >= 200_000).all()
    assert set(box.filtered["id"]) == {
        "openai/gpt-4.1",
        "openai/gpt-4.1-mini",
        "openai/gpt-4.1-nano",
        "openai/o3",
        "openai/o4-mini",
    }
    box.max_price.value = "1"
    assert set(box.filtered["id"]) == {"openai/gpt-4.1-mini", "openai/gpt-4.1-nano"}  # $0.40 and $0.10 per M
    box.search.value = "NANO"
    assert box.filtered["id"].tolist() == ["openai/gpt-4.1-nano"]
    assert "<b>1</b> of" in box.count.value


def test_rules_switch_re_decides_vision(catalog):
    box = ModelFilter(catalog)
    box.search.value = "search-preview"
    assert box.rules.value == "strict" and box.filtered.empty  # by default its own metadata decides: text only
    box.rules.value = "seed"
    assert box.filtered["id"].tolist() == ["openai/gpt-4o-search-preview"]  # the seed's name rule says vision
    box.rules.value = "strict"
    assert box.filtered.empty


def test_empty_result_is_a_plain_message_and_a_bad_price_is_named_by_its_label(catalog):
    box = ModelFilter(catalog)
    box.search.value = "no such model anywhere"
    assert box.filtered.empty
    assert "No model matches these filters." in box.table.value
    assert box.picker.chosen is None
    box.search.value = ""
    assert "<table" in box.table.value
    for bad in ("cheap", "-1"):
        box.max_price.value = bad
        assert (
            f"Max $/Mtok: expected USD per million tokens, a number &gt;= 0, got &#x27;{bad}&#x27;" in box.count.value
        )
        assert "max_prompt_price" not in box.count.value
        assert box.table.value == "" and box.filtered.empty and box.picker.chosen is None  # the old table is gone
    box.max_price.value = "1"
    assert "<table" in box.table.value and not box.filtered.empty


def test_an_offline_result_with_nothing_cached_says_why():
    class Offline:  # the shape of a CatalogResult that failed with nothing cached
        models = models_frame([])
        error = "Network request failed"

    box = ModelFilter.from_result(Offline())
    assert "No models: Network request failed." in box.table.value


def test_remote_text_is_escaped_in_html():
    hostile = [
        model(
            "evil/script", name="<script>alert(1)</script>", description='<img src=x onerror="alert(2)">', inputs=VISION
        ),
    ]
    frame = models_frame(hostile)
    box = ModelFilter(frame)
    for html in (box.table.value, box.picker.details.value, html_table(frame)):
        assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in box.table.value
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in box.picker.details.value


def test_picker_offers_the_filtered_models_and_keeps_a_valid_choice(catalog):
    box = ModelFilter(catalog)
    box.picker.dropdown.value = "google/gemini-2.5-flash"
    assert box.picker.chosen == "google/gemini-2.5-flash"
    box.providers.value = ("google",)
    assert box.picker.chosen == "google/gemini-2.5-flash"  # still offered, still chosen
    box.providers.value = ("qwen",)
    assert box.picker.chosen in set(box.filtered["id"])
    assert "Gemini" not in box.picker.details.value


def test_standalone_picker(catalog):
    picker = ModelPicker(catalog, value="openai/gpt-4o-mini")
    assert picker.chosen == "openai/gpt-4o-mini"
    assert "$0.15 / $0.6 per M tokens" in picker.details.value


def test_cost_explorer_presets_custom_sizes_and_context(catalog):
    vision = catalog[catalog["is_vision"]]
    explorer = CostExplorer(vision, chart=False)
    row = explorer.costs.set_index("id").loc["openai/gpt-4o"]
    assert row["image_tokens"] == 765  # letter-200dpi, the design note's example
    assert len(explorer.shown) == 10
    explorer.preset.value = "screenshot-1080p"
    assert (explorer.width.value, explorer.height.value) == (1920, 1080)
    assert explorer.costs.attrs["preset"] == "screenshot-1080p"
    explorer.width.value = 1024
    explorer.height.value = 1024
    assert explorer.preset.value == "custom"
    assert explorer.costs.set_index("id").loc["google/gemini-2.5-flash", "image_tokens"] == 1032  # design note
    explorer.min_context.value = 1_000_000
    assert (explorer.shown["context_length"] >= 1_000_000).all() and not explorer.shown.empty
    explorer.min_context.value = 50_000_000
    assert explorer.shown.empty and "lower the minimum context" in explorer.table.value
    assert explorer.chart.outputs == ()  # no chart when nothing matches (chart=False draws none anyway)
    explorer.min_context.value = 0
    explorer.top.value = 3
    assert len(explorer.shown) == 3


def test_comparison_takes_one_to_five_and_an_empty_pick_is_a_message(catalog):
    vision = catalog[catalog["is_vision"]]
    pick = ModelComparison(vision, ids=[], chart=False)
    assert pick.compared is None and "Pick at least one model." in pick.table.value
    pick.select.value = ("openai/gpt-4o-mini", "google/gemini-2.5-flash", "qwen/qwen2.5-vl-72b-instruct")
    assert list(pick.compared.columns) == [
        "openai/gpt-4o-mini",
        "google/gemini-2.5-flash",
        "qwen/qwen2.5-vl-72b-instruct",
    ]
    assert pick.compared.loc["image_tokens"].tolist() == [25_501, 2322, 4819]  # design note examples
    pick.select.value = ("google/gemini-2.5-flash",)  # one model: its own row of facts
    assert list(pick.compared.columns) == ["google/gemini-2.5-flash"]
    pick.select.value = tuple(vision["id"].head(6))
    assert pick.compared is None and "Pick at most 5 models (6 picked)." in pick.table.value
    pick.select.value = ()
    assert pick.compared is None and pick.costs is None and "Pick at least one model." in pick.table.value


def _offered(select) -> list[str]:
    return [value for _, value in select.options]


def test_comparison_search_narrows_the_list_and_keeps_the_chosen(catalog):
    vision = catalog[catalog["is_vision"]]
    pick = ModelComparison(vision, ids=["openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"], chart=False)
    pick.search.value = "GEMINI"
    gemini = [i for i, name in zip(vision["id"], vision["name"]) if "gemini" in f"{i} {name}".lower()]
    assert gemini and set(_offered(pick.select)) == {*gemini, "openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"}
    assert pick.chosen == ["openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"]  # the search changed no choice
    assert list(pick.compared.columns) == pick.chosen
    pick.select.value = ("openai/gpt-4o-mini", "google/gemini-2.5-flash")
    pick.search.value = "no such model"
    assert _offered(pick.select) == [
        "google/gemini-2.5-flash",
        "openai/gpt-4o-mini",
    ]  # only the chosen, in catalog order
    pick.search.value = ""
    assert len(_offered(pick.select)) == len(vision) - 1  # all but the :free variant


def test_comparison_offers_free_variants_only_when_asked_or_chosen(catalog):
    vision = catalog[catalog["is_vision"]]
    variants = [i for i in vision["id"] if i.endswith(":free")]
    assert variants == ["google/gemma-3-27b-it:free"]  # the sample's one
    assert variants[0] not in _offered(ModelComparison(vision, chart=False).select)
    assert variants[0] in _offered(ModelComparison(vision, include_free=True, chart=False).select)
    chosen = ModelComparison(vision, ids=[variants[0], "openai/gpt-4o"], chart=False)
    assert variants[0] in _offered(chosen.select) and chosen.chosen == [variants[0], "openai/gpt-4o"]


def test_a_single_choice_comparison_for_one_model(catalog):
    vision = catalog[catalog["is_vision"]]
    one = ModelComparison(vision, max_models=1, chart=False)
    assert type(one.select).__name__ == "Select"  # one value, not a multiple selection
    # The default: the cheapest priced model of the biggest provider (openai, 9 models in the sample).
    assert one.chosen == ["openai/gpt-4.1-nano"] and list(one.compared.columns) == ["openai/gpt-4.1-nano"]
    assert one.summary.startswith("ModelComparison: pick one model")
    one.select.value = "google/gemini-2.5-flash"
    assert one.chosen == ["google/gemini-2.5-flash"]
    one.search.value = "claude"
    assert "google/gemini-2.5-flash" in _offered(one.select) and one.chosen == ["google/gemini-2.5-flash"]
    one.select.value = None
    assert one.chosen == [] and "Pick at least one model." in one.table.value
    with pytest.raises(
        ValueError, match=r"2 ids given for at most 1 \(max_models\): openai/gpt-4o, google/gemini-2.5-flash"
    ):
        ModelComparison(vision, ids=["openai/gpt-4o", "google/gemini-2.5-flash"], max_models=1, chart=False)


@pytest.mark.parametrize(
    "options, needle",
    [
        ({"max_models": 0}, "bad max_models 0: expected a whole number of models >= 1"),
        ({"max_models": "5"}, "bad max_models '5'"),
        ({"include_free": "yes"}, "bad include_free 'yes': expected True or False"),
    ],
)
def test_bad_comparison_options_are_named(catalog, options, needle):
    with pytest.raises(ValueError, match=needle):
        ModelComparison(catalog[catalog["is_vision"]], chart=False, **options)


def test_comparison_says_which_chosen_model_the_request_does_not_fit():
    frame = models_frame(
        [
            model("openai/gpt-4o", prompt="0.0000025", completion="0.00001", inputs=VISION),
            # 700 answer tokens are more than this model's 512 (its top provider's max_completion_tokens).
            model(
                "openai/gpt-4o-mini",
                inputs=VISION,
                top_provider={"context_length": 128_000, "max_completion_tokens": 512},
            ),
        ]
    )
    pick = ModelComparison(frame, ids=["openai/gpt-4o", "openai/gpt-4o-mini"], output_tokens=700)
    assert "openai/gpt-4o-mini is too small for this request: answer 700 tokens; max output 512." in pick.table.value
    assert "openai/gpt-4o is too small" not in pick.table.value
    assert pick.png is not None


def test_standalone_picker_search_keeps_the_choice(catalog):
    vision = catalog[catalog["is_vision"]]
    picker = ModelPicker(vision, value="openai/gpt-4o-mini")
    picker.search.value = "claude"
    claude = [i for i in vision["id"] if "claude" in i]
    assert set(_offered(picker.dropdown)) == {*claude, "openai/gpt-4o-mini"}
    assert picker.chosen == "openai/gpt-4o-mini"
    picker.search.value = "nothing like this"
    assert _offered(picker.dropdown) == ["openai/gpt-4o-mini"] and picker.chosen == "openai/gpt-4o-mini"
    empty = ModelPicker(vision.iloc[:0])
    empty.search.value = "claude"
    assert empty.chosen is None and "No model to choose." in empty.details.value
    fresh = ModelPicker(vision.iloc[:0])
    fresh.search.value = "claude"
    fresh.set_models(vision[vision["provider"] == "openai"])  # a search that finds none of them: no choice, said so
    assert fresh.chosen is None and "No model matches &#x27;claude&#x27;." in fresh.details.value
    assert "Find" not in repr(ModelFilter(catalog).picker.widget)  # a filter's picker has the filter's search


def _png_outputs(output) -> list[str]:
    return [o["data"]["image/png"] for o in output.outputs if "image/png" in o.get("data", {})]


def test_cost_explorer_chart_is_replaced_then_cleared_when_nothing_matches(catalog):
    explorer = CostExplorer(catalog[catalog["is_vision"]], top=5)
    first = _png_outputs(explorer.chart)
    assert len(first) == 1 and len(explorer.chart.outputs) == 1
    explorer.output_tokens.value = 4000
    second = _png_outputs(explorer.chart)
    assert len(second) == 1 and second != first  # replaced, not appended
    explorer.min_context.value = 50_000_000
    assert explorer.chart.outputs == () and explorer.png is None
    explorer.min_context.value = 0
    assert len(_png_outputs(explorer.chart)) == 1


def test_cost_explorer_subtitle_counts_every_qualifying_model(catalog, monkeypatch):
    titles = []
    draw = widgets.plot_cost_per_image

    def recording(costs, top, ax, **options):
        drawn = draw(costs, top=top, ax=ax, **options)
        titles.append("\n".join([drawn.get_title(), *(t.get_text() for t in drawn.texts)]))
        return ax

    monkeypatch.setattr(widgets, "plot_cost_per_image", recording)
    vision = catalog[catalog["is_vision"]]
    explorer = CostExplorer(vision, top=5)
    # The sample has 30 vision models under the default (strict) rules (31 under seed, which adds the
    # text-only gpt-4o-search-preview): 3 with a variable or unlisted price (openrouter/auto, llava-13b,
    # pixtral-large-2411), 1 :free variant (gemma-3-27b-it:free), 26 priced. llava-13b's 2,048 tokens of
    # context and 400 of output cannot take a Letter page and a 700-token answer; the :free variant is
    # left out until the box is ticked; openrouter/auto is a router, not a page reader: 27 ranked.
    assert "cheapest 5 of 27 models" in explorer.table.value
    assert (
        "1 :free variant left out" in explorer.table.value
        and "1 model too small for this request" in explorer.table.value
        and "1 model that does not read pages left out (1 router)" in explorer.table.value
    )
    assert "cheapest 5 of 26 priced models; 1 with unknown price not shown" in titles[-1]
    # the chart counts what the explorer's ranking left out too
    assert "1 router, 1 :free variant and 1 too small for the request not shown" in titles[-1].replace("\n", " ")
    assert "free, not drawn" not in titles[-1]
    explorer.include_free.value = True
    assert "cheapest 5 of 28 models" in explorer.table.value and ":free variant" not in explorer.table.value
    # The table's five cheapest now hold gemma-3-27b-it:free and four priced models: four bars, counted
    # against all 26 priced models, the free one named.
    assert "cheapest 4 of 26 priced models; 1 with unknown price not shown" in titles[-1]
    assert "1 free, not drawn: google/gemma-3-27b-it:free" in titles[-1]
    explorer.top.value = 1  # only the free model: the chart says so instead of drawing an empty bar
    assert "Every model here is free (1): no cost to chart." in titles[-1] and explorer.png is not None
    explorer.min_context.value = 1_000_000
    qualifying = int(((vision["context_length"] >= 1_000_000) & (vision["kind"] == "reader")).sum())  # not the router
    assert f"of {qualifying} models with at least 1,000,000 tokens of context" in explorer.table.value


def test_cost_explorer_leaves_out_models_a_long_answer_does_not_fit(catalog):
    import json

    from factories import REPO

    raw = {
        m["id"]: m for m in json.loads((REPO / "vision_models" / "data" / "sample_catalog.json").read_text())["data"]
    }
    explorer = CostExplorer(catalog[catalog["is_vision"]], chart=False)
    explorer.output_tokens.value = 8000
    left_out = set(explorer.qualifying.attrs["ranking_left_out"]["does_not_fit"])
    # Read from the catalog: every vision model whose top provider answers fewer than 8,000 tokens.
    short = {i for i in explorer.costs["id"] if (raw[i]["top_provider"].get("max_completion_tokens") or 10**9) < 8000}
    assert short and short <= left_out
    assert not left_out & set(explorer.qualifying["id"])
    assert f"{len(left_out)} models too small for this request left out" in explorer.table.value


def test_cost_explorer_on_the_real_2026_05_01_catalog_ranks_paid_models(catalog_2026_05_01, monkeypatch):
    import json

    raw = json.loads(catalog_2026_05_01.read_text())["data"]
    suffixed = {m["id"] for m in raw if m["id"].endswith(":free")}
    bars = []
    draw = widgets.plot_cost_per_image

    def recording(costs, top, ax, **options):
        drawn = draw(costs, top=top, ax=ax, **options)
        bars.append(len(drawn.patches))
        return ax

    monkeypatch.setattr(widgets, "plot_cost_per_image", recording)
    explorer = CostExplorer(models_frame(raw, vision_only=True))
    assert len(explorer.shown) == 10 and not set(explorer.shown["id"]) & suffixed
    assert bars[-1] == 10  # ten priced models, ten bars
    assert "8 :free variants left out" in explorer.table.value
    explorer.include_free.value = True
    assert sum(i in suffixed for i in explorer.shown["id"]) == 8 and bars[-1] == 2  # the complaint, on request


def test_comparison_defaults_come_from_the_data_and_unknown_ids_are_named(catalog):
    vision = catalog[catalog["is_vision"]]
    pick = ModelComparison(vision, chart=False)
    # The sample's three biggest providers are openai (9), google (5), anthropic (4); by their list prices the
    # cheapest page on each is gpt-4.1-nano, gemma-3-27b-it (the :free one is not a comparison) and claude-3.5-haiku.
    assert pick.chosen == ["openai/gpt-4.1-nano", "google/gemma-3-27b-it", "anthropic/claude-3.5-haiku"]
    assert pick.compared is not None
    with pytest.raises(ValueError, match=r"unknown model id 'openai/gpt-4o-mni'; close matches: openai/gpt-4o-mini"):
        ModelComparison(vision, ids=["openai/gpt-4o-mni", "google/gemini-2.5-flash"], chart=False)
    assert ModelComparison(vision.iloc[:0], chart=False).chosen == []
    # A free model is a provider's pick only on request: google's cheapest is then gemma-3-27b-it:free.
    free = widgets.default_comparison(
        vision, include_free=True, preset="letter-200dpi", prompt_tokens=60, output_tokens=700
    )
    assert free == ["openai/gpt-4.1-nano", "google/gemma-3-27b-it:free", "anthropic/claude-3.5-haiku"]


def _cells(html: str, tag: str) -> list[tuple[str, str]]:
    return re.findall(rf'<{tag} style="[^"]*text-align:(left|right)">(.*?)</{tag}>', html)


def test_tables_read_like_numbers_words_and_no_stray_header(catalog):
    vision = catalog[catalog["is_vision"]]
    pick = ModelComparison(vision, ids=["openai/gpt-4o-mini", "google/gemini-2.5-flash"], chart=False)
    headers = [text for _, text in _cells(pick.table.value, "th")]
    assert headers == ["attribute", "openai/gpt-4o-mini", "google/gemini-2.5-flash"]
    cells = _cells(pick.table.value, "td")
    rows = {cells[i][1]: cells[i + 1 : i + 3] for i in range(0, len(cells), 3)}
    assert rows["context_length"] == [("right", "128,000"), ("right", "1,048,576")]
    assert rows["image_tokens"] == [("right", "25,501"), ("right", "2,322")]  # design note examples
    assert rows["uncertain"][0][1] in ("yes", "no") and rows["free"] == [("left", "no"), ("left", "no")]
    assert rows["prompt_usd_per_mtok"] == [("right", "0.15"), ("right", "0.3")]
    # 25,501 * 0.15/M + 60 * 0.15/M + 700 * 0.6/M = 0.00425415 USD; per 1,000 images 4.25 (3 significant below 1)
    assert rows["usd_per_image"][0] == ("right", "0.00425")
    assert rows["usd_per_1k_images"][0] == ("right", "4.25")
    table = html_table(pd.DataFrame({"n": [1234567, None], "flag": [True, False], "x": [0.000123456, 12345.678]}))
    assert _cells(table, "th") == [("right", "n"), ("left", "flag"), ("right", "x")]
    assert [text for _, text in _cells(table, "td")] == ["1,234,567", "yes", "0.000123", "-", "no", "12,345.68"]


def test_saved_notebooks_get_a_static_rendering(catalog):
    vision = catalog[catalog["is_vision"]]
    for control in (ModelFilter(catalog), CostExplorer(vision), ModelComparison(vision), ModelPicker(vision)):
        bundle = control._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle  # live in JupyterLab
        assert bundle["text/plain"].startswith(type(control).__name__ + ":")  # says what the control does
        assert "VBox(" not in bundle["text/plain"]
        assert bundle["text/html"].startswith('<div class="vision-models-static tex2jax_ignore mathjax_ignore">')
    assert "<table" in ModelFilter(catalog)._repr_mimebundle_()["text/html"]
    assert "data:image/png;base64," in CostExplorer(vision)._repr_mimebundle_()["text/html"]


BACKEND_CELLS = [
    "import vision_models as vm\n"
    "models = vm.fetch_vision_models('sample').models\n"
    "explorer = vm.widgets.CostExplorer(models, top=5)\n"
    "pick = vm.widgets.ModelComparison(models)\n"
    "display(explorer, pick)",
    "first = explorer.png\n"
    "explorer.output_tokens.value = 3000\n"
    "pick.select.value = ('openai/gpt-4o', 'google/gemini-2.5-flash')\n"
    "import matplotlib.pyplot as plt\n"
    "assert explorer.png and explorer.png != first and pick.png\n"
    "print('open figures', len(plt.get_fignums()), 'backend', plt.get_backend())",
]


@pytest.mark.parametrize(
    "backend, magic",
    [
        ("module://matplotlib_inline.backend_inline", "%matplotlib inline"),
        ("Agg", ""),
        (None, "%matplotlib widget"),  # ipympl
    ],
)
def test_widgets_draw_under_every_backend(tmp_path, monkeypatch, backend, magic):
    if magic == "%matplotlib widget":
        pytest.importorskip("ipympl", reason="ipympl is not installed (pip install ipympl)")
    if backend:
        monkeypatch.setenv("MPLBACKEND", backend)
    else:
        monkeypatch.delenv("MPLBACKEND", raising=False)
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(magic)] * bool(magic) + [
        nbformat.v4.new_code_cell(c) for c in BACKEND_CELLS
    ]
    NotebookClient(book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in book.cells for o in cell.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "open figures 0" in printed, printed  # every chart's figure was closed, none left for the backend
    # The backend under test really was the one in use (matplotlib 3.9+ names it "inline" / "widget",
    # 3.8 by its module: module://matplotlib_inline.backend_inline, module://ipympl.backend_nbagg).
    expected = {"%matplotlib inline": ("inline",), "": ("agg",), "%matplotlib widget": ("widget", "ipympl")}[magic]
    assert any(name in printed.lower() for name in expected), printed
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 2


def test_the_picker_says_which_models_are_about_to_be_retired():
    from vision_models.present.widgets import ModelPicker

    frame = models_frame(
        [
            model("openai/gpt-4o", inputs=("text", "image"), name="GPT-4o", expiration_date="2026-06-01"),
            model("google/gemini-2.5-flash", inputs=("text", "image"), name="Gemini 2.5 Flash"),
        ]
    )
    labels = dict((value, label) for label, value in ModelPicker(frame).dropdown.options)
    assert labels["openai/gpt-4o"] == "GPT-4o  (openai/gpt-4o)  - expires 2026-06-01"
    assert labels["google/gemini-2.5-flash"] == "Gemini 2.5 Flash  (google/gemini-2.5-flash)"


class _DollarsOutsideIgnore(HTMLParser):
    """Collects the text holding a "$" that no enclosing element keeps MathJax off (both MathJax 2's and 3's class)."""

    VOID = frozenset({"br", "img", "hr", "input", "meta", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.exposed: list[str] = []
        self.dollars = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        self.stack.append({"tex2jax_ignore", "mathjax_ignore"} <= set(classes))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if "$" in data:
            self.dollars += 1
            if not any(self.stack):
                self.exposed.append(data)


def _exposed_dollars(markup: str) -> tuple[int, list[str]]:
    parser = _DollarsOutsideIgnore()
    parser.feed(markup)
    parser.close()
    return parser.dollars, parser.exposed


def test_every_piece_of_html_keeps_mathjax_off_its_dollar_signs(catalog):
    vision = catalog[catalog["is_vision"]]
    priced = pd.DataFrame({"id": ["$cheap$/model"], "price": ["$0.06 / $0.24"]})
    pieces = {
        "table": html_table(priced),
        "long table": html_table(pd.concat([priced] * 3), max_rows=1),
        "message": widgets.message_html("costs $0.06 / $0.24"),
        "picker": ModelPicker(vision, value="openai/gpt-4o-mini").details.value,  # "$0.15 / $0.6 per M tokens"
    }
    bad_price = ModelFilter(catalog)
    bad_price.max_price.value = "$5"  # the message quotes it: "Max $/Mtok: ... got '$5'"
    pieces["bad price"] = bad_price.count.value
    filtered = ModelFilter(catalog)
    pieces["filter count"] = filtered.count.value
    explorer = CostExplorer(vision, chart=False)
    pieces["explorer"] = explorer.table.value
    for control in (bad_price, explorer, ModelComparison(vision, chart=False), ModelPicker(vision)):
        pieces[f"static {type(control).__name__}"] = control._repr_mimebundle_()["text/html"]
    counted = 0
    for name, markup in pieces.items():
        dollars, exposed = _exposed_dollars(markup)
        counted += dollars
        assert exposed == [], (name, exposed)
    assert counted >= 8  # the check saw the dollars it is about
    assert _exposed_dollars("<p>$0.06 / $0.24</p>") == (1, ["$0.06 / $0.24"])  # and would see one left bare


def test_trial_html_keeps_mathjax_off_its_dollar_signs():
    from vision_models.trials.results import Trial, side_by_side_html

    results = pd.DataFrame({"page": ["p1"], "model": ["m/a"], "status": ["ok"], "error": [None], "text": ["Total $5 and $7"],
                            "cer": [0.1]})  # fmt: skip

    class Run:  # what side_by_side_html reads of a Trial
        def __init__(self) -> None:
            self.results, self.truth = results, {"p1": "Total $5 and $7"}

    dollars, exposed = _exposed_dollars(side_by_side_html(Run()))
    assert dollars == 2 and exposed == []

    class Finished:  # what Trial._repr_html_ reads: its repr (billed $... of $...) and its summary
        def __repr__(self):
            return "Trial('run', 1 rows {'ok': 1}, billed $0.000420 of $1, 1 requests sent)"

        def summary(self):
            return pd.DataFrame({"model": ["m/$a$"], "usd_per_page": [0.00042]})

    dollars, exposed = _exposed_dollars(Trial._repr_html_(Finished()))
    assert dollars == 2 and exposed == []


@pytest.mark.parametrize(
    "ids, scale",
    [
        # By the sample's list prices, per 1,000 Letter pages: gemma-3-27b-it $0.147 and claude-opus-4 $75.84 (2.7
        # decades, log); gpt-4o $9.06 and gemini-2.5-flash $2.46 (0.6 decades, linear).
        (("google/gemma-3-27b-it", "anthropic/claude-opus-4"), "log"),
        (("openai/gpt-4o", "google/gemini-2.5-flash"), "linear"),
    ],
)
def test_comparison_chart_scale_follows_the_span_of_the_chosen_costs(catalog, monkeypatch, ids, scale):
    scales = []
    draw = comparison_widget.plot_cost_per_image

    def recording(costs, top, ax, **options):
        draw(costs, top=top, ax=ax, **options)
        scales.append(ax.get_xscale())
        return ax

    monkeypatch.setattr(comparison_widget, "plot_cost_per_image", recording)
    pick = ModelComparison(catalog[catalog["is_vision"]], ids=list(ids), preset="letter-200dpi", output_tokens=700)
    assert pick.png is not None and scales == [scale]


def test_counts_in_words_are_never_1_models(catalog):
    vision = catalog[catalog["is_vision"]]
    one = vision[vision["id"] == "openai/gpt-4o-mini"]
    explorer = CostExplorer(one, top=5)
    assert "<br>1 model<" in explorer.table.value and "1 models" not in explorer.table.value
    explorer.top.value = 1
    assert "1 model" in explorer.table.value and "1 models" not in explorer.table.value
    box = ModelFilter(one)
    assert box.count.value.endswith("<b>1</b> of 1 vision model</div>")
    # The sample's 30 vision models less its one :free variant, the one whose context the request overflows
    # and its router.
    assert "cheapest 5 of 27 models" in CostExplorer(vision, top=5, chart=False).table.value
    assert "1 models" not in explorer.static_html()
