"""Pure dedup core: self-repeat collapse, and an index that finds a new article's original by URL, exact
content or near-duplicate text (MinHash LSH with datasketch, every candidate confirmed by exact Jaccard).

No Scrapy here; the pipeline adapts it. The index's state round-trips through `to_bytes`/`from_bytes` so
scheduled runs resume from the state stored beside their output.
"""

from __future__ import annotations

import difflib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash
from datasketch import MinHash, MinHashLSH

from pipelines.text import normalize, words

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

STATE_FORMAT = "newsdedup-dedup-state/1"


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
    kept_long: list[list[str]] = []
    for i, toks in enumerate(tokens):
        key = " ".join(toks)
        if len(toks) >= min_words:
            if key in seen_exact or any(_similar(toks, earlier, similarity) for earlier in kept_long):
                repeat[i] = True
                continue
            kept_long.append(toks)
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


def _similar(a: list[str], b: list[str], threshold: float) -> bool:
    if min(len(a), len(b)) < threshold * max(len(a), len(b)):
        return False
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


# -- shingling ---------------------------------------------------------------------------------------


def shingle_hashes(text: str, size: int = 5) -> np.ndarray:
    """Sorted unique 32-bit hashes of the word `size`-grams of `text` (the set Jaccard is measured on).

    Texts shorter than `size` words are one shingle, so even a short text has a non-empty set.
    """
    toks = words(text)
    grams = [" ".join(toks[i : i + size]) for i in range(max(1, len(toks) - size + 1))]
    return np.unique(np.fromiter((xxhash.xxh32_intdigest(g.encode("utf-8")) for g in grams), dtype=np.uint32, count=len(grams)))


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - inter
    return inter / union if union else 1.0


# -- the index -------------------------------------------------------------------------------------


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
    """URL keys, content ids and MinHash LSH over the kept articles of every run of one crawl."""

    config: DedupConfig = field(default_factory=DedupConfig)
    docs: dict[str, DocInfo] = field(default_factory=dict)
    url_keys: dict[str, str] = field(default_factory=dict)
    content_ids: dict[str, str] = field(default_factory=dict)
    shingles: dict[str, np.ndarray] = field(default_factory=dict)
    signatures: dict[str, np.ndarray] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # superseded id -> the id kept instead

    def __post_init__(self) -> None:
        self._lsh = MinHashLSH(num_perm=self.config.num_perm, params=(self.config.bands, self.config.rows))
        for doc_id, signature in self.signatures.items():
            self._lsh.insert(doc_id, self._minhash(signature))

    def _minhash(self, hashvalues: np.ndarray | None = None, shingles: np.ndarray | None = None) -> MinHash:
        mh = MinHash(
            num_perm=self.config.num_perm, seed=self.config.seed, hashfunc=int, hashvalues=hashvalues, scheme="affine32"
        )
        if shingles is not None:
            mh.update_batch(shingles.tolist())
        return mh

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        return self._minhash(shingles=shingles).hashvalues

    def find(self, url_keys: Iterable[str], content_id: str, shingles: np.ndarray, signature: np.ndarray) -> Match | None:
        """The kept article this one duplicates (by URL, exact text, then near text), or None."""
        for key in url_keys:
            if key in self.url_keys:
                return Match(self._resolve(self.url_keys[key]), "same_url", 1.0)
        if content_id in self.content_ids:
            return Match(self._resolve(self.content_ids[content_id]), "exact", 1.0)
        best: tuple[float, str] | None = None
        for candidate in self._lsh.query(self._minhash(hashvalues=signature)):
            similarity = exact_jaccard(shingles, self.shingles[candidate])
            if similarity >= self.config.threshold and (best is None or (similarity, candidate) > best):
                best = (similarity, candidate)
        if best is None:
            return None
        return Match(self._resolve(best[1]), "near_duplicate", round(best[0], 4))

    def _resolve(self, doc_id: str) -> DocInfo:
        while doc_id in self.aliases:
            doc_id = self.aliases[doc_id]
        return self.docs[doc_id]

    def add(self, doc: DocInfo, url_keys: Iterable[str], shingles: np.ndarray, signature: np.ndarray) -> None:
        """Index a kept article under its URL keys, content id and signature."""
        self.docs[doc.id] = doc
        for key in url_keys:
            self.url_keys.setdefault(key, doc.id)
        self.content_ids.setdefault(doc.id, doc.id)
        if doc.id not in self.signatures:
            self.shingles[doc.id] = shingles
            self.signatures[doc.id] = signature
            self._lsh.insert(doc.id, self._minhash(hashvalues=signature))

    def supersede(self, old_id: str, new: DocInfo) -> None:
        """`new` is kept instead of `old_id`: everything that found the old one now finds the new one."""
        if old_id != new.id:  # same id: identical text, the new DocInfo simply replaces the old one
            self.aliases[old_id] = new.id
            self.docs.pop(old_id, None)

    # -- persistence ---------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """A versioned, pickle-free snapshot (numpy .npz with a JSON header)."""
        ids = list(self.signatures)
        header = {
            "format": STATE_FORMAT,
            "config": self.config.__dict__,
            "ids": ids,
            "docs": {doc_id: doc.__dict__ for doc_id, doc in self.docs.items()},
            "url_keys": self.url_keys,
            "content_ids": self.content_ids,
            "aliases": self.aliases,
        }
        lengths = np.array([self.shingles[i].size for i in ids], dtype=np.int64)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
            signatures=np.stack([self.signatures[i] for i in ids]) if ids else np.zeros((0, self.config.num_perm)),
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
            signatures=dict(zip(ids, arrays["signatures"], strict=True)),
            aliases=header["aliases"],
        )


class StateFormatError(ValueError):
    """A stored dedup state this version cannot use as it is."""
