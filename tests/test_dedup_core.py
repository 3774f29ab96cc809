"""Dedup core without Scrapy: self-repeat collapse, LSH + exact verification, preference, persistence."""

from __future__ import annotations

import difflib
import io
import itertools
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH

from pipelines.dedup import lsh as lsh_module, repeats, shingles as shingling
from pipelines.dedup.index import (
    STATE_FORMAT,
    DedupConfig,
    DocInfo,
    NearDupIndex,
    Page,
    StateFormatError,
    preference_key,
    preferred,
    relation,
)
from pipelines.dedup.lsh import CompactMinHashLSH
from pipelines.dedup.repeats import collapse_repeats
from pipelines.dedup.shingles import exact_jaccard, shingle_hashes
from model.text import content_id as text_id, words

ROOT = Path(__file__).resolve().parent.parent


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


def difflib_collapse(paras: list[str], similarity: float, min_words: int = 6) -> tuple[list[str], int]:
    """collapse_repeats as documented, by brute force: difflib on every pair, no pre-filter."""
    tokens = [words(p) for p in paras]
    repeat, seen, kept_long = [False] * len(paras), set(), []
    for i, toks in enumerate(tokens):
        if len(toks) >= min_words:
            if " ".join(toks) in seen or any(
                min(len(toks), len(k)) >= similarity * max(len(toks), len(k))
                and difflib.SequenceMatcher(None, toks, k, autojunk=False).ratio() >= similarity
                for k in kept_long
            ):
                repeat[i] = True
                continue
            kept_long.append(toks)
        seen.add(" ".join(toks))
    short_seen: set[str] = set()
    for i, toks in enumerate(tokens):
        if len(toks) < min_words:
            beside = (i > 0 and repeat[i - 1]) or (i + 1 < len(tokens) and repeat[i + 1])
            repeat[i] = " ".join(toks) in short_seen and beside
            short_seen.add(" ".join(toks))
    return [p for p, r in zip(paras, repeat, strict=True) if not r], sum(repeat)


def test_pre_filters_never_change_which_paragraphs_are_repeats(sample_texts: list[str]) -> None:
    rng = random.Random(11)
    fillers = ["le", "la", "de", "OpenAI", "Altman", "conseil", "et"]
    for text in sample_texts:
        paras = paragraphs(text)
        for _ in range(2):
            page = list(paras)
            for para in rng.sample(paras, min(6, len(paras))):  # near-repeats: words changed, added or dropped
                tokens = para.split()
                for _ in range(rng.randrange(4)):
                    position = rng.randrange(len(tokens) + 1)
                    edit = rng.choice(("change", "add", "drop"))
                    if edit == "add" or position == len(tokens):
                        tokens.insert(position, rng.choice(fillers))
                    elif edit == "change":
                        tokens[position] = rng.choice(fillers)
                    elif len(tokens) > 1:
                        del tokens[position]
                page.insert(rng.randrange(len(page) + 1), " ".join(tokens))
            for similarity in (0.6, 0.9, 0.97):
                assert collapse_repeats(page, similarity) == difflib_collapse(page, similarity)


def test_candidate_pairs_hold_every_pair_difflib_accepts() -> None:
    """The pre-filters only ever rule out pairs `_similar` rejects: brute force over every pair of long paragraphs."""
    rng = random.Random(8)
    vocabulary = [f"mot{n}" for n in range(30)] + ["le", "la", "de", "et"] * 5
    for _ in range(60):
        base = [" ".join(rng.choices(vocabulary, k=rng.randrange(3, 30))) for _ in range(rng.randrange(2, 30))]
        page = list(base)
        for para in rng.sample(base, min(5, len(base))):  # near-repeats: a word or two changed, added or dropped
            tokens = para.split()
            for _ in range(rng.randrange(3)):
                tokens.insert(rng.randrange(len(tokens) + 1), rng.choice(vocabulary))
                del tokens[rng.randrange(len(tokens))]
            page.insert(rng.randrange(len(page) + 1), " ".join(tokens))
        for similarity in (0.6, 0.8, 0.9):
            pairs = repeats._candidate_pairs(page, similarity, 6)
            parsed = [repeats._Paragraph(words(p)) for p in page]
            for earlier, later in itertools.combinations(range(len(page)), 2):
                a, b = parsed[earlier], parsed[later]
                if min(len(a.words), len(b.words)) >= 6 and repeats._similar(a, b, similarity):
                    assert earlier in pairs.get(later, []), (similarity, page[earlier], page[later])


def test_pages_with_newlines_inside_paragraphs_and_many_equal_lengths_collapse_as_documented() -> None:
    rng = random.Random(4)
    vocabulary = [f"mot{n}" for n in range(40)]
    for _ in range(30):
        base = [" ".join(rng.choices(vocabulary, k=rng.randrange(1, 14))) for _ in range(rng.randrange(2, 25))]
        page = list(base)
        for para in rng.sample(base, min(4, len(base))):
            tokens = para.split()
            tokens[rng.randrange(len(tokens))] = rng.choice(vocabulary)
            page.insert(rng.randrange(len(page) + 1), " ".join(tokens))
        page = [p.replace(" ", "\n", 1) if rng.random() < 0.2 else p for p in page]  # a newline inside
        for similarity in (0.6, 0.9):
            assert collapse_repeats(page, similarity) == difflib_collapse(page, similarity)


# -- shingling -----------------------------------------------------------------------------------

TRICKY = (
    "L’État, c’est moi ! « Déjà-vu » — ﬁnancement: Straße STRASSE straße\u00a0e\u0301te ＡＢＣ１２３ "
    "snake_case __init__ x² ½ ٣٤ 中文字符 𝐁𝐨𝐥𝐝 😀emoji😀 \U00020000x tab\there\nnew line \ud800lone "
    "i\u0307stanbul ǅungla ΣΊΣΥΦΟΣ ﬀ ‐hyphen‑ _ __"
)


MOD64 = 1 << 64


def reference_fmix64(value: int) -> int:
    for multiplier in (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53):
        value = ((value ^ (value >> 33)) * multiplier) % MOD64
    return value ^ (value >> 33)


def reference_word_hashes(text: str) -> tuple[list[int], list[int]]:
    """The definition, in plain Python: each word's fmix64(Σ code point·base^-k mod 2^64), and for each newline
    the number of words before it."""
    inverse = pow(int(shingling.CHAR_BASE), -1, MOD64)
    hashes = [reference_fmix64(sum(ord(c) * pow(inverse, k, MOD64) for k, c in enumerate(w)) % MOD64) for w in words(text)]
    words_per_line = [len(words(line)) for line in text.split("\n")]  # a newline always ends a word
    return hashes, list(itertools.accumulate(words_per_line))[:-1]


def test_word_hashes_are_the_hashes_of_pipelines_text_words(sample_texts: list[str]) -> None:
    for text in [*sample_texts, TRICKY, "", "   ", "...", "one", "_", "\n\nlast", "first\n"]:
        found, line_breaks = shingling.analysis(text)
        assert (found.tolist(), line_breaks.tolist()) == reference_word_hashes(text)


def test_word_characters_match_the_regex_on_random_code_points_of_every_plane() -> None:
    rng = random.Random(5)
    points = [rng.randrange(0x110000) for _ in range(20_000)] + list(range(0x2000))
    rng.shuffle(points)
    separators = [" ", "", "", ",", "\n"]
    text = "".join(chr(p) + rng.choice(separators) for p in points)
    assert shingling.analysis(text)[0].tolist() == reference_word_hashes(text)[0]


def test_kernels_compile_in_memory_where_nothing_can_be_cached() -> None:
    """A read-only install run by a user without a home: numba finds no place for its cache (here: only a
    locator that never applies), and the kernels still compile and give the same hashes."""
    env = {**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "IPythonCacheLocator"}
    text = "The quick brown fox jumps over the lazy dog"
    code = f"from pipelines.dedup.shingles import shingle_hashes; print(shingle_hashes({text!r}).tolist())"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == shingle_hashes(text).tolist()


def test_shingles_depend_only_on_the_words(sample_texts: list[str]) -> None:
    for text in [*sample_texts, TRICKY]:
        assert np.array_equal(shingle_hashes(text), shingle_hashes(" ".join(words(text))))
    same = ("Hello, WORLD! It's “fine” – really.", "hello world it s fine really")
    assert np.array_equal(shingle_hashes(same[0]), shingle_hashes(same[1]))


def test_shingles_are_the_distinct_word_5_grams() -> None:
    text = "a b c d e f a b c d e f g"  # grams: abcde bcdef cdefa defab efabc fabcd abcde(again) bcdef(again) cdefg
    assert shingle_hashes(text).size == 7
    assert np.isin(shingle_hashes("a b c d e f"), shingle_hashes(text)).all()
    assert not np.array_equal(shingle_hashes("a b c d e"), shingle_hashes("e d c b a"))  # order matters
    assert not np.array_equal(shingle_hashes("ab c d e f"), shingle_hashes("a bc d e f"))  # so do word boundaries
    assert shingle_hashes("three short words").size == 1 and shingle_hashes("").size == 1


def test_shingles_are_sorted_unique_uint32_and_do_not_depend_on_position(sample_texts: list[str]) -> None:
    text = sample_texts[3]
    hashes = shingle_hashes(text)
    assert hashes.dtype == np.uint32 and np.all(hashes[1:] > hashes[:-1])
    long_text = " ".join(f"filler{i}" for i in range(12_000)) + " " + text  # > the cached power tables
    assert np.isin(hashes, shingle_hashes(long_text)).all()


def test_shingle_hashes_are_stable_across_versions() -> None:
    # Shingle sets are persisted in the dedup state: changing these values requires a STATE_FORMAT bump.
    assert STATE_FORMAT == "newsdedup-dedup-state/2"
    assert shingle_hashes("The quick brown fox jumps over the lazy dog").tolist() == [
        95415998, 281448638, 665164902, 2534083940, 2620910049,
    ]  # fmt: skip


def test_exact_jaccard_is_set_jaccard() -> None:
    rng = np.random.default_rng(3)
    for size_a, size_b in [(0, 0), (0, 5), (1, 1), (50, 400), (700, 650)]:
        a = np.unique(rng.integers(0, 1000, size_a).astype(np.uint32))
        b = np.unique(rng.integers(0, 1000, size_b).astype(np.uint32))
        union = set(a.tolist()) | set(b.tolist())
        expected = len(set(a.tolist()) & set(b.tolist())) / len(union) if union else 1.0
        assert exact_jaccard(a, b) == pytest.approx(expected) == exact_jaccard(b, a)


# -- signatures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 3)])
def test_signature_is_exactly_datasketch_update_batch(sample_texts: list[str], num_perm: int, seed: int) -> None:
    index = NearDupIndex(DedupConfig(num_perm=num_perm, seed=seed, bands=num_perm // 8))
    rng = np.random.default_rng(seed)
    inputs = [shingle_hashes(t) for t in sample_texts] + [
        np.unique(rng.integers(0, 2**32, size, dtype=np.uint64).astype(np.uint32)) for size in (0, 1, 2, 9000, 20_000)
    ]
    inputs.append(np.array([0, 1, 2**32 - 1], dtype=np.uint32))
    for shingles in inputs:
        reference = MinHash(num_perm=num_perm, seed=seed, hashfunc=int, scheme="affine32")
        reference.update_batch(shingles.tolist())
        assert np.array_equal(index.signature(shingles), reference.hashvalues)


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


def test_a_text_superseded_then_preferred_again_resolves_without_a_cycle(sample_texts: list[str]) -> None:
    """An AMP copy kept, an aggregator preferred to it, then the publisher's page (the AMP copy's text) preferred."""
    index = make_index()
    add(index, "amp", sample_texts[2])
    shingles = shingle_hashes(sample_texts[2])
    for old, new in (("amp", "aggregator"), ("aggregator", "amp")):
        replacement = DocInfo(new, f"https://x.fr/{new}", "2025-01-01", True)
        index.supersede(old, replacement)
        index.add(replacement, [new], shingles, index.signature(shingles))
    match = find(index, sample_texts[2], keys=("aggregator",))
    assert match is not None and match.kept.id == "amp"


def test_preference_between_outlets_is_earliest_trusted_date_then_own_canonical_then_url() -> None:
    def doc(published: str | None, source: str | None, url: str, canonical: str | None = None) -> DocInfo:
        return DocInfo.of(url, url, canonical or url, published, source)

    ranked = sorted(
        [
            doc("2025-02-12T08:00:00+01:00", "jsonld", "https://a.fr/x"),
            doc("2025-02-11", "meta", "https://b.fr/long-url"),
            doc("2025-02-11", "feed", "https://b.fr/x"),
            doc("2025-02-10T23:00:00-05:00", "sitemap", "https://d.fr/x", canonical="https://e.fr/x"),
            doc("2025-02-01", "text", "https://t.fr/x"),  # a guess from the text never beats a dated copy
            doc("2025-02-01", "url", "https://u.fr/x"),
            doc(None, None, "https://c.fr/x"),
        ],
        key=lambda d: preference_key(d, same_article=False),
    )
    assert [d.url for d in ranked] == [
        "https://d.fr/x",  # 2025-02-11T04:00Z, though not its own canonical
        "https://b.fr/x",  # 2025-02-11: a day alone ranks after the times of that day
        "https://b.fr/long-url",
        "https://a.fr/x",
        "https://c.fr/x",
        "https://t.fr/x",
        "https://u.fr/x",
    ]


def test_preference_among_pages_of_one_article_is_the_publishers_page_whatever_the_dates() -> None:
    publisher = DocInfo.of("p", "https://news.fr/2025/story", "https://news.fr/2025/story", "2025-02-12", "jsonld")
    amp = DocInfo.of("a", "https://news.fr/2025/story/amp", "https://news.fr/2025/story", "2025-02-10", "jsonld")
    assert publisher.self_canonical and not amp.self_canonical  # one URL key, but the AMP copy points elsewhere
    assert preferred(publisher, amp, same_article=True) and not preferred(amp, publisher, same_article=True)
    assert preferred(amp, publisher, same_article=False)  # between outlets, the earlier trusted date


def test_a_copy_dated_long_before_another_copy_is_not_believed() -> None:
    publisher = DocInfo.of("p", "https://news.fr/story", "https://news.fr/story", "2025-02-12T08:00:00+01:00", "meta")
    spoofed = DocInfo.of("s", "https://agg.example/story", "https://agg.example/story", "2001-01-01", "jsonld")
    assert preferred(publisher, spoofed, same_article=False) and not preferred(spoofed, publisher, same_article=False)
    earlier = DocInfo.of("e", "https://wire.example/story", "https://wire.example/story", "2025-02-01", "jsonld")
    assert preferred(earlier, publisher, same_article=False)  # within the spread of one story's copies


def test_relation_says_how_two_pages_themselves_relate(sample_texts: list[str]) -> None:
    text, edited = sample_texts[1], edited_copy(sample_texts[1], random.Random(5), 3)

    def page(url: str, body: str, *keys: str) -> Page:
        return Page(url, frozenset([url, *keys]), text_id(body), shingle_hashes(body))

    publisher = page("news.fr/story", text)
    assert relation(page("news.fr/story/amp", text, "news.fr/story"), publisher) == ("same_url", 1.0)
    assert relation(page("mirror.fr/copy", text), publisher) == ("exact", 1.0)
    reason, similarity = relation(page("agg.fr/copy", edited), publisher)
    assert reason == "near_duplicate"
    assert similarity == round(exact_jaccard(shingle_hashes(edited), publisher.shingles), 4) and 0 < similarity < 1
    assert relation(page("other.fr/story", sample_texts[2]), publisher)[1] < 0.1, "unrelated text: a low similarity"


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


def test_state_of_another_format_or_shingle_size_is_refused(sample_texts: list[str]) -> None:
    index = make_index()
    add(index, "a", sample_texts[0])
    older = io.BytesIO()
    header = {"format": "newsdedup-dedup-state/1", "config": DedupConfig().__dict__}
    np.savez_compressed(older, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    with pytest.raises(StateFormatError, match=re.escape("format 'newsdedup-dedup-state/1'")):
        NearDupIndex.from_bytes(older.getvalue(), DedupConfig())
    with pytest.raises(StateFormatError, match="built with 5-word shingles, DEDUP_SHINGLE_SIZE says 4"):
        NearDupIndex.from_bytes(index.to_bytes(), DedupConfig(shingle_size=4))
    with pytest.raises(StateFormatError, match="unreadable"):
        NearDupIndex.from_bytes(b"not a state file", DedupConfig())


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="DEDUP_THRESHOLD"):
        DedupConfig(threshold=1.5)
    with pytest.raises(ValueError, match="DEDUP_BANDS"):
        DedupConfig(bands=500)


def test_removed_articles_are_forgotten_with_their_keys(sample_texts: list[str]) -> None:
    index = make_index()
    add(index, "lost", sample_texts[0])
    add(index, "kept", sample_texts[1])
    replacement = DocInfo("better", "https://x.fr/better", "2025-01-01", True)
    index.supersede("lost", replacement)
    shingles = shingle_hashes(sample_texts[0])
    index.add(replacement, ["better"], shingles, index.signature(shingles))
    index.remove("better")
    assert find(index, sample_texts[0], keys=("lost", "better")) is None
    assert find(index, sample_texts[1], keys=("x",)) is not None
    assert "lost" not in index.aliases


def test_find_or_add_adds_only_new_articles(sample_texts: list[str]) -> None:
    index = make_index()
    shingles = shingle_hashes(sample_texts[2])
    doc = DocInfo("a", "https://x.fr/a", None, True)
    assert index.find_or_add(doc, ["a"], shingles, index.signature(shingles)) is None
    again = index.find_or_add(DocInfo("b", "https://y.fr/b", None, True), ["b"], shingles, index.signature(shingles))
    assert again is not None and again.kept.id == "a" and "b" not in index.docs


def test_indexed_runs_are_part_of_the_state(sample_texts: list[str]) -> None:
    index = make_index()
    index.runs.add("demo/2026-11-23/20261123T000000Z-abc123")
    assert NearDupIndex.from_bytes(index.to_bytes(), DedupConfig()).runs == index.runs


# -- compact LSH storage ----------------------------------------------------------------------------


def related_signatures(count: int, seed: int, num_perm: int = DedupConfig().num_perm) -> list[np.ndarray]:
    """Random signatures, many sharing some bands with an earlier one (as copies do)."""
    rng = np.random.default_rng(seed)
    signatures: list[np.ndarray] = []
    for _ in range(count):
        signature = rng.integers(0, 2**32, num_perm, dtype=np.uint64).astype(np.uint32)
        if signatures and rng.random() < 0.5:
            other = signatures[rng.integers(len(signatures))]
            shared = rng.random(num_perm) < rng.random()
            signature[shared] = other[shared]
        signatures.append(signature)
    return signatures


def minhash(signature: np.ndarray) -> LeanMinHash:
    return LeanMinHash(seed=1, hashvalues=signature, scheme="affine32")


def test_compact_storage_answers_as_datasketchs_dict_storage() -> None:
    config = DedupConfig()
    compact = CompactMinHashLSH(config.num_perm, config.bands, config.rows)
    reference = MinHashLSH(num_perm=config.num_perm, params=(config.bands, config.rows))
    signatures = related_signatures(1_500, seed=2)  # several merges of the buffered insertions
    for number, signature in enumerate(signatures):
        key = f"doc{number}"
        assert sorted(compact.candidates(compact.bucket_keys(signature))) == sorted(reference.query(minhash(signature)))
        if number % 3:  # datasketch's own insert, and the precomputed-hashes path
            compact.insert(key, minhash(signature))
        else:
            compact.insert_keys(key, compact.bucket_keys(signature))
        reference.insert(key, minhash(signature))
    for number in range(0, 1_500, 7):
        compact.remove(f"doc{number}")
        reference.remove(f"doc{number}")
    for signature in signatures[::5]:
        expected = sorted(reference.query(minhash(signature)))
        assert sorted(compact.query(minhash(signature))) == expected
        assert sorted(compact.candidates(compact.bucket_keys(signature))) == expected
    assert ("doc7" in compact, "doc8" in compact) == (False, True)
    assert len(compact.keys) == len(reference.keys) and not compact.is_empty()
    assert [sorted(c.values()) for c in compact.get_counts()] == [sorted(c.values()) for c in reference.get_counts()]


def test_bucket_keys_are_datasketchs_band_hashes_mixed_with_the_band_computed_at_once() -> None:
    lsh = CompactMinHashLSH(128, 21, 6)
    for signature in related_signatures(50, seed=5, num_perm=128):
        keys = lsh.bucket_keys(signature)
        values = minhash(signature).hashvalues
        expected = [lsh.bucket_key(lsh._H(values[start:end]), band) for band, (start, end) in enumerate(lsh.hashranges)]
        assert keys.tolist() == expected
    same_rows = np.tile(np.arange(6, dtype=np.uint32), 21)
    assert len(set(lsh.bucket_keys(same_rows).tolist())) == 21, "equal rows in two bands are two buckets"


def test_buffered_and_merged_entries_are_found_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lsh_module, "_MIN_PENDING", 8)
    lsh = CompactMinHashLSH(16, 4, 4)
    signatures = related_signatures(40, seed=7)
    for number, signature in enumerate(signatures):
        lsh.insert_keys(f"d{number}", lsh.bucket_keys(signature[:16]))
    assert lsh.buckets.keys.size > 0 and len(lsh.buckets) == 40 * 4  # some merged, some still buffered
    assert all(f"d{n}" in lsh.candidates(lsh.bucket_keys(s[:16])) for n, s in enumerate(signatures))
    lsh.remove("d3")
    assert "d3" not in lsh.candidates(lsh.bucket_keys(signatures[3][:16])) and len(lsh.buckets) == 39 * 4
    later = related_signatures(30, seed=8)
    for number, signature in enumerate(later, 40):  # merged into arrays with a tombstone, then grown
        lsh.insert_keys(f"d{number}", lsh.bucket_keys(signature[:16]))
    lsh.buckets.band_counts(0)  # merges what is still buffered
    assert len(lsh.buckets) == 69 * 4 and np.all(lsh.buckets.keys[1:] >= lsh.buckets.keys[:-1])
    everyone = [(n, s) for n, s in enumerate(signatures) if n != 3] + list(enumerate(later, 40))
    assert all(f"d{n}" in lsh.candidates(lsh.bucket_keys(s[:16])) for n, s in everyone)
    with pytest.raises(ValueError, match="already"):
        lsh.insert_keys("d4", lsh.bucket_keys(signatures[4][:16]))


def test_index_finds_a_copy_added_before_and_after_its_state_is_reloaded(sample_texts: list[str]) -> None:
    index = make_index()
    for number, text in enumerate(sample_texts):
        add(index, f"id{number}", text)
    copy = edited_copy(sample_texts[2], random.Random(8), 2)
    for current in (index, NearDupIndex.from_bytes(index.to_bytes(), DedupConfig())):
        match = find(current, copy)
        assert match is not None and match.kept.id == "id2" and match.reason == "near_duplicate"
