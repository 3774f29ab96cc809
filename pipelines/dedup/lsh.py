"""MinHash LSH with compact storage: datasketch's MinHashLSH, its buckets in sorted arrays. Pure, no Scrapy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
from datasketch import MinHashLSH
from datasketch.storage import OrderedStorage, UnorderedStorage

from pipelines.dedup import kernels
from pipelines.dedup.shingles import CHAR_BASE, U64, WORD_BASE, fmix64

_MAX64 = (1 << 64) - 1
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
        self._row_multipliers = fmix64(np.arange(1, rows + 1, dtype=np.uint64) * CHAR_BASE) | U64(1)
        self._band_offsets = fmix64(np.arange(bands, dtype=np.uint64) * WORD_BASE + U64(1))
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
