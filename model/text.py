"""Text normalization shared by the stages: what counts as "the same words" for hashing and shingling.

A word is a maximal run of `\\w` characters (for str patterns: alphanumeric or underscore) in the text's
`fold`ed form (NFKC, then casefold): exactly `re.findall(r"\\w+", fold(text))`. On an article-sized text the
words are found with array operations over its code points rather than the regex, about twice as fast; on a
short string (a paragraph, a title) setting the arrays up costs more than the regex, so it is used there.
Tests check that both paths give the same words on random Unicode.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

import numpy as np

__all__ = ["content_id", "fold", "fold_points", "normalize", "prepare", "word_count", "words"]

_WORD = re.compile(r"\w+")
_ARRAY_MIN_CHARS = 400  # below this the regex is faster (measured: 5 µs vs 22 µs at 50 chars, even at ~400)
_SPACE = np.uint32(0x20)
_BMP = 0x10000


def prepare() -> None:
    """Build the folding table now (~0.6 s of CPU), so that no article, under an extraction timeout or in a
    crawl's dedup stage, waits for it."""
    _fold_table()


def fold(text: str) -> str:
    """NFKC, then casefold: compatibility forms, case and ligatures never make two words differ."""
    return _nfkc(text).casefold()


_FOLDED_POINT = np.uint32(0x1FFFFF)  # an entry of `_fold_table`: the code point the character folds to,
_WORD_CHAR = np.uint32(1 << 29)  # whether `\w` matches that,
_EXPANDS = np.uint32(1 << 30)  # or that the character folds to several, a letter or digit among them (ß → ss),
_CONTEXTUAL = np.uint32(1 << 31)  # or that it cannot be folded alone (see `_fold_table`)
_HANGUL_JAMO_VT = range(0x1161, 0x11C3)  # medial vowels and final consonants: they compose with the syllable before


@functools.cache
def _second_starters() -> frozenset[int]:
    """Starters that NFKC composes with a starter before them."""
    found = set(_HANGUL_JAMO_VT)
    for point in range(0x110000):
        decomposition = unicodedata.decomposition(chr(point))
        if decomposition and decomposition[0] != "<" and len(pair := decomposition.split()) == 2:
            if not unicodedata.combining(chr(int(pair[1], 16))):
                found.add(int(pair[1], 16))
    return frozenset(found)


def _fold_char(point: int) -> tuple[int, ...]:
    """The entries of what `fold` makes of one character, or (_CONTEXTUAL,) if that depends on its neighbours.

    Several non-word characters (… → ...) are one as far as words go."""
    char = chr(point)
    if not unicodedata.decomposition(char):  # most: NFKC leaves them alone
        first, folded = char, char.casefold()
    else:
        first, folded = unicodedata.normalize("NFKD", char)[0], unicodedata.normalize("NFKC", char).casefold()
    if unicodedata.combining(first) or ord(first) in _second_starters():
        return (int(_CONTEXTUAL),)
    entries = tuple(ord(c) | (int(_WORD_CHAR) if c.isalnum() or c == "_" else 0) for c in folded)
    return entries if any(entry & _WORD_CHAR for entry in entries) else entries[:1]


_fold_rare_char = functools.lru_cache(maxsize=8192)(_fold_char)  # beyond the BMP, or folding to several


@functools.cache
def _fold_table() -> np.ndarray:
    """For each BMP code point, what `fold` makes of it and whether `\\w` (alphanumeric or underscore) matches
    that, in one uint32: a text's folded code points and word characters in one array lookup instead of
    `is_normalized`, NFKC, `casefold` and a lookup (4× faster on an article).

    Folding a text character by character is folding the text when no character interacts with the one
    before: NFKC reorders combining marks and composes a starter with what follows it, so a character is
    _CONTEXTUAL unless its decomposition starts with a starter that composes with nothing before it. A text
    with such a character (a combining accent, a Hangul jamo) is folded as a string.
    """
    entries = (_fold_char(point) for point in range(_BMP))
    return np.array([entry[0] if len(entry) == 1 else _EXPANDS for entry in entries], dtype=np.uint32)


def _expand(entries: np.ndarray, at: np.ndarray, points: np.ndarray) -> np.ndarray:
    """`entries` with the characters at these positions (of these code points) replaced by what they fold to."""
    folds = [_fold_rare_char(point) for point in points.tolist()]
    counts = np.ones(entries.size, dtype=np.intp)
    counts[at] = [len(fold) for fold in folds]
    expanded = np.repeat(entries, counts)
    for start, fold in zip((np.cumsum(counts) - counts)[at].tolist(), folds, strict=True):
        expanded[start : start + len(fold)] = fold
    return expanded


@functools.cache
def _word_char_table() -> np.ndarray:
    """For each BMP code point, whether `\\w` matches it (for str patterns: alphanumeric or underscore)."""
    return np.array([chr(c).isalnum() or c == 0x5F for c in range(_BMP)], dtype=bool)


def _nfkc(text: str) -> str:
    """NFKC. Most texts are NFKC already, which `is_normalized` tells at once; in the others CPython normalizes
    ~10 chars per µs, so only their lines that need it are normalized. A newline never decomposes nor composes
    with a neighbour (a stable code point), so normalizing line by line gives the same text."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    return "\n".join(
        line if unicodedata.is_normalized("NFKC", line) else unicodedata.normalize("NFKC", line)
        for line in text.split("\n")
    )


def fold_points(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The code points of `fold(text)` (or, for words, the same with runs of non-word characters shortened),
    and which of them are word characters: a word is a maximal run of them (what the dedup stage hashes)."""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    entries = _fold_table().take(points, mode="clip")
    if points.size and points.max() >= _BMP:  # emoji, mathematical letters, CJK extensions… folded one by one
        entries[points >= _BMP] = _EXPANDS
    if entries.size and entries.max() >= _EXPANDS:
        rare = np.flatnonzero(entries >= _EXPANDS)
        if any(_fold_rare_char(point)[0] == _CONTEXTUAL for point in set(points[rare].tolist())):
            return _fold_points_as_string(text)
        entries = _expand(entries, rare, points[rare])
    return entries & _FOLDED_POINT, (entries & _WORD_CHAR).astype(bool)


def _fold_points_as_string(text: str) -> tuple[np.ndarray, np.ndarray]:
    """`fold_points` for a text with characters that fold with their neighbours."""
    points = np.frombuffer(fold(text).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    is_word = _word_char_table().take(points, mode="clip")
    if points.size and points.max() >= _BMP:  # astral letters and digits (the underscore is in the BMP)
        astral = np.flatnonzero(points >= _BMP)
        is_word[astral] = [chr(c).isalnum() for c in points[astral].tolist()]
    return points, is_word


def words(text: str) -> list[str]:
    """The words of `text`, folded: typography and spacing never make two texts differ."""
    if len(text) < _ARRAY_MIN_CHARS:
        return _WORD.findall(fold(text))
    # every non-word character becomes a space, so the words are what str.split() separates
    points, is_word = fold_points(text)
    return np.where(is_word, points, _SPACE).tobytes().decode("utf-32-le").split()


# Scripts written without spaces between words: Han ideographs (CJK, compatibility), hiragana and katakana.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Chinese and Japanese words average under two characters.
_UNSPACED_CHARS_PER_WORD = 2


def word_count(text: str) -> int:
    """How many words `text` has: its `words`, and for Han and kana, which are written without spaces (a whole
    sentence would be one word, and every length threshold out by an order of magnitude), one word per two
    characters."""
    unspaced = len(_UNSPACED.findall(text))
    if not unspaced:
        return len(words(text))
    return len(words(_UNSPACED.sub(" ", text))) + -(-unspaced // _UNSPACED_CHARS_PER_WORD)


def normalize(text: str) -> str:
    """Case-, accent-width- and punctuation-insensitive form of `text` (its words, space-separated)."""
    return " ".join(words(text))


def content_id(text: str) -> str:
    """Stable id of a text: the same words give the same id, whatever the page around them."""
    return hashlib.blake2b(normalize(text).encode("utf-8"), digest_size=16).hexdigest()
