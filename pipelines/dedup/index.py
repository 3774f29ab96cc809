"""The dedup index: finds a new article's original by URL, exact content or near-duplicate text (MinHash
LSH, every candidate confirmed by exact Jaccard), chooses which copy to keep, and round-trips through
`to_bytes`/`from_bytes` so scheduled runs resume from the state stored beside their output. Pure, no Scrapy."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from datasketch import MinHash

from model.dates import TRUSTED_SOURCES, instant
from model.urls import request_url
from pipelines.dedup import kernels
from pipelines.dedup.lsh import CompactMinHashLSH
from pipelines.dedup.shingles import exact_jaccard

# 2: shingle hashes computed from code points (vectorized); signatures are recomputed on load, not stored.
STATE_FORMAT = "newsdedup-dedup-state/2"

_SCHEME = "affine32"  # datasketch's permutation scheme for 32-bit hash values


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
