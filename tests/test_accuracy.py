"""CER and WER on cases computed by hand (edit counts worked out in the comments)."""

from __future__ import annotations

import pytest

from vision_models.trials.accuracy import cer, normalise_text, wer


def test_kitten_sitting_is_three_edits_over_six_characters():
    # k->s, e->i, insert g: 3 edits; the truth "kitten" has 6 characters.
    assert cer("kitten", "sitting") == pytest.approx(3 / 6)


def test_identical_texts_score_zero():
    assert cer("Invoice BWI-2026-0418", "Invoice BWI-2026-0418") == 0.0
    assert wer("Invoice BWI-2026-0418", "Invoice BWI-2026-0418") == 0.0


def test_layout_whitespace_is_not_an_error():
    truth = "Total due\n\n   910.20\t GBP"
    read = "Total due 910.20 GBP"
    assert cer(truth, read) == 0.0
    assert wer(truth, read) == 0.0


def test_whitespace_inside_a_word_still_counts():
    # "910.20" read as "910. 20": one inserted space; truth has 6 characters.
    assert cer("910.20", "910. 20") == pytest.approx(1 / 6)


def test_composed_and_decomposed_accents_are_the_same_text():
    composed = "caf\u00e9 cr\u00e8me"  # e-acute and e-grave as single code points
    decomposed = "cafe\u0301 cre\u0300me"  # letter + combining mark
    assert composed != decomposed
    assert cer(composed, decomposed) == 0.0
    assert wer(composed, decomposed) == 0.0


def test_case_counts_unless_folded():
    # "Hello" vs "hello": one substitution over 5 characters.
    assert cer("Hello", "hello") == pytest.approx(1 / 5)
    assert cer("Hello", "hello", casefold=True) == 0.0
    # Full case folding: German sharp s folds to "ss".
    assert cer("STRASSE", "stra\u00dfe", casefold=True) == 0.0
    assert wer("The Quick Fox", "the quick fox", casefold=True) == 0.0
    assert wer("The Quick fox", "the quick fox") == pytest.approx(2 / 3)  # two words differ in case


def test_empty_truth_is_zero_for_empty_text_and_one_otherwise():
    assert cer("", "") == 0.0
    assert cer(" \n\t", "") == 0.0  # whitespace only normalises to empty
    assert cer("", "anything") == 1.0
    assert wer("", "") == 0.0
    assert wer("", "two words") == 1.0


def test_empty_text_against_a_truth_deletes_everything():
    assert cer("abcd", "") == 1.0
    assert wer("one two three", "") == 1.0


def test_insertions_can_take_cer_above_one():
    # "ab" -> "abcdef": 4 insertions over 2 characters.
    assert cer("ab", "abcdef") == pytest.approx(2.0)


def test_wer_counts_words_not_characters():
    # the cat sat on the mat -> the cat sit on mat: sat->sit (substitution), "the" deleted: 2 / 6 words.
    assert wer("the cat sat on the mat", "the cat sit on mat") == pytest.approx(2 / 6)
    # one wrong letter in one of two words: half the words, 1/7 of the characters.
    assert wer("abc def", "abd def") == pytest.approx(1 / 2)
    assert cer("abc def", "abd def") == pytest.approx(1 / 7)


def test_wer_splits_on_any_whitespace():
    assert wer("Port Elwin\nto Gull\u00a0Island", "Port Elwin to Gull Island") == 0.0


def test_normalise_text_is_documented_behaviour():
    assert normalise_text("  a\t\tb \u00a0 c\n") == "a b c"
    assert normalise_text("Cafe\u0301") == "Caf\u00e9"
    assert normalise_text("Stra\u00dfe", casefold=True) == "strasse"
    assert normalise_text("") == ""


@pytest.mark.parametrize("bad", [None, 3, b"bytes"])
def test_a_truth_or_text_that_is_not_a_string_is_refused(bad):
    with pytest.raises(ValueError, match="truth must be a str"):
        cer(bad, "x")
    with pytest.raises(ValueError, match="text must be a str"):
        wer("x", bad)
