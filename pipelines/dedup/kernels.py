"""The dedup stage's per-character and per-shingle loops, compiled with numba.

Each is one pass over its input where the same work as numpy array operations took a dozen passes and a
temporary array each (a word hash was a cumulative sum over every code point): on the benchmark's articles,
word hashing ~2× faster, signatures ~6×, finding and adding an article ~2.5× (`make bench-dedup`). Integer
arithmetic wraps exactly as numpy's does (mod 2^32 or 2^64), so the values are the ones the state files and
datasketch hold; tests compare them with plain-Python references. Compiled code is cached on disk
(`_compiled`); `compile_all` compiles or loads it up front, so that no article waits for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "FMIX64", "affine32_minhash", "band_keys", "compile_all", "hash_words", "intersection_size", "merge_sorted",
    "sorted_lookup", "word_grams",
]  # fmt: skip

_NEWLINE = 0x0A
# MurmurHash3's 64-bit finalizer (shift, first multiplier, second multiplier); the dedup core uses it too.
FMIX64 = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_FMIX64_SHIFT, _FMIX64_FIRST, _FMIX64_SECOND = FMIX64
_FMIX32_FIRST = np.uint32(0x85EBCA6B)
_FMIX32_SECOND = np.uint32(0xC2B2AE35)
_MAX32 = np.uint32(0xFFFFFFFF)


def _compiled(function: Callable[..., Any]) -> Any:
    """`function` compiled on first call, the machine code cached on disk (beside this file, or in
    NUMBA_CACHE_DIR) when a writable place exists; without one (a read-only install run by a user without a
    home) every process compiles again, ~4 s at start, rather than failing."""
    try:
        return njit(cache=True, nogil=True)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return njit(nogil=True)(function)


@_compiled
def hash_words(points: np.ndarray, is_word: np.ndarray, inverse_base: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """The hash of each word (maximal run of `is_word`) of `points`: MurmurHash3's fmix64 of
    Σ points[k]·inverse_base^(k - start) mod 2^64, the same wherever the word stands; and for each newline the
    number of words before it."""
    hashes = np.empty(points.size // 2 + 1, dtype=np.uint64)
    line_breaks = np.empty(points.size, dtype=np.int64)
    count = 0
    breaks = 0
    word = np.uint64(0)
    power = np.uint64(0)  # inverse_base^(k - start) inside a word, 0 outside (a power of an odd number is odd)
    for k in range(points.size):
        if is_word[k]:
            if power == 0:
                word = np.uint64(0)
                power = np.uint64(1)
            word += np.uint64(points[k]) * power
            power *= inverse_base
        else:
            if power != 0:
                hashes[count] = word
                count += 1
                power = np.uint64(0)
            if points[k] == _NEWLINE:
                line_breaks[breaks] = count
                breaks += 1
    if power != 0:
        hashes[count] = word
        count += 1
    for i in range(count):
        h = hashes[i]
        h ^= h >> _FMIX64_SHIFT
        h *= _FMIX64_FIRST
        h ^= h >> _FMIX64_SHIFT
        h *= _FMIX64_SECOND
        h ^= h >> _FMIX64_SHIFT
        hashes[i] = h
    return hashes[:count].copy(), line_breaks[:breaks].copy()


def word_grams(word_hashes: np.ndarray, size: int, base: np.uint64) -> np.ndarray:
    """Sorted unique hashes of the word `size`-grams: the top 32 bits of Σ word[i + j]·base^(size - 1 - j)
    mod 2^64 (they depend on every bit of every word hash). Fewer than `size` words are one gram."""
    if word_hashes.size == 0:
        return np.zeros(1, dtype=np.uint32)
    grams = _grams(word_hashes, size, base)
    grams.sort()  # numpy's vectorized sort, ~4× numba's
    return grams[: _distinct_in_place(grams)].copy()  # a numpy-owned array: the index keeps it


@_compiled
def _grams(word_hashes: np.ndarray, size: int, base: np.uint64) -> np.ndarray:
    count = max(1, word_hashes.size - size + 1)
    width = min(size, word_hashes.size)
    grams = np.empty(count, dtype=np.uint32)
    for i in range(count):
        gram = word_hashes[i]
        for j in range(1, width):
            gram = gram * base + word_hashes[i + j]
        grams[i] = np.uint32(gram >> np.uint64(32))
    return grams


@_compiled
def _distinct_in_place(ordered: np.ndarray) -> int:
    """Moves the distinct values of a sorted array to its front; returns how many there are."""
    count = 1
    for i in range(1, ordered.size):
        if ordered[i] != ordered[count - 1]:
            ordered[count] = ordered[i]
            count += 1
    return count


@_compiled
def affine32_minhash(shingles: np.ndarray, multipliers: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """datasketch's MinHash (scheme affine32) of a set of 32-bit hashes: each hash through MurmurHash3's fmix32,
    then min over the set of multipliers·h + offsets mod 2^32, per permutation; an empty set gives 2^32 - 1."""
    signature = np.full(multipliers.size, _MAX32, dtype=np.uint32)
    for i in range(shingles.size):
        h = shingles[i]
        h ^= h >> np.uint32(16)
        h = np.uint32(h * _FMIX32_FIRST)
        h ^= h >> np.uint32(13)
        h = np.uint32(h * _FMIX32_SECOND)
        h ^= h >> np.uint32(16)
        for j in range(multipliers.size):
            signature[j] = min(signature[j], np.uint32(np.uint32(multipliers[j] * h) + offsets[j]))
    return signature


@_compiled
def band_keys(signature: np.ndarray, row_multipliers: np.ndarray, band_offsets: np.ndarray) -> np.ndarray:
    """Each band's bucket key: Σ row·multiplier + the band's offset, mod 2^64, over the band's rows."""
    rows = row_multipliers.size
    keys = band_offsets.copy()
    for band in range(band_offsets.size):
        for row in range(rows):
            keys[band] += np.uint64(signature[band * rows + row]) * row_multipliers[row]
    return keys


@_compiled
def sorted_lookup(keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The values of every entry of `keys` (sorted, parallel to `values`) equal to one of the queries."""
    found = []
    for query in queries:
        at = np.searchsorted(keys, query)
        while at < keys.size and keys[at] == query:
            found.append(values[at])
            at += 1
    return np.array(found, dtype=values.dtype)


@_compiled
def intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    """How many values two sorted arrays of distinct values have in common (one merge pass)."""
    i = j = common = 0
    while i < a.size and j < b.size:
        if a[i] < b[j]:
            i += 1
        elif a[i] > b[j]:
            j += 1
        else:
            common += 1
            i += 1
            j += 1
    return common


@_compiled
def merge_sorted(
    keys: np.ndarray, bands: np.ndarray, docs: np.ndarray, size: int,
    new_keys: np.ndarray, new_bands: np.ndarray, new_docs: np.ndarray,
) -> None:
    """Merge sorted new entries into the first `size` entries (sorted by key) of three parallel arrays with room
    for them, in place: from the back, so that nothing is overwritten before it has moved."""
    old = size - 1
    new = new_keys.size - 1
    for at in range(size + new_keys.size - 1, -1, -1):
        if new < 0:
            break  # the rest of the old entries are in place already
        if old >= 0 and keys[old] > new_keys[new]:
            keys[at], bands[at], docs[at] = keys[old], bands[old], docs[old]
            old -= 1
        else:
            keys[at], bands[at], docs[at] = new_keys[new], new_bands[new], new_docs[new]
            new -= 1


def compile_all() -> None:
    """Compile (first run) or load (later runs) every kernel for the types the stage calls it with."""
    points = np.array([0x61, _NEWLINE], dtype=np.uint32)
    hashes, _ = hash_words(points, np.array([True, False]), np.uint64(3))
    grams = word_grams(hashes, 5, np.uint64(3))
    signature = affine32_minhash(grams, np.ones(2, dtype=np.uint32), np.zeros(2, dtype=np.uint32))
    keys = band_keys(signature, np.ones(1, dtype=np.uint64), np.zeros(2, dtype=np.uint64))
    docs = np.zeros(4, dtype=np.int32)
    merge_sorted(np.resize(keys, 4), np.zeros(4, dtype=np.uint16), docs, 2, keys, np.zeros(2, dtype=np.uint16), docs[:2])
    sorted_lookup(keys, docs, keys)
    intersection_size(grams, grams)
