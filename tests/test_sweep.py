"""The resolution sweep against the loopback stand-in, whose answers get worse as the image gets smaller.

The stand-in bills ``ceil(width x height / 750)`` image tokens (``pixels_per_token``) and answers by width:
under 1,024 px a garbled transcript, from 1,024 px one character wrong, from 1,536 px the truth. The pages are
2,000 x 1,500, so the sizes sent are 768 x 576, 1,024 x 768, 1,536 x 1,152 and 2,000 x 1,500 (never enlarged).
"""

from __future__ import annotations

import math

import pytest
from factories import ODD, PRICES, make_pages, page_requests, trial_catalog
from openrouter_standin import ModelBill, StandIn, serving

import vision_models as vm
from vision_models.trials.options import DEFAULT_PROMPT
from vision_models.trials.sweep import sweep_resolution

TRUTH_TEXT = "INVOICE 42\nTotal: 12.50 EUR"  # 27 characters
GARBLED = "1NV0ICE 4Z\nT0tal: 1Z.5O EUR"  # 6 substitutions: CER 6/27
ONE_OFF = "INVOICE 42\nTotal: 12.50 EUX"  # 1 substitution: CER 1/27 = 3.7%
SENT = {768: (768, 576), 1024: (1024, 768), 1536: (1536, 1152), 2048: (2000, 1500)}


def reader() -> dict:
    """ODD billed by pixels, reading by width."""
    prompt, completion = PRICES[ODD]
    return {ODD: ModelBill(prompt, completion, reply=GARBLED, pixels_per_token=750,
                           reply_by_width={1024: ONE_OFF, 1536: TRUTH_TEXT})}  # fmt: skip


def sweep(standin, paths, **options):
    truth = {p.name: TRUTH_TEXT for p in paths}
    options.setdefault("max_usd", 1.0)
    return sweep_resolution(paths, ODD, truth=truth, target={"max_cer": 0.02}, catalog=trial_catalog(),
                            base_url=standin.base_url, progress=False, **options)  # fmt: skip


def test_the_sweep_names_the_cheapest_size_meeting_the_target_and_a_second_sweep_pays_nothing(env):
    paths = make_pages(env / "pages", count=3, size=(2000, 1500))
    with serving(StandIn(reader())) as standin:
        first = sweep(standin, paths)
        billed = standin.billed_usd
        requests = len(standin.requests)
        second = sweep(standin, paths)
        assert len(standin.requests) == requests  # every row (and control) came from the store
        assert standin.billed_usd == billed
    table = first.table.set_index("max_side")
    # By hand: CER at 768 is 6/27, at 1024 1/27 (above 2%), at 1536 and 2048 zero; 1536 is cheaper than 2048.
    assert table["mean"].tolist() == pytest.approx([6 / 27, 1 / 27, 0.0, 0.0])
    assert table["meets_target"].tolist() == [False, False, True, True]
    assert first.best_max_side == 1536
    assert "max_side 1536" in first.sentence
    # Measured image tokens: the stand-in's ceil(w x h / 750) of each size actually sent.
    expected = [math.ceil(w * h / 750) for w, h in SENT.values()]
    assert table["measured_image_tokens"].tolist() == expected
    assert table["width_px_max"].tolist() == [w for w, _ in SENT.values()]
    # The bill per 1,000 pages: what the stand-in billed per page, by size.
    per_size = [r["cost"] for r in standin.ledger if r["images"]]
    assert sum(per_size) == pytest.approx(table["billed_usd"].sum())
    # By hand, as the stand-in bills: (prompt text tokens + image tokens) x prompt price + answer tokens x
    # completion price, the answer 27 characters (27 // 2 + 1 tokens) at every size.
    prompt, completion = PRICES[ODD]
    text_tokens = len(DEFAULT_PROMPT) // 4 + 7
    by_hand = [((text_tokens + tokens) * prompt + (27 // 2 + 1) * completion) * 1000 for tokens in expected]
    assert table["usd_per_1k_pages"].tolist() == pytest.approx(by_hand)
    assert table["spent_usd"].sum() == pytest.approx(billed)
    assert second.table["spent_usd"].sum() == 0.0
    assert second.best_max_side == 1536
    assert second.table["usd_per_1k_pages"].tolist() == pytest.approx(table["usd_per_1k_pages"].tolist())


def test_one_budget_holds_across_the_sweep(env):
    paths = make_pages(env / "pages", count=3, size=(2000, 1500))
    with serving(StandIn(reader())) as standin:
        found = sweep(standin, paths, max_usd=0.02, max_tokens=64)
        assert standin.billed_usd <= 0.02
        # What 768 and 1024 paid left too little for a page at 1536 (its worst case): nothing more was sent.
        assert {w for r in page_requests(standin) for w in [r["images"]]} == {1}
        assert len(page_requests(standin)) == 6
    table = found.table.set_index("max_side")
    assert table["spent_usd"].sum() == pytest.approx(standin.billed_usd)
    assert table["pages_ok"].tolist() == [3, 3, 0, 0]
    assert all(found.trials[s].results["status"].eq("skipped-budget").all() for s in (1536, 2048))
    # The estimate needs no answer: the sizes skipped still show their estimated image tokens and cost.
    assert table["estimated_image_tokens"].notna().all()
    assert table["estimated_usd_per_1k_pages"].is_monotonic_increasing
    assert found.best_max_side is None
    assert "max_side 1024" in found.sentence  # the closest: CER 3.7%


def test_the_budget_holds_over_every_call_of_a_sweep_run_again(env):
    paths = make_pages(env / "pages", count=3, size=(2000, 1500))
    with serving(StandIn(reader())) as standin:
        sweep(standin, paths, max_usd=0.02, max_tokens=64)
        first = standin.billed_usd
        sent = len(page_requests(standin))
        # The same sweep again: what the store holds already spent the budget; nothing more is sent.
        sweep(standin, paths, max_usd=0.02, max_tokens=64)
        assert len(page_requests(standin)) == sent and standin.billed_usd == first <= 0.02
        # A larger budget: the calls together stay within it (the rows already paid count against it).
        again = sweep(standin, paths, max_usd=0.03, max_tokens=64)
        assert standin.billed_usd <= 0.03
        assert again.table["spent_usd"].sum() == pytest.approx(standin.billed_usd - first)


def test_no_size_meeting_the_target_is_said(env):
    paths = make_pages(env / "pages", count=2, size=(2000, 1500))
    prompt, completion = PRICES[ODD]
    with serving(StandIn({ODD: ModelBill(prompt, completion, reply=GARBLED, pixels_per_token=750)})) as standin:
        found = sweep(standin, paths, max_sides=(768, 1024))
    assert found.best_max_side is None
    assert found.sentence.startswith(f"No size of {ODD} meets max_cer=0.02")
    assert "<script>" not in found._repr_html_()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"max_sides": ()}, "max_sides must be"),
        ({"max_sides": (768, 0)}, "bad max_side 0"),
        ({"target": {"max_wer": 0.1}}, "unknown target max_wer"),
        ({"target": {"max_cer": 2}}, "bad target max_cer=2"),
        ({"target": {"min_field_accuracy": 0.9}}, "needs a schema"),
        ({"max_side": 512}, "sets max_side itself"),
        ({"max_usd": -1}, "bad max_usd -1"),
    ],
)
def test_bad_input_is_one_clear_line(env, given, message):
    options = {"truth": {"page0.png": "x"}, "target": {"max_cer": 0.02}, **given}
    with pytest.raises((ValueError, TypeError), match=message):
        sweep_resolution([env / "page0.png"], ODD, **options)


def test_the_sweep_is_exported():
    assert vm.sweep_resolution is sweep_resolution
    assert vm.trials.sweep_resolution is sweep_resolution


def test_with_a_schema_the_target_is_field_accuracy(env):
    paths = make_pages(env / "pages", count=2, size=(2000, 1500))
    schema = {"type": "object", "properties": {"number": {"type": "string"}, "total": {"type": "number"}},
              "required": ["number", "total"]}  # fmt: skip
    prompt, completion = PRICES[ODD]
    bill = ModelBill(prompt, completion, reply='{"number": "4Z", "total": 12.0}', pixels_per_token=750,
                     reply_by_width={1024: '{"number": "4Z", "total": 12.5}', 1536: '{"number": "42", "total": 12.5}'})  # fmt: skip
    with serving(StandIn({ODD: bill})) as standin:
        found = sweep_resolution(paths, ODD, truth={p.name: {"number": "42", "total": 12.5} for p in paths},
                                 target={"min_field_accuracy": 0.9}, schema=schema, catalog=trial_catalog(),
                                 base_url=standin.base_url, progress=False, max_sides=(768, 1024, 1536))  # fmt: skip
    # By hand: no field right at 768, one of two at 1024, both from 1536.
    assert found.table["metric"].unique().tolist() == ["field_accuracy"]
    assert found.table["mean"].tolist() == pytest.approx([0.0, 0.5, 1.0])
    assert found.best_max_side == 1536


def test_the_html_escapes_remote_text():
    import pandas as pd

    from vision_models.trials.sweep import Sweep

    table = pd.DataFrame({"max_side": [768], "why": ["<img src=x onerror=alert(1)>"]})
    shown = Sweep("<b>model</b>", table, None, "No size of <b>model</b> meets max_cer=0.02", {})._repr_html_()
    assert "<b>" not in shown and "<img" not in shown
    assert "&lt;b&gt;model&lt;/b&gt;" in shown
