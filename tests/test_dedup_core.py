"""Dedup core without Scrapy: self-repeat collapse, LSH + exact verification, preference, persistence."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from pipelines.dedup.core import (
    DedupConfig,
    DocInfo,
    NearDupIndex,
    StateFormatError,
    collapse_repeats,
    exact_jaccard,
    preference_key,
    shingle_hashes,
)


def paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


# -- self-repeat collapse -------------------------------------------------------------------------


def test_body_printed_twice_is_collapsed_to_one_copy_in_order(sample_texts: list[str]) -> None:
    for text in sample_texts[1:3]:  # 001 and 002 print their whole body twice
        paras = paragraphs(text)
        kept, dropped = collapse_repeats(paras)
        assert dropped >= 6
        assert len(set(kept)) == len(kept), "no paragraph left twice"
        assert kept == paras[: len(kept)], "the first copy is kept, in order"


def test_pages_without_repeats_are_untouched(sample_texts: list[str]) -> None:
    for text in (sample_texts[0], sample_texts[3], sample_texts[4]):
        paras = paragraphs(text)
        kept, dropped = collapse_repeats(paras)
        assert (kept, dropped) == (paras, 0)


def test_recurring_short_lines_outside_a_repeated_run_are_kept() -> None:
    paras = [
        "Sam Altman a fait un retour spectaculaire en tant que PDG de l'entreprise.",
        "Source : X / Twitter",
        "Des négociations entre Sam Altman et le conseil ont abouti à un accord de principe.",
        "Source : X / Twitter",
    ]
    assert collapse_repeats(paras) == (paras, 0)


def test_near_exact_repeats_count() -> None:
    first = "Le refus d’OpenAI de se laisser racheter souligne l’importance stratégique de son indépendance."
    again = "Le refus d'OpenAI de se laisser racheter  souligne l'importance stratégique de  son autonomie !"
    other = "Microsoft, principal investisseur d’OpenAI, a récemment renforcé ses liens avec l’entreprise."
    kept, dropped = collapse_repeats([first, other, again])
    assert (kept, dropped) == ([first, other], 1)


def test_collapse_is_deterministic() -> None:
    paras = ["alpha beta gamma delta epsilon zeta eta", "x", "alpha beta gamma delta epsilon zeta eta", "x"]
    assert collapse_repeats(paras) == collapse_repeats(list(paras)) == (paras[:2], 2)


# -- near-duplicates ------------------------------------------------------------------------------


def edited_copy(text: str, rng: random.Random, word_edits: int) -> str:
    tokens = text.split()
    for _ in range(word_edits):
        tokens[rng.randrange(len(tokens))] = rng.choice(["toutefois", "ainsi", "selon", "nouveau"])
    return "Publié avec l'accord de notre partenaire. " + " ".join(tokens)


def make_index(**overrides: float) -> NearDupIndex:
    return NearDupIndex(DedupConfig(**overrides))  # type: ignore[arg-type]


def add(index: NearDupIndex, doc_id: str, text: str) -> None:
    shingles = shingle_hashes(text)
    index.add(DocInfo(doc_id, f"https://x.fr/{doc_id}", None, True), [doc_id], shingles, index.signature(shingles))


def find(index: NearDupIndex, text: str, keys: tuple[str, ...] = ("new",), content_id: str = "new-id"):  # noqa: ANN201
    shingles = shingle_hashes(text)
    return index.find(keys, content_id, shingles, index.signature(shingles))


def test_the_five_sample_articles_are_all_kept(sample_texts: list[str]) -> None:
    sets = [shingle_hashes(t) for t in sample_texts]
    assert max(exact_jaccard(a, b) for a, b in itertools.combinations(sets, 2)) < 0.02
    index = make_index()
    for number, text in enumerate(sample_texts):
        assert find(index, text, (f"k{number}",), f"id{number}") is None
        add(index, f"id{number}", text)
    assert len(index.docs) == 5


def test_syndicated_copy_above_threshold_is_found_and_verified(sample_texts: list[str]) -> None:
    index = make_index()
    add(index, "orig", sample_texts[3])
    copy = edited_copy(sample_texts[3], random.Random(1), 3)
    true_j = exact_jaccard(shingle_hashes(copy), shingle_hashes(sample_texts[3]))
    assert true_j >= 0.8
    match = find(index, copy)
    assert match is not None
    assert match.reason == "near_duplicate"
    assert match.kept.id == "orig"
    assert match.similarity == pytest.approx(true_j, abs=1e-3)  # exact Jaccard, not an estimate


def test_copy_below_threshold_is_not_a_duplicate(sample_texts: list[str]) -> None:
    index = make_index()
    add(index, "orig", sample_texts[4])
    rng = random.Random(7)
    copy = edited_copy(sample_texts[4], rng, 40)
    assert exact_jaccard(shingle_hashes(copy), shingle_hashes(sample_texts[4])) < 0.8
    assert find(index, copy) is None


def test_threshold_is_a_setting_and_banding_follows_it(sample_texts: list[str]) -> None:
    copy = edited_copy(sample_texts[4], random.Random(7), 40)
    true_j = exact_jaccard(shingle_hashes(copy), shingle_hashes(sample_texts[4]))
    loose = make_index(threshold=round(true_j - 0.05, 2))
    assert loose.config.rows < DedupConfig().rows  # a lower threshold needs shorter bands
    add(loose, "orig", sample_texts[4])
    assert find(loose, copy) is not None


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
def test_auto_banding_finds_pairs_at_the_threshold_with_probability_995(threshold: float) -> None:
    config = DedupConfig(threshold=threshold)
    assert config.bands * config.rows <= config.num_perm
    assert config.candidate_probability(threshold) >= 0.995
    assert config.candidate_probability(0.3) < config.candidate_probability(threshold)


def test_url_key_then_exact_content_come_before_lsh(sample_texts: list[str]) -> None:
    index = make_index()
    add(index, "orig", sample_texts[0])
    by_url = find(index, "unrelated text entirely", keys=("orig",))
    assert by_url is not None and by_url.reason == "same_url"
    by_id = find(index, "unrelated text entirely", content_id="orig")
    assert by_id is not None and by_id.reason == "exact"


def test_superseded_doc_resolves_to_its_replacement(sample_texts: list[str]) -> None:
    index = make_index()
    add(index, "first", sample_texts[2])
    replacement = DocInfo("better", "https://x.fr/better", "2025-01-01", True)
    index.supersede("first", replacement)
    shingles = shingle_hashes(sample_texts[2])
    index.add(replacement, ["better"], shingles, index.signature(shingles))
    match = find(index, sample_texts[2], keys=("first",))
    assert match is not None and match.kept.id == "better"


def test_preference_is_earliest_then_own_canonical_then_url() -> None:
    ranked = sorted(
        [
            ("2025-02-12", True, "https://a.fr/x"),
            ("2025-02-11", False, "https://amp.b.fr/x/amp"),
            ("2025-02-11", True, "https://b.fr/long-url"),
            ("2025-02-11", True, "https://b.fr/x"),
            (None, True, "https://c.fr/x"),
        ],
        key=lambda row: preference_key(*row),
    )
    assert [url for _, _, url in ranked] == [
        "https://b.fr/x",
        "https://b.fr/long-url",
        "https://amp.b.fr/x/amp",
        "https://a.fr/x",
        "https://c.fr/x",
    ]


# -- persistence ----------------------------------------------------------------------------------


def test_state_round_trips_and_keeps_finding_copies(sample_texts: list[str]) -> None:
    index = make_index()
    for number, text in enumerate(sample_texts):
        add(index, f"id{number}", text)
    restored = NearDupIndex.from_bytes(index.to_bytes(), DedupConfig())
    assert restored.docs == index.docs
    assert all(np.array_equal(restored.shingles[k], index.shingles[k]) for k in index.shingles)
    match = find(restored, edited_copy(sample_texts[1], random.Random(3), 2))
    assert match is not None and match.kept.id == "id1"


def test_state_of_another_format_or_config_is_refused(sample_texts: list[str]) -> None:
    index = make_index()
    add(index, "a", sample_texts[0])
    with pytest.raises(StateFormatError, match="built with"):
        NearDupIndex.from_bytes(index.to_bytes(), DedupConfig(num_perm=64, bands=16))
    with pytest.raises(StateFormatError, match="unreadable"):
        NearDupIndex.from_bytes(b"not a state file", DedupConfig())


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="DEDUP_THRESHOLD"):
        DedupConfig(threshold=1.5)
    with pytest.raises(ValueError, match="DEDUP_BANDS"):
        DedupConfig(bands=500)
