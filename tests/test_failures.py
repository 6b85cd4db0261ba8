"""Failure kinds of an answer: truncated, looped, empty, refused, not JSON; and the repetition measure."""

from __future__ import annotations

import pytest

from vision_models.trials.failures import classify, is_refusal, repetition_share
from vision_models.trials.pages import SAMPLE_DIR


def test_repetition_share_counts_the_words_a_repeated_four_gram_covers():
    # 12 words: "a b c d" three times -> every word is in a 4-gram seen 3 times: share 1.
    assert repetition_share("a b c d a b c d a b c d") == 1.0
    # 6 fresh words then that loop: 12 of 18 words covered.
    assert repetition_share("one two three four five six a b c d a b c d a b c d") == pytest.approx(12 / 18)
    # Seen only twice: not a loop.
    assert repetition_share("a b c d a b c d x y z w v u") == 0.0
    # Fewer than 4 x 3 words: 0 by definition.
    assert repetition_share("a a a a a") == 0.0


def test_a_run_of_one_character_without_spaces_is_a_loop_too():
    # 400 characters = 20 pieces of 20 identical characters: every piece is in a repeated 4-gram.
    assert repetition_share("." * 400) == 1.0


@pytest.mark.parametrize("name", ["invoice", "delivery-note", "letter", "table"])
def test_real_pages_do_not_look_looped(name):
    text = (SAMPLE_DIR / f"{name}.txt").read_text(encoding="utf-8")
    assert repetition_share(text) < 0.1
    assert classify(text, "stop").ok


def test_each_failure_kind_on_a_crafted_answer():
    loop = "Total: 12.50 EUR " * 50
    truncated_loop = classify(loop, "length")
    assert truncated_loop.truncated and truncated_loop.looped and not truncated_loop.ok
    assert truncated_loop.kinds == ("truncated", "looped")
    assert classify("", "stop").kinds == ("empty",)
    assert classify("   \n", "stop").empty
    assert classify(None, "content_filter", error="content filter: the provider withheld the answer").kinds == (
        "refused",
    )
    assert classify("I'm sorry, but I can't help with transcribing this document.", "stop").kinds == ("refused",)
    assert classify("INVOICE 42", "stop", json_valid=False).kinds == ("invalid_json",)
    assert classify(None, None, error="402: Insufficient credits").kinds == ("error",)
    assert classify("INVOICE 42\nTotal 12.50", "stop").ok


def test_a_long_transcript_that_mentions_sorry_is_not_a_refusal():
    letter = "We are sorry to hear the roof leaks. " + "The trusses are sound and the slates are new. " * 12
    assert not is_refusal(letter)
    assert is_refusal("I cannot assist with that request.")
