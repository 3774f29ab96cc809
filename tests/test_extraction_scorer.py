"""The benchmark scorer (bench/scoring.py) on hand-made cases whose figures can be worked out by hand."""

from __future__ import annotations

import pytest

from bench.scoring import Match, match, score

# 20 distinct tokens: 17 word 4-grams.
TRUTH = " ".join(f"w{i}" for i in range(20))


def test_a_perfect_extraction_scores_one() -> None:
    page = match(TRUTH, TRUTH)
    assert (page.precision, page.recall) == (1.0, 1.0)
    assert score([page, page]).f1 == 1.0


def test_layout_and_punctuation_do_not_count_but_case_does() -> None:
    assert match("One two, three four.", "One\ntwo three -- four") == match("One two three four", "One two three four")
    assert match("One two three four", "one two three four").recall == 0.0


def test_an_empty_extraction_has_no_recall_and_no_say_in_precision() -> None:
    empty = match(TRUTH, "")
    assert empty == Match(0.0, 0.0, 1.0)
    assert empty.recall == 0.0
    # As in the reference evaluate.py: precision is averaged over the pages where something was extracted.
    scores = score([match(TRUTH, TRUTH), empty])
    assert scores.precision == 1.0
    assert scores.recall == 0.5
    assert scores.f1 == pytest.approx(2 * 1.0 * 0.5 / 1.5)


def test_half_the_body_gives_full_precision_and_partial_recall() -> None:
    half = " ".join(f"w{i}" for i in range(10))  # 7 of the 17 4-grams, nothing extra
    page = match(TRUTH, half)
    assert page.precision == 1.0
    assert page.recall == pytest.approx(7 / 17)
    assert page.tp + page.fp + page.fn == pytest.approx(1.0)


def test_boilerplate_around_the_body_costs_precision_only() -> None:
    noisy = " ".join(f"ad{i}" for i in range(10)) + " " + TRUTH  # 30 tokens: 27 4-grams, 17 of them right
    page = match(TRUTH, noisy)
    assert page.recall == 1.0
    assert page.precision == pytest.approx(17 / 27)


def test_repeated_text_is_counted_as_a_multiset() -> None:
    twice = match("a b c d", "a b c d a b c d")  # 5 4-grams extracted, one of them is right
    assert twice.precision == pytest.approx(1 / 5)
    assert twice.recall == 1.0


def test_texts_shorter_than_a_shingle_still_compare() -> None:
    assert match("Hello world", "Hello world").recall == 1.0
    assert match("Hello world", "Goodbye").precision == 0.0


def test_precision_and_recall_are_averaged_per_page_and_f1_comes_from_the_averages() -> None:
    perfect, half = match(TRUTH, TRUTH), match(TRUTH, " ".join(f"w{i}" for i in range(10)))
    scores = score([perfect, half])
    assert scores.precision == 1.0
    assert scores.recall == pytest.approx((1 + 7 / 17) / 2)
    assert scores.f1 == pytest.approx(2 * scores.precision * scores.recall / (scores.precision + scores.recall))


def test_bootstrap_spread_is_zero_for_identical_pages_and_reproducible_otherwise() -> None:
    assert score([match(TRUTH, TRUTH)] * 5).f1_ci == 0.0
    mixed = [match(TRUTH, TRUTH), match(TRUTH, ""), match(TRUTH, " ".join(f"w{i}" for i in range(10)))] * 3
    first, again = score(mixed, n_bootstrap=200, seed=1), score(mixed, n_bootstrap=200, seed=1)
    assert first == again
    assert first.recall_ci > 0
