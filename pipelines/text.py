"""Text normalization shared by the stages: what counts as "the same words" for hashing and shingling."""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["content_id", "normalize", "words"]

_WORD = re.compile(r"\w+")


def normalize(text: str) -> str:
    """Case-, accent-width- and punctuation-insensitive form of `text` (NFKC, casefolded, words only)."""
    return " ".join(words(text))


def words(text: str) -> list[str]:
    """The words of `text`, NFKC-normalized and casefolded: typography and spacing never make two texts differ."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def content_id(text: str) -> str:
    """Stable id of a text: the same words give the same id, whatever the page around them."""
    return hashlib.blake2b(normalize(text).encode("utf-8"), digest_size=16).hexdigest()
