"""Self-repeated copies inside one page: paragraphs a page prints twice (a body repeated, a
syndication block), found from hashed words and confirmed by difflib. Pure, no Scrapy."""

from __future__ import annotations

import difflib
import functools
import itertools
from collections import Counter
from collections.abc import Sequence

import numpy as np

from model.text import words
from pipelines.dedup.shingles import U64, WORD_BASE, analysis, fmix64


def collapse_repeats(paragraphs: Sequence[str], similarity: float = 0.9, min_words: int = 6) -> tuple[list[str], int]:
    """Drop paragraphs that repeat an earlier one of the same page; returns (kept paragraphs, number dropped).

    A paragraph of at least `min_words` words is a repeat when its words match an earlier kept paragraph
    exactly or with a difflib ratio ≥ `similarity` (whitespace, punctuation, a changed word). A shorter
    one ("Source : X") is a repeat only beside a dropped long one, i.e. as part of a repeated run, since
    short lines such as captions legitimately recur. Depends on the page alone: same input, same output.

    Most pages repeat nothing, and `_candidate_pairs` proves it from the page's hashed words; difflib runs only
    on the pairs it could not rule out, and only their paragraphs are split into words.
    """
    candidates = _candidate_pairs(paragraphs, similarity, min_words)
    if not candidates:  # no long repeat, hence no short one either
        return list(paragraphs), 0
    repeat = [False] * len(paragraphs)
    kept_long: dict[int, _Paragraph] = {}
    for i in sorted(candidates.keys() | {j for earlier in candidates.values() for j in earlier}):
        paragraph = _Paragraph(words(paragraphs[i]))
        if any(j in kept_long and _similar(paragraph, kept_long[j], similarity) for j in candidates.get(i, ())):
            repeat[i] = True
        else:
            kept_long[i] = paragraph
    if any(repeat):  # short lines inside a repeated run: seen before, and a neighbour is a dropped repeat
        short_seen: set[str] = set()
        for i, text in enumerate(paragraphs):
            tokens = words(text)
            if len(tokens) < min_words:
                key = " ".join(tokens)
                beside_repeat = (i > 0 and repeat[i - 1]) or (i + 1 < len(paragraphs) and repeat[i + 1])
                repeat[i] = key in short_seen and beside_repeat
                short_seen.add(key)
    kept = [p for p, dropped in zip(paragraphs, repeat, strict=True) if not dropped]
    return kept, sum(repeat)


def _candidate_pairs(paragraphs: Sequence[str], similarity: float, min_words: int) -> dict[int, list[int]]:
    """For each long paragraph, the earlier long ones that `_similar` might accept.

    `_similar` needs a word overlap (difflib's quick_ratio numerator, Σ min(a_w, b_w)) of at least
    similarity·(la + lb)/2 with lb ≥ similarity·la, so at least similarity·(1 + similarity)·la/2 (`least`).
    Two filters prove that on the page's hashed words (from `analysis`, shared with `shingle_hashes`), in a fixed
    number of array operations where a loop over pairs of paragraphs cost 300 µs per article:
    `_possibly_repeated` rules out nearly every paragraph of a page without repeats; among the others, prefix
    filtering finds the pairs. Words compare by hash: a collision can only add a pair, which `_similar` rejects.
    """
    if len(paragraphs) < 2:
        return {}
    hashes, line_breaks = analysis("\n".join(paragraphs))
    edges = np.concatenate(([0], line_breaks, [hashes.size]))
    lengths = edges[1:] - edges[:-1]  # words per line
    if lengths.size > len(paragraphs):  # newlines inside paragraphs: add up each paragraph's lines
        lines = np.add([p.count("\n") for p in paragraphs], 1)
        lengths = np.add.reduceat(lengths, np.cumsum(lines) - lines)
    paragraph = np.repeat(np.arange(len(paragraphs)), lengths)
    least = lengths * (similarity * (1 + similarity) / 2) - 1e-9  # words; rounding can only lower it
    possible = _possibly_repeated(hashes, paragraph, lengths >= min_words, least)
    if np.count_nonzero(possible) < 2:
        return {}
    return _prefix_filter_pairs(hashes, paragraph, possible, lengths, least, similarity)


def _possibly_repeated(hashes: np.ndarray, paragraph: np.ndarray, possible: np.ndarray, least: np.ndarray) -> np.ndarray:
    """Which of the `possible` paragraphs may overlap another by `least` words: those with that many words that
    occur elsewhere among the possible ones, repeated while that rules paragraphs out (both of a pair always
    stay) and two remain. Words are counted in a hash table of buckets, where a collision can only raise a count."""
    table_bits = max(10, (4 * hashes.size).bit_length())
    buckets = (hashes >> U64(64 - table_bits)).astype(np.intp)
    remaining = int(np.count_nonzero(possible))
    while remaining >= 2:
        counted = possible[paragraph]
        elsewhere = np.bincount(buckets[counted], minlength=1 << table_bits)[buckets] > 1  # or twice in one: safe
        elsewhere &= counted
        still = possible & (np.bincount(paragraph, weights=elsewhere, minlength=possible.size) >= least)
        still_remaining = int(np.count_nonzero(still))
        if still_remaining == remaining:
            break
        possible, remaining = still, still_remaining
    return possible


def _prefix_filter_pairs(
    hashes: np.ndarray, paragraph: np.ndarray, possible: np.ndarray, lengths: np.ndarray, least: np.ndarray,
    similarity: float,
) -> dict[int, list[int]]:
    """The pairs of `possible` paragraphs that share a token among the first la - least + 1 of each, in one order:
    all pairs with an overlap ≥ least (prefix filtering: Bayardo et al., "Scaling up all pairs similarity search",
    WWW 2007). A paragraph's tokens are its words with their occurrence number, so the multiset overlap of two
    paragraphs is their tokens in common; rarest tokens first, so prefixes hold rare words and few pairs come out."""
    in_possible = possible[paragraph]
    paragraph, token = _occurrence_tokens(paragraph[in_possible], hashes[in_possible])
    _, token_number, frequency = np.unique(token, return_inverse=True, return_counts=True)
    frequency = frequency[token_number]  # paragraphs with the token
    order = np.lexsort((token, frequency, paragraph))  # rarest first within each paragraph
    paragraph, token, frequency = paragraph[order], token[order], frequency[order]
    rank = np.arange(paragraph.size) - np.searchsorted(paragraph, paragraph)
    in_prefix = (rank < (lengths - np.ceil(least) + 1)[paragraph]) & (frequency > 1)
    paragraph, token = paragraph[in_prefix], token[in_prefix]
    by_token = np.argsort(token, kind="stable")
    paragraph, token = paragraph[by_token], token[by_token]
    shared = token[np.flatnonzero(token[1:] == token[:-1])]
    members = paragraph.tolist()
    pairs: dict[int, list[int]] = {}
    found: set[tuple[int, int]] = set()
    runs = zip(np.searchsorted(token, shared).tolist(), np.searchsorted(token, shared, "right").tolist(), strict=True)
    for start, stop in set(runs):
        for earlier, later in itertools.combinations(sorted(set(members[start:stop])), 2):
            length_a, length_b = sorted((int(lengths[earlier]), int(lengths[later])))
            if (earlier, later) not in found and not length_a < similarity * length_b:  # as in `_similar`
                found.add((earlier, later))
                pairs.setdefault(later, []).append(earlier)
    return pairs


def _occurrence_tokens(paragraph: np.ndarray, word: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each word of each paragraph as a token (word, k for its k-th occurrence in the paragraph), hashed: a
    paragraph's tokens are distinct, and the multiset overlap of two paragraphs is their tokens in common.
    Returned sorted by paragraph."""
    order = np.lexsort((word, paragraph))
    paragraph, word = paragraph[order], word[order]
    positions = np.arange(word.size)
    run_start = np.ones(word.size, dtype=bool)
    run_start[1:] = (word[1:] != word[:-1]) | (paragraph[1:] != paragraph[:-1])
    occurrence = positions - np.maximum.accumulate(np.where(run_start, positions, 0))
    return paragraph, fmix64(word + occurrence.astype(np.uint64) * WORD_BASE)


class _Paragraph:
    """A paragraph's words, and their counts once a comparison needs them."""

    def __init__(self, words: list[str]) -> None:
        self.words = words

    @functools.cached_property
    def counts(self) -> Counter[str]:
        return Counter(self.words)


def _similar(a: _Paragraph, b: _Paragraph, threshold: float) -> bool:
    """difflib's word ratio ≥ threshold, computed only when two cheap upper bounds of that ratio allow it: the
    lengths, then the words in common (difflib's real_quick_ratio and quick_ratio). They reject nearly every
    pair of a page's paragraphs; difflib on every pair cost ~5 ms per article (bench.dedup)."""
    if min(len(a.words), len(b.words)) < threshold * max(len(a.words), len(b.words)):
        return False
    if a.words == b.words:
        return True
    shared = sum(min(a.counts[word], b.counts[word]) for word in a.counts.keys() & b.counts.keys())
    if 2.0 * shared / (len(a.words) + len(b.words)) < threshold:
        return False
    return difflib.SequenceMatcher(None, a.words, b.words, autojunk=False).ratio() >= threshold
