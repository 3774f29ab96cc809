"""Pure dedup core: self-repeat collapse, and an index that finds a new article's original by URL, exact
content or near-duplicate text (MinHash LSH with datasketch, every candidate confirmed by exact Jaccard).

No Scrapy here; the pipeline adapts it. The index's state round-trips through `to_bytes`/`from_bytes` so
scheduled runs resume from the state stored beside their output.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import io
import itertools
import json
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from datasketch import MinHash, MinHashLSH
from datasketch.storage import OrderedStorage, UnorderedStorage

from model.urls import request_url
from pipelines.dedup import kernels
from model.dates import TRUSTED_SOURCES, instant
from model.text import fold_points, words

__all__ = [
    "BandBuckets",
    "CompactMinHashLSH",
    "DedupConfig",
    "DocInfo",
    "Match",
    "NearDupIndex",
    "Page",
    "StateFormatError",
    "collapse_repeats",
    "preference_key",
    "preferred",
    "relation",
    "shingle_hashes",
]

# 2: shingle hashes computed from code points (vectorized); signatures are recomputed on load, not stored.
STATE_FORMAT = "newsdedup-dedup-state/2"


# -- self-repeated copies inside one page -------------------------------------------------------------


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
    Two filters prove that on the page's hashed words (from `_analysis`, shared with `shingle_hashes`), in a fixed
    number of array operations where a loop over pairs of paragraphs cost 300 µs per article:
    `_possibly_repeated` rules out nearly every paragraph of a page without repeats; among the others, prefix
    filtering finds the pairs. Words compare by hash: a collision can only add a pair, which `_similar` rejects.
    """
    if len(paragraphs) < 2:
        return {}
    hashes, line_breaks = _analysis("\n".join(paragraphs))
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
    buckets = (hashes >> _U64(64 - table_bits)).astype(np.intp)
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
    return paragraph, _fmix64(word + occurrence.astype(np.uint64) * _WORD_BASE)


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


# -- shingling ---------------------------------------------------------------------------------------

# Word and shingle hashes are polynomial (Rabin-Karp) hashes mod 2^64, computed in one compiled pass (`kernels`).
_U64 = np.uint64
_CHAR_BASE = _U64(0x9E3779B97F4A7C15)  # odd, hence invertible mod 2^64
_CHAR_BASE_INVERSE = _U64(pow(int(_CHAR_BASE), -1, 1 << 64))
_WORD_BASE = _U64(0xD6E8FEB86659FD93)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, in place: a bijection that spreads every input bit over the output."""
    shift, first, second = kernels.FMIX64
    h ^= h >> shift
    h *= first
    h ^= h >> shift
    h *= second
    h ^= h >> shift
    return h


@functools.lru_cache(maxsize=4)
def _analysis(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The hash of every word of `text` (see `model.text.words`), and for each newline the number of words
    before it.

    Cached because the dedup stage reads each article twice: `collapse_repeats` on its paragraphs joined by
    newlines, then `shingle_hashes` on the same text. The arrays are read-only.
    """
    points, is_word = fold_points(text)
    hashes, line_breaks = kernels.hash_words(points, is_word, _CHAR_BASE_INVERSE)
    hashes.flags.writeable = line_breaks.flags.writeable = False
    return hashes, line_breaks


def shingle_hashes(text: str, size: int = 5) -> np.ndarray:
    """Sorted unique 32-bit hashes of the word `size`-grams of `text` (the set Jaccard is measured on).

    Words are those of `model.text.words`, so case, Unicode compatibility forms and punctuation never
    matter: the same words always give the same hashes. Texts shorter than `size` words are one shingle, so
    even a short text has a non-empty set.
    """
    return kernels.word_grams(_analysis(text)[0], size, _WORD_BASE)


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted unique hash arrays, as `shingle_hashes` returns them."""
    if not a.size and not b.size:
        return 1.0
    common = kernels.intersection_size(a, b)
    return common / (a.size + b.size - common)


# -- the index -------------------------------------------------------------------------------------

_SCHEME = "affine32"  # datasketch's permutation scheme for 32-bit hash values
_MAX64 = (1 << 64) - 1


# -- LSH storage ---------------------------------------------------------------------------------------

_MIN_PENDING = 4096  # buffered insertions before a merge into the sorted arrays (and at least 1/32 of them)


class BandBuckets:
    """The buckets of every band of one LSH index, in three parallel arrays sorted by bucket key: the key
    (uint64), the band (uint16) and the document number (int32), 14 bytes per band and document where
    datasketch's dict-of-sets storage takes ~290. A bucket key is the band's hash mixed with the band's number
    (`CompactMinHashLSH.bucket_keys`), so keys of different bands differ and a lookup needs no band test.
    Insertions wait in a small dict (for lookups) and a list of arrays (for the merge) until enough of them are
    merged in at once, so an insertion costs O(1) amortized. A removal, which only a lost part causes, merges
    first and leaves a tombstone (document -1).
    """

    def __init__(self, bands: int) -> None:
        self._size = 0  # entries in use at the front of the three arrays (the rest is room to grow)
        self._keys = np.empty(0, dtype=np.uint64)
        self._bands = np.empty(0, dtype=np.uint16)
        self._docs = np.empty(0, dtype=np.int32)
        self._all_bands = np.arange(bands, dtype=np.uint16)
        self._pending: dict[int, list[int]] = {}  # bucket key -> document numbers
        self._pending_arrays: list[tuple[np.ndarray, np.ndarray, int]] = []  # (keys, bands, document)
        self._pending_count = 0

    @property
    def keys(self) -> np.ndarray:
        return self._keys[: self._size]

    @property
    def bands(self) -> np.ndarray:
        return self._bands[: self._size]

    @property
    def docs(self) -> np.ndarray:
        return self._docs[: self._size]

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays, room to grow included."""
        return self._keys.nbytes + self._bands.nbytes + self._docs.nbytes

    def __len__(self) -> int:
        """Entries (band, key, document), tombstones excluded."""
        return int(np.count_nonzero(self.docs >= 0)) + self._pending_count

    def add(self, doc: int, keys: np.ndarray, bands: np.ndarray | None = None) -> None:
        """Put a document in the bucket of each of its keys (`bands` default: one key per band, in order)."""
        for key in keys.tolist():
            self._pending.setdefault(key, []).append(doc)
        self._pending_arrays.append((keys, self._all_bands if bands is None else bands, doc))
        self._pending_count += keys.size
        if self._pending_count >= max(_MIN_PENDING, self.keys.size >> 5):
            self._merge()

    def lookup(self, keys: np.ndarray) -> set[int]:
        """The documents in the buckets of these keys."""
        found = set(kernels.sorted_lookup(self.keys, self.docs, keys).tolist())
        found.discard(-1)
        if self._pending:
            for key in keys.tolist():
                if key in self._pending:
                    found.update(self._pending[key])
        return found

    def discard(self, key: int, doc: int | None = None) -> None:
        """Remove a document from a bucket, or (doc None) empty the bucket."""
        self._merge()
        start, stop = self._span(key)
        gone = slice(start, stop) if doc is None else np.flatnonzero(self.docs[start:stop] == doc) + start
        self.docs[gone] = -1

    def band_counts(self, band: int) -> Counter[int]:
        """Documents per bucket of one band, by bucket key."""
        self._merge()
        return Counter(self.keys[(self.bands == band) & (self.docs >= 0)].tolist())

    def _span(self, key: int) -> tuple[int, int]:
        value = np.uint64(key)
        return int(np.searchsorted(self.keys, value, "left")), int(np.searchsorted(self.keys, value, "right"))

    def _merge(self) -> None:
        """Merge the pending insertions into the sorted arrays, in place: the arrays grow by half when full, so
        a long crawl allocates a few big arrays rather than new ones at every merge (which fragmented the heap:
        `make bench-pipeline`'s memory figures)."""
        live = self.docs >= 0
        if not live.all():  # drop tombstones
            count = int(np.count_nonzero(live))
            for array in (self._keys, self._bands, self._docs):
                array[:count] = array[: self._size][live]
            self._size = count
        if self._pending_arrays:
            new_keys = np.concatenate([k for k, _, _ in self._pending_arrays])
            order = np.argsort(new_keys, kind="stable")
            new_bands = np.concatenate([b for _, b, _ in self._pending_arrays])
            new_docs = np.repeat([d for _, _, d in self._pending_arrays], [k.size for k, _, _ in self._pending_arrays])
            needed = self._size + new_keys.size
            if needed > self._keys.size:
                capacity = max(needed, self._keys.size + self._keys.size // 2)
                self._keys, self._bands, self._docs = (
                    _grown(array, self._size, capacity) for array in (self._keys, self._bands, self._docs)
                )
            new = (new_keys[order], new_bands[order], new_docs[order].astype(np.int32))
            kernels.merge_sorted(self._keys, self._bands, self._docs, self._size, *new)
            self._size = needed
        self._pending, self._pending_arrays, self._pending_count = {}, [], 0


def _grown(array: np.ndarray, used: int, capacity: int) -> np.ndarray:
    """A bigger array of the same type with the `used` first entries of `array`."""
    grown = np.empty(capacity, dtype=array.dtype)
    grown[:used] = array[:used]
    return grown


class _Documents(OrderedStorage):
    """datasketch's `keys` storage for a `CompactMinHashLSH`: each document's bucket keys (a row of a uint64
    array), and the numbers that stand for document ids in `BandBuckets`."""

    def __init__(self, bands: int) -> None:
        self.numbers: dict[str, int] = {}
        self.ids: list[str | None] = []  # number -> id (None once removed)
        self._keys = np.empty((0, bands), dtype=np.uint64)

    def keys(self) -> Iterator[str]:
        return iter(self.numbers)

    def get(self, key: str) -> list[int]:
        number = self.numbers.get(key)
        return [] if number is None else self._keys[number].tolist()

    def insert(self, key: str, *vals: int, **kwargs: Any) -> None:
        raise NotImplementedError("CompactMinHashLSH.insert adds a document with all its bucket keys (add)")

    def add(self, key: str, bucket_keys: np.ndarray) -> int:
        """Number a new document and keep its bucket keys; returns its number."""
        if key in self.numbers:
            raise ValueError(f"{key!r} is indexed already")
        number = len(self.ids)
        if number == len(self._keys):  # grow by half: amortized O(1) per document
            self._keys = np.resize(self._keys, (max(64, number + number // 2), self._keys.shape[1]))
        self._keys[number] = bucket_keys
        self.numbers[key] = number
        self.ids.append(key)
        return number

    def remove(self, *keys: str, **kwargs: Any) -> None:
        for key in keys:
            self.ids[self.numbers.pop(key)] = None

    def remove_val(self, key: str, val: int, **kwargs: Any) -> None:
        raise NotImplementedError("a document's bucket keys are removed with the document (remove)")

    def size(self) -> int:
        return len(self.numbers)

    def itemcounts(self, **kwargs: Any) -> dict[str, int]:
        return {key: self._keys.shape[1] for key in self.numbers}

    def has_key(self, key: str) -> bool:
        return key in self.numbers


class _Band(UnorderedStorage):
    """datasketch's storage of one band's buckets (band hash -> document ids), a view of `BandBuckets`."""

    def __init__(self, lsh: CompactMinHashLSH, band: int) -> None:
        self.lsh, self.band = lsh, band

    def _key(self, band_hash: int) -> int:
        return self.lsh.bucket_key(band_hash, self.band)

    def keys(self) -> Iterator[int]:
        return iter(self.lsh.buckets.band_counts(self.band))

    def get(self, key: int) -> list[str]:
        ids = self.lsh.keys.ids
        return [ids[number] for number in self.lsh.buckets.lookup(np.array([self._key(key)], dtype=np.uint64))]  # type: ignore[misc]

    def insert(self, key: int, *vals: str, **kwargs: Any) -> None:
        raise NotImplementedError("CompactMinHashLSH.insert adds a document to all its bands at once")

    def remove(self, *keys: int, **kwargs: Any) -> None:
        for key in keys:
            self.lsh.buckets.discard(self._key(key))

    def remove_val(self, key: int, val: str, **kwargs: Any) -> None:
        self.lsh.buckets.discard(self._key(key), self.lsh.keys.numbers[val])

    def size(self) -> int:
        return len(self.lsh.buckets.band_counts(self.band))

    def itemcounts(self, **kwargs: Any) -> dict[int, int]:
        return dict(self.lsh.buckets.band_counts(self.band))

    def has_key(self, key: int) -> bool:
        return bool(self.get(key))


class CompactMinHashLSH(MinHashLSH):
    """datasketch's MinHashLSH with its storage replaced: every band's buckets in one `BandBuckets`, document
    ids in `_Documents`: ~0.8 KB per document at 16 bands instead of ~5 KB with the default dict storage
    (`make bench-dedup`).

    A band's hash is a multiply-add over its rows (mod 2^64) rather than datasketch's byteswap and bytes per
    band, so all bands of a signature are hashed at once (`bucket_keys`) and looked up at once (`candidates`);
    `insert_keys` takes the same keys, so a find-then-add hashes once. datasketch's own `insert`, `query` and
    `remove` work on the same storage and agree (tests check it). A rare hash collision only adds a candidate,
    which the exact Jaccard check rejects.
    """

    def __init__(self, num_perm: int, bands: int, rows: int) -> None:
        super().__init__(num_perm=num_perm, params=(bands, rows))
        self.buckets = BandBuckets(bands)
        self.keys = _Documents(bands)
        self.hashtables = [_Band(self, band) for band in range(bands)]
        self._row_multipliers = _fmix64(np.arange(1, rows + 1, dtype=np.uint64) * _CHAR_BASE) | _U64(1)
        self._band_offsets = _fmix64(np.arange(bands, dtype=np.uint64) * _WORD_BASE + _U64(1))
        self._H = self._band_hash

    def _band_hash(self, rows: np.ndarray) -> int:
        """One band's hash, as datasketch asks for it (the band's slice of the hash values)."""
        return int(rows.astype(np.uint64) @ self._row_multipliers[: rows.size])

    def bucket_key(self, band_hash: int, band: int) -> int:
        """A band's bucket key: its hash mixed with its number, so equal rows in two bands are two keys."""
        return (band_hash + int(self._band_offsets[band])) & _MAX64

    def bucket_keys(self, signature: np.ndarray) -> np.ndarray:
        """Every band's bucket key for a signature, in band order."""
        return kernels.band_keys(signature, self._row_multipliers, self._band_offsets)

    def insert(self, key: str, minhash: Any, check_duplication: bool = True) -> None:
        """datasketch's `insert`, on this storage."""
        self.insert_keys(key, self.bucket_keys(np.asarray(minhash.hashvalues)))

    def remove(self, key: str) -> None:
        """datasketch's `remove`, on this storage."""
        if key not in self.keys.numbers:
            raise ValueError("The given key does not exist")
        number = self.keys.numbers[key]
        for bucket_key in self.keys.get(key):
            self.buckets.discard(bucket_key, number)
        self.keys.remove(key)

    def candidates(self, bucket_keys: np.ndarray) -> list[str]:
        """`query` for precomputed bucket keys: the documents sharing at least one band."""
        ids = self.keys.ids
        return [ids[number] for number in self.buckets.lookup(bucket_keys)]  # type: ignore[misc]

    def insert_keys(self, key: str, bucket_keys: np.ndarray) -> None:
        """`insert` for precomputed bucket keys."""
        self.buckets.add(self.keys.add(key, bucket_keys), bucket_keys)


@dataclass(frozen=True)
class DedupConfig:
    """Settings DEDUP_SHINGLE_SIZE, DEDUP_NUM_PERM, DEDUP_BANDS, DEDUP_THRESHOLD.

    The banding is chosen for the threshold unless DEDUP_BANDS sets it (0 = auto): the longest bands
    that still make a pair at the threshold an LSH candidate with probability ≥ 0.995. For 64
    permutations and 0.8 that is 16 bands of 4 rows (P ≈ 0.9998), where datasketch's own choice for
    threshold=0.8 with 128 permutations, 9 bands of 13 rows, finds such a pair about half the time.

    Every candidate is confirmed on the exact shingle sets, so precision does not depend on the
    permutations: they only have to find the pairs. 64 are enough for that and cost half the signature
    time of 128 (21 × 6, P ≈ 0.998); the price is more candidates to check among pairs well below the
    threshold (P = 0.12 at Jaccard 0.3, 3·10⁻⁶ at 0.02, the overlap of independent coverage of a story).
    """

    shingle_size: int = 5
    num_perm: int = 64
    bands: int = 0
    threshold: float = 0.8
    seed: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError(f"DEDUP_THRESHOLD must be in (0, 1], got {self.threshold}")
        if not 0 <= self.bands <= self.num_perm:
            raise ValueError(f"DEDUP_BANDS must be in 0..DEDUP_NUM_PERM ({self.num_perm}), got {self.bands}")
        if self.bands == 0:
            rows = max(r for r in range(1, self.num_perm + 1) if self._probability(r, self.threshold) >= 0.995 or r == 1)
            object.__setattr__(self, "bands", self.num_perm // rows)

    def _probability(self, rows: int, similarity: float) -> float:
        return 1 - (1 - similarity**rows) ** (self.num_perm // rows)

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands

    def candidate_probability(self, similarity: float) -> float:
        """Chance that a pair at this Jaccard similarity shares at least one band."""
        return 1 - (1 - similarity**self.rows) ** self.bands


@dataclass(slots=True)
class DocInfo:
    """What the index remembers of a kept article: enough to choose between it and a copy (`preferred`)."""

    id: str
    url: str
    published: str | None
    self_canonical: bool
    published_source: str | None = None

    @classmethod
    def of(cls, id: str, url: str, canonical_url: str, published: str | None, source: str | None) -> DocInfo:
        """The DocInfo of a record. A page is its own canonical when it declares its own address, up to scheme and
        `www.` (an AMP or print copy declaring the article's address is not, though both share one URL key)."""
        return cls(id, url, published, _address(url) == _address(canonical_url), source)

    @property
    def trusted_date(self) -> str | None:
        """The publication date when it comes from the page's markup or its feed or sitemap entry."""
        return self.published if self.published and self.published_source in TRUSTED_SOURCES else None


@dataclass(frozen=True)
class Match:
    """An indexed article that a new one duplicates, and how."""

    kept: DocInfo
    reason: str  # same_url, exact, near_duplicate
    similarity: float


@dataclass(frozen=True)
class Page:
    """What two copies are compared by: their URL keys (own URL and canonical), content id and shingles."""

    url: str
    keys: frozenset[str]
    id: str
    shingles: np.ndarray = field(repr=False)


def relation(copy: Page, kept: Page) -> tuple[str, float]:
    """How `copy` duplicates `kept` (reason, similarity): the same URL when they share a URL key, the same text,
    else near-duplicate text at their exact Jaccard. The index may have found the copy through another copy (an
    AMP page whose canonical is the publisher's, dropped for an aggregator's copy): this says how the two pages
    themselves relate, whichever arrived first."""
    if copy.keys & kept.keys:
        return "same_url", 1.0
    if copy.id == kept.id:
        return "exact", 1.0
    return "near_duplicate", round(exact_jaccard(copy.shingles, kept.shingles), 4)


# Copies of one story (wire, syndication, aggregators) appear within days of each other. A copy dated this much
# before another copy's trusted date is not believed: claiming an earlier date is how a copy would win.
COPY_DATE_SPREAD = dt.timedelta(days=30)
_UNDATED = dt.datetime.max.replace(tzinfo=dt.UTC)


def preference_key(doc: DocInfo, same_article: bool, other: DocInfo | None = None) -> tuple[Any, ...]:
    """Order of preference among copies (smallest kept). Pages of one article (`same_article`: one URL key, or one's
    canonical is the other) keep the one that is its own canonical, the publisher's page, over an AMP, print or
    syndicated copy pointing elsewhere, whatever their dates. Otherwise, and between equals, the earliest trusted
    date (`DocInfo.trusted_date`) wins: an undated copy, or one dated only by its URL or text, or dated more than
    COPY_DATE_SPREAD before `other` (the copy it is compared with), never beats a dated one. Then the page that
    is its own canonical, then the shortest URL, then the URL: crawl order never decides."""
    date = doc.trusted_date
    other_date = other.trusted_date if other else None
    if date and other_date and instant(date) < instant(other_date) - COPY_DATE_SPREAD:
        date = None
    canonical = 0 if doc.self_canonical else 1
    order = (instant(date) if date else _UNDATED, canonical)
    return (*(order[::-1] if same_article else order), len(doc.url), doc.url)


def preferred(new: DocInfo, kept: DocInfo, same_article: bool) -> bool:
    """Whether `new` is kept instead of `kept` (see `preference_key`)."""
    return preference_key(new, same_article, kept) < preference_key(kept, same_article, new)


def _address(url: str) -> str:
    parts = urlsplit(request_url(url))
    return urlunsplit(("", parts.netloc.lower().removeprefix("www."), parts.path.rstrip("/"), parts.query, ""))


@dataclass
class NearDupIndex:
    """URL keys, content ids and MinHash LSH over the kept articles of every run of one crawl.

    Only the shingle sets are kept per article (for the exact Jaccard check); a signature is a function of its
    set, so it is recomputed when a saved state is loaded rather than stored twice.
    """

    config: DedupConfig = field(default_factory=DedupConfig)
    docs: dict[str, DocInfo] = field(default_factory=dict)
    url_keys: dict[str, str] = field(default_factory=dict)
    content_ids: dict[str, str] = field(default_factory=dict)
    shingles: dict[str, np.ndarray] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # superseded id -> the id kept instead
    runs: set[str] = field(default_factory=set)  # runs whose stored records are all indexed here

    def __post_init__(self) -> None:
        # datasketch's own permutations for this seed, so signatures are exactly datasketch MinHash values
        a, b = MinHash(num_perm=self.config.num_perm, seed=self.config.seed, scheme=_SCHEME).permutations
        self._multipliers, self._offsets = a, b  # uint32 arrays
        self._lsh = CompactMinHashLSH(self.config.num_perm, self.config.bands, self.config.rows)
        for doc_id, shingles in self.shingles.items():
            self._lsh.insert_keys(doc_id, self._lsh.bucket_keys(self.signature(shingles)))

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """The MinHash of a shingle set: what datasketch's `MinHash.update_batch` gives for these integers
        (affine32: fmix32, then a·h + b mod 2^32, minimum per permutation), in one compiled pass instead of
        datasketch's Python-level pass over the shingles; tests prove them equal."""
        return kernels.affine32_minhash(shingles, self._multipliers, self._offsets)

    def find(self, url_keys: Iterable[str], content_id: str, shingles: np.ndarray, signature: np.ndarray) -> Match | None:
        """The kept article this one duplicates (by URL, exact text, then near text), or None."""
        return self._find(url_keys, content_id, shingles, self._lsh.bucket_keys(signature))

    def _find(self, url_keys: Iterable[str], content_id: str, shingles: np.ndarray, buckets: np.ndarray) -> Match | None:
        for key in url_keys:
            if key in self.url_keys:
                return Match(self._resolve(self.url_keys[key]), "same_url", 1.0)
        if content_id in self.content_ids:
            return Match(self._resolve(self.content_ids[content_id]), "exact", 1.0)
        best: tuple[float, str] | None = None
        for candidate in self._lsh.candidates(buckets):
            similarity = exact_jaccard(shingles, self.shingles[candidate])
            if similarity >= self.config.threshold and (best is None or (similarity, candidate) > best):
                best = (similarity, candidate)
        if best is None:
            return None
        return Match(self._resolve(best[1]), "near_duplicate", round(best[0], 4))

    def find_or_add(self, doc: DocInfo, url_keys: list[str], shingles: np.ndarray, signature: np.ndarray) -> Match | None:
        """`find`, and `add` when nothing matches: one step, which a shared index must make atomic. A match
        also indexes the kept article under the copy's URL keys, so that no later run fetches the copy again."""
        buckets = self._lsh.bucket_keys(signature)
        match = self._find(url_keys, doc.id, shingles, buckets)
        if match is None:
            self._add(doc, url_keys, shingles, buckets)
        else:
            for key in url_keys:
                self.url_keys.setdefault(key, match.kept.id)
        return match

    def _resolves_to(self, doc_id: str) -> str:
        while doc_id in self.aliases:
            doc_id = self.aliases[doc_id]
        return doc_id

    def _resolve(self, doc_id: str) -> DocInfo:
        return self.docs[self._resolves_to(doc_id)]

    def add(self, doc: DocInfo, url_keys: Iterable[str], shingles: np.ndarray, signature: np.ndarray) -> None:
        """Index a kept article under its URL keys, content id and signature."""
        self._add(doc, url_keys, shingles, self._lsh.bucket_keys(signature))

    def _add(self, doc: DocInfo, url_keys: Iterable[str], shingles: np.ndarray, buckets: np.ndarray) -> None:
        self.docs[doc.id] = doc
        for key in url_keys:
            self.url_keys.setdefault(key, doc.id)
        self.content_ids.setdefault(doc.id, doc.id)
        if doc.id not in self.shingles:
            self.shingles[doc.id] = shingles
            self._lsh.insert_keys(doc.id, buckets)

    def remove(self, doc_id: str) -> None:
        """Forget an article that never landed (its part was lost), so a later copy is not dropped for it."""
        self.docs.pop(doc_id, None)
        gone = {doc_id} | {old for old in self.aliases if self._resolves_to(old) == doc_id}
        for table in (self.url_keys, self.content_ids, self.aliases):
            for key in [key for key, value in table.items() if value in gone]:
                del table[key]
        for gone_id in gone:
            if self.shingles.pop(gone_id, None) is not None:
                self._lsh.remove(gone_id)

    def supersede(self, old_id: str, new: DocInfo) -> None:
        """`new` is kept instead of `old_id`: everything that found the old one now finds the new one."""
        if old_id != new.id:  # same id: identical text, the new DocInfo simply replaces the old one
            self.aliases.pop(new.id, None)  # a text superseded earlier comes back (an AMP copy, then its page)
            self.aliases[old_id] = new.id
            self.docs.pop(old_id, None)

    # -- persistence ---------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """A versioned, pickle-free snapshot (numpy .npz with a JSON header)."""
        ids = list(self.shingles)
        header = {
            "format": STATE_FORMAT,
            "config": self.config.__dict__,
            "ids": ids,
            "docs": {doc_id: dataclasses.asdict(doc) for doc_id, doc in self.docs.items()},
            "url_keys": self.url_keys,
            "content_ids": self.content_ids,
            "aliases": self.aliases,
            "runs": sorted(self.runs),
        }
        lengths = np.array([self.shingles[i].size for i in ids], dtype=np.int64)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
            shingle_lengths=lengths,
            shingles=np.concatenate([self.shingles[i] for i in ids]) if ids else np.zeros(0, dtype=np.uint32),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, config: DedupConfig) -> NearDupIndex:
        """Load a snapshot, its LSH built for `config`; a state of another format or shingle size raises
        StateFormatError (shingle sets of another size cannot be compared)."""
        try:
            arrays = np.load(io.BytesIO(data), allow_pickle=False)
            header: dict[str, Any] = json.loads(arrays["header"].tobytes().decode("utf-8"))
        except _UNREADABLE as exc:
            raise StateFormatError(f"unreadable dedup state ({len(data)} bytes): {exc!r}") from exc
        if header.get("format") != STATE_FORMAT:
            raise StateFormatError(f"dedup state format {header.get('format')!r}, expected {STATE_FORMAT!r}")
        try:  # the header is whole and of this format: what fails now is a truncated file
            lengths, flat = arrays["shingle_lengths"], arrays["shingles"]
        except _UNREADABLE as exc:
            raise StateFormatError(f"truncated dedup state ({len(data)} bytes): {exc!r}") from exc
        if header["config"]["shingle_size"] != config.shingle_size:  # the rest only shapes the LSH, rebuilt here
            raise StateFormatError(
                f"dedup state was built with {header['config']['shingle_size']}-word shingles, "
                f"DEDUP_SHINGLE_SIZE says {config.shingle_size}"
            )
        ids = header["ids"]
        splits = np.cumsum(lengths)[:-1]
        shingles = dict(zip(ids, np.split(flat, splits), strict=True)) if ids else {}
        return cls(
            config=config,
            docs={doc_id: DocInfo(**doc) for doc_id, doc in header["docs"].items()},
            url_keys=header["url_keys"],
            content_ids=header["content_ids"],
            shingles=shingles,
            aliases=header["aliases"],
            runs=set(header.get("runs", [])),
        )


# What numpy and zipfile raise on a file that is truncated or is no .npz at all.
_UNREADABLE = (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile)


class StateFormatError(ValueError):
    """A stored dedup state this version cannot use as it is."""
