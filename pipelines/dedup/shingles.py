"""Word and shingle hashes of a text, and the exact Jaccard of two shingle sets. Pure, no Scrapy."""

from __future__ import annotations

import functools

import numpy as np

from pipelines.dedup import kernels
from model.text import fold_points


# Word and shingle hashes are polynomial (Rabin-Karp) hashes mod 2^64, computed in one compiled pass (`kernels`).
U64 = np.uint64
CHAR_BASE = U64(0x9E3779B97F4A7C15)  # odd, hence invertible mod 2^64
CHAR_BASE_INVERSE = U64(pow(int(CHAR_BASE), -1, 1 << 64))
WORD_BASE = U64(0xD6E8FEB86659FD93)


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, in place: a bijection that spreads every input bit over the output."""
    shift, first, second = kernels.FMIX64
    h ^= h >> shift
    h *= first
    h ^= h >> shift
    h *= second
    h ^= h >> shift
    return h


@functools.lru_cache(maxsize=4)
def analysis(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The hash of every word of `text` (see `model.text.words`), and for each newline the number of words
    before it.

    Cached because the dedup stage reads each article twice: `collapse_repeats` on its paragraphs joined by
    newlines, then `shingle_hashes` on the same text. The arrays are read-only.
    """
    points, is_word = fold_points(text)
    hashes, line_breaks = kernels.hash_words(points, is_word, CHAR_BASE_INVERSE)
    hashes.flags.writeable = line_breaks.flags.writeable = False
    return hashes, line_breaks


def shingle_hashes(text: str, size: int = 5) -> np.ndarray:
    """Sorted unique 32-bit hashes of the word `size`-grams of `text` (the set Jaccard is measured on).

    Words are those of `model.text.words`, so case, Unicode compatibility forms and punctuation never
    matter: the same words always give the same hashes. Texts shorter than `size` words are one shingle, so
    even a short text has a non-empty set.
    """
    return kernels.word_grams(analysis(text)[0], size, WORD_BASE)


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted unique hash arrays, as `shingle_hashes` returns them."""
    if not a.size and not b.size:
        return 1.0
    common = kernels.intersection_size(a, b)
    return common / (a.size + b.size - common)
