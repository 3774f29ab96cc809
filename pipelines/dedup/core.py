"""Pure dedup core: self-repeat collapse, and an index that finds a new article's original by URL, exact
content or near-duplicate text (MinHash LSH with datasketch, every candidate confirmed by exact Jaccard).

No Scrapy here; the pipeline adapts it. The index's state round-trips through `to_bytes`/`from_bytes` so
scheduled runs resume from the state stored beside their output.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import io
import json
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import xxhash
from datasketch import LeanMinHash, MinHash, MinHashLSH

from pipelines.text import words

__all__ = [
    "DedupConfig",
    "DocInfo",
    "Match",
    "NearDupIndex",
    "StateFormatError",
    "collapse_repeats",
    "preference_key",
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
    """
    tokens = [words(p) for p in paragraphs]
    repeat = [False] * len(paragraphs)
    seen_exact: set[str] = set()
    kept_long: list[_Paragraph] = []  # in order of length, as `kept_lengths`
    kept_lengths: list[int] = []
    for i, toks in enumerate(tokens):
        key = " ".join(toks)
        if len(toks) >= min_words:
            paragraph = _Paragraph(toks, Counter(toks))
            # only paragraphs of comparable length can reach the ratio (_similar checks the exact condition)
            low = bisect.bisect_left(kept_lengths, similarity * len(toks))
            high = len(kept_long) if similarity <= 0 else bisect.bisect_right(kept_lengths, len(toks) / similarity + 1)
            if key in seen_exact or any(_similar(paragraph, earlier, similarity) for earlier in kept_long[low:high]):
                repeat[i] = True
                continue
            at = bisect.bisect_right(kept_lengths, len(toks))
            kept_lengths.insert(at, len(toks))
            kept_long.insert(at, paragraph)
        seen_exact.add(key)
    # short lines inside a repeated run: their key was seen and a neighbour is a dropped repeat
    short_seen: set[str] = set()
    for i, toks in enumerate(tokens):
        key = " ".join(toks)
        if len(toks) < min_words:
            beside_repeat = (i > 0 and repeat[i - 1]) or (i + 1 < len(tokens) and repeat[i + 1])
            if key in short_seen and beside_repeat:
                repeat[i] = True
            short_seen.add(key)
    kept = [p for p, dropped in zip(paragraphs, repeat, strict=True) if not dropped]
    return kept, sum(repeat)


class _Paragraph(NamedTuple):
    words: list[str]
    counts: Counter[str]


def _similar(a: _Paragraph, b: _Paragraph, threshold: float) -> bool:
    """difflib's word ratio ≥ threshold, computed only when two cheap upper bounds of that ratio allow it: the
    lengths, then the words in common (difflib's real_quick_ratio and quick_ratio). They reject nearly every
    pair of a page's paragraphs; difflib on every pair cost ~5 ms per article (bench.dedup)."""
    if min(len(a.words), len(b.words)) < threshold * max(len(a.words), len(b.words)):
        return False
    shared = sum(min(a.counts[word], b.counts[word]) for word in a.counts.keys() & b.counts.keys())
    if 2.0 * shared / (len(a.words) + len(b.words)) < threshold:
        return False
    return difflib.SequenceMatcher(None, a.words, b.words, autojunk=False).ratio() >= threshold


# -- shingling ---------------------------------------------------------------------------------------

# Word and shingle hashes are polynomial (Rabin-Karp) hashes mod 2^64 computed with prefix sums, so a text is
# hashed in a fixed number of numpy passes whatever its length, with no Python loop per word or shingle.
_U64 = np.uint64
_CHAR_BASE = _U64(0x9E3779B97F4A7C15)  # odd, hence invertible mod 2^64
_CHAR_BASE_INVERSE = _U64(pow(int(_CHAR_BASE), -1, 1 << 64))
_WORD_BASE = _U64(0xD6E8FEB86659FD93)
_FMIX64 = (_U64(33), _U64(0xFF51AFD7ED558CCD), _U64(0xC4CEB9FE1A85EC53))
_HIGH_HALF = _U64(32)
_CACHED_POWERS = 1 << 16  # code points; longer texts compute their own tables


def _power_table(base: np.uint64, n: int) -> np.ndarray:
    """base^i mod 2^64 for i < n (uint64 arithmetic wraps, which is the modulo)."""
    table = np.full(n, base, dtype=np.uint64)
    table[:1] = 1
    return np.cumprod(table, out=table)


_POWERS = _power_table(_CHAR_BASE, _CACHED_POWERS)
_INVERSE_POWERS = _power_table(_CHAR_BASE_INVERSE, _CACHED_POWERS)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    if n <= _CACHED_POWERS:
        return _POWERS[:n], _INVERSE_POWERS[:n]
    return _power_table(_CHAR_BASE, n), _power_table(_CHAR_BASE_INVERSE, n)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, in place: a bijection that spreads every input bit over the output."""
    shift, first, second = _FMIX64
    h ^= h >> shift
    h *= first
    h ^= h >> shift
    h *= second
    h ^= h >> shift
    return h


@functools.cache
def _word_char_table() -> np.ndarray:
    """For each BMP code point, whether `\\w` matches it: in str patterns, alphanumeric or underscore."""
    return np.array([chr(c).isalnum() or c == 0x5F for c in range(0x10000)], dtype=bool)


def _word_spans(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The code points of `text` normalized as `pipelines.text.words` does, and the [start, end) of each word.

    The same words as `words(text)` (tests compare them), found with array operations rather than the regex,
    which costs more than all the hashing after it.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    points = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    is_word = _word_char_table().take(points, mode="clip")
    if points.size and points.max() > 0xFFFF:
        astral = np.flatnonzero(points > 0xFFFF)
        is_word[astral] = [chr(c).isalnum() for c in points[astral].tolist()]
    padded = np.zeros(points.size + 2, dtype=bool)
    padded[1:-1] = is_word
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return points, edges[0::2], edges[1::2]


def shingle_hashes(text: str, size: int = 5) -> np.ndarray:
    """Sorted unique 32-bit hashes of the word `size`-grams of `text` (the set Jaccard is measured on).

    Words are those of `pipelines.text.words`, so case, Unicode compatibility forms and punctuation never
    matter: the same words always give the same hashes. Texts shorter than `size` words are one shingle, so
    even a short text has a non-empty set.
    """
    points, starts, ends = _word_spans(text)
    if not starts.size:
        return np.zeros(1, dtype=np.uint32)
    powers, inverse_powers = _powers(points.size)
    prefix = np.zeros(points.size + 1, dtype=np.uint64)
    np.cumsum(points * inverse_powers, out=prefix[1:])
    # word i: sum of points[k] * base^-(k - start) over its code points, the same wherever it stands; then mixed
    word = _fmix64((prefix[ends] - prefix[starts]) * powers[starts])
    count = max(1, word.size - size + 1)
    gram = word[:count].copy()  # sum of word[i + j] * WORD_BASE^(size - 1 - j) over the window
    for offset in range(1, min(size, word.size)):
        gram *= _WORD_BASE
        gram += word[offset : offset + count]
    hashes = (gram >> _HIGH_HALF).astype(np.uint32)  # the top half depends on every bit of every word hash
    hashes.sort()
    distinct = np.empty(hashes.size, dtype=bool)
    distinct[:1] = True
    np.not_equal(hashes[1:], hashes[:-1], out=distinct[1:])
    return hashes[distinct]


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted unique hash arrays, as `shingle_hashes` returns them."""
    if a.size > b.size:
        a, b = b, a
    if not a.size:
        return 0.0 if b.size else 1.0
    inter = int(np.count_nonzero(b.take(np.searchsorted(b, a), mode="clip") == a))
    return inter / (a.size + b.size - inter)


# -- the index -------------------------------------------------------------------------------------

_SCHEME = "affine32"  # datasketch's permutation scheme for 32-bit hash values
_SIGNATURE_CHUNK = 8192  # shingles per pass: bounds the num_perm × chunk work array (4 MiB at 128)
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, datasketch's pre-mix of every input hash in the affine32 scheme."""
    first_shift, first, second_shift, second = _FMIX32
    h = h ^ (h >> first_shift)
    h *= first
    h ^= h >> second_shift
    h *= second
    h ^= h >> first_shift
    return h


@dataclass(frozen=True)
class DedupConfig:
    """Settings DEDUP_SHINGLE_SIZE, DEDUP_NUM_PERM, DEDUP_BANDS, DEDUP_THRESHOLD.

    The banding is chosen for the threshold unless DEDUP_BANDS sets it (0 = auto): the longest bands
    that still make a pair at the threshold an LSH candidate with probability ≥ 0.995. For 128
    permutations and 0.8 that is 21 bands of 6 rows (P ≈ 0.998), where datasketch's own choice for
    threshold=0.8, 9 bands of 13 rows, finds such a pair about half the time. Every candidate is then
    confirmed on the exact shingle sets, so precision does not depend on the banding.
    """

    shingle_size: int = 5
    num_perm: int = 128
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


@dataclass
class DocInfo:
    """What the index remembers of a kept article."""

    id: str
    url: str
    published: str | None
    self_canonical: bool


@dataclass(frozen=True)
class Match:
    """An indexed article that a new one duplicates, and how."""

    kept: DocInfo
    reason: str  # same_url, exact, near_duplicate
    similarity: float


def preference_key(published: str | None, self_canonical: bool, url: str) -> tuple[str, int, int, str]:
    """Order of preference among copies (smallest kept): earliest published, then the page that is its own
    canonical (the publisher's, not an AMP/print/syndicated copy pointing elsewhere), then shortest URL,
    then URL. Crawl order never decides."""
    return (published or "9999-99-99", 0 if self_canonical else 1, len(url), url)


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
        self._multipliers, self._offsets = a[:, None], b[:, None]
        # Band keys as 32-bit ints rather than datasketch's bytes: -0.5 KB per article at 21 bands. A rare key
        # collision only adds a candidate, which the exact Jaccard check rejects.
        self._lsh = MinHashLSH(
            num_perm=self.config.num_perm, params=(self.config.bands, self.config.rows), hashfunc=xxhash.xxh32_intdigest
        )
        for doc_id, shingles in self.shingles.items():
            self._lsh.insert(doc_id, self._minhash(self.signature(shingles)))

    def _minhash(self, signature: np.ndarray) -> LeanMinHash:
        return LeanMinHash(seed=self.config.seed, hashvalues=signature, scheme=_SCHEME)

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """The MinHash of a shingle set: what datasketch's `MinHash.update_batch` gives for these integers
        (affine32: fmix32, then a·h + b mod 2^32, minimum per permutation), as array operations over all
        shingles at once instead of datasketch's Python-level pass over them; tests prove them equal."""
        signature = np.full(self.config.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
        for chunk in range(0, shingles.size, _SIGNATURE_CHUNK):
            values = np.multiply(self._multipliers, _fmix32(shingles[chunk : chunk + _SIGNATURE_CHUNK]))
            values += self._offsets
            np.minimum(signature, values.min(axis=1), out=signature)
        return signature

    def find(self, url_keys: Iterable[str], content_id: str, shingles: np.ndarray, signature: np.ndarray) -> Match | None:
        """The kept article this one duplicates (by URL, exact text, then near text), or None."""
        for key in url_keys:
            if key in self.url_keys:
                return Match(self._resolve(self.url_keys[key]), "same_url", 1.0)
        if content_id in self.content_ids:
            return Match(self._resolve(self.content_ids[content_id]), "exact", 1.0)
        best: tuple[float, str] | None = None
        for candidate in self._lsh.query(self._minhash(signature)):
            similarity = exact_jaccard(shingles, self.shingles[candidate])
            if similarity >= self.config.threshold and (best is None or (similarity, candidate) > best):
                best = (similarity, candidate)
        if best is None:
            return None
        return Match(self._resolve(best[1]), "near_duplicate", round(best[0], 4))

    def find_or_add(self, doc: DocInfo, url_keys: list[str], shingles: np.ndarray, signature: np.ndarray) -> Match | None:
        """`find`, and `add` when nothing matches: one step, which a shared index must make atomic."""
        match = self.find(url_keys, doc.id, shingles, signature)
        if match is None:
            self.add(doc, url_keys, shingles, signature)
        return match

    def _resolves_to(self, doc_id: str) -> str:
        while doc_id in self.aliases:
            doc_id = self.aliases[doc_id]
        return doc_id

    def _resolve(self, doc_id: str) -> DocInfo:
        return self.docs[self._resolves_to(doc_id)]

    def add(self, doc: DocInfo, url_keys: Iterable[str], shingles: np.ndarray, signature: np.ndarray) -> None:
        """Index a kept article under its URL keys, content id and signature."""
        self.docs[doc.id] = doc
        for key in url_keys:
            self.url_keys.setdefault(key, doc.id)
        self.content_ids.setdefault(doc.id, doc.id)
        if doc.id not in self.shingles:
            self.shingles[doc.id] = shingles
            self._lsh.insert(doc.id, self._minhash(signature))

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
            "docs": {doc_id: doc.__dict__ for doc_id, doc in self.docs.items()},
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
        """Load a snapshot; a state of another format or configuration raises StateFormatError."""
        try:
            arrays = np.load(io.BytesIO(data), allow_pickle=False)
            header: dict[str, Any] = json.loads(arrays["header"].tobytes().decode("utf-8"))
        except (ValueError, KeyError, OSError) as exc:
            raise StateFormatError(f"unreadable dedup state: {exc}") from exc
        if header.get("format") != STATE_FORMAT:
            raise StateFormatError(f"dedup state format {header.get('format')!r}, expected {STATE_FORMAT!r}")
        if header["config"] != config.__dict__:
            raise StateFormatError(f"dedup state was built with {header['config']}, settings say {config.__dict__}")
        ids = header["ids"]
        splits = np.cumsum(arrays["shingle_lengths"])[:-1]
        shingles = dict(zip(ids, np.split(arrays["shingles"], splits), strict=True)) if ids else {}
        return cls(
            config=config,
            docs={doc_id: DocInfo(**doc) for doc_id, doc in header["docs"].items()},
            url_keys=header["url_keys"],
            content_ids=header["content_ids"],
            shingles=shingles,
            aliases=header["aliases"],
            runs=set(header.get("runs", [])),
        )


class StateFormatError(ValueError):
    """A stored dedup state this version cannot use as it is."""
