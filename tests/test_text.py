"""model.text: the fast word finder gives exactly the regex's words, and ids stay stable across versions."""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata

import pytest

from model.text import (
    _BMP,
    _CONTEXTUAL,
    _fold_rare_char,
    _fold_table,
    content_id,
    fold,
    fold_points,
    normalize,
    word_count,
    words,
)

WORD = re.compile(r"\w+")
TRICKY = (
    "L’État, c’est moi ! « Déjà-vu » — ﬁnancement: Straße STRASSE straße\u00a0e\u0301te ＡＢＣ１２３ "
    "snake_case __init__ x² ½ ٣٤ 中文字符 𝐁𝐨𝐥𝐝 😀emoji😀 \U00020000x tab\there\nnew line \ud800lone "
    "i\u0307stanbul ǅungla ΣΊΣΥΦΟΣ ﬀ ‐hyphen‑ _ __ …\u2028\u0085"
)


def reference_words(text: str) -> list[str]:
    """The definition: `\\w+` runs of the NFKC, casefolded text."""
    return WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def random_text(rng: random.Random, length: int) -> str:
    """Code points of every plane (surrogates included), with separators and combining marks around newlines."""
    pieces = []
    for _ in range(length):
        kind = rng.random()
        if kind < 0.5:
            pieces.append(chr(rng.randrange(0x110000)))
        elif kind < 0.7:
            pieces.append(rng.choice(" ,.\n\t-_'’\u00a0"))
        elif kind < 0.8:
            pieces.append(chr(rng.randrange(0x300, 0x370)))  # combining marks, also right after a newline
        else:
            pieces.append(chr(rng.randrange(0x20, 0x250)))  # Latin, with letters that compose with marks
    return "".join(pieces)


@pytest.mark.parametrize("length", [0, 1, 5, 50, 399, 400, 401, 2_000, 20_000])
def test_words_are_the_regex_words_on_random_unicode(length: int) -> None:
    rng = random.Random(length)
    for _ in range(20 if length < 5_000 else 3):
        text = random_text(rng, length)
        assert words(text) == reference_words(text)


def test_words_of_tricky_and_real_texts(sample_texts: list[str]) -> None:
    for text in [TRICKY, TRICKY * 20, *sample_texts, "", "   ", "...", "one", "_"]:
        assert words(text) == reference_words(text)


def test_folding_line_by_line_is_folding_the_whole_text() -> None:
    # A newline is a stable code point: no normalization crosses it. Marks right after a newline, Hangul
    # jamo split by one, compatibility characters on either side.
    texts = ["e\n\u0301", "\u1100\n\u1161", "ﬁ\n\u0308a", "A\u030a\nÅ", "ǅ\n\u0327c", TRICKY]
    rng = random.Random(3)
    texts += [random_text(rng, 300) for _ in range(50)]
    for text in texts:
        assert fold(text) == unicodedata.normalize("NFKC", text).casefold()


def test_normalize_and_content_id_follow_the_words_and_stay_stable() -> None:
    rng = random.Random(9)
    for text in [TRICKY, TRICKY * 20, random_text(rng, 3_000)]:
        assert normalize(text) == " ".join(reference_words(text))
        expected = hashlib.blake2b(" ".join(reference_words(text)).encode("utf-8"), digest_size=16).hexdigest()
        assert content_id(text) == expected
    # Record ids and the dedup state's content ids are these values: they must not change between versions.
    assert content_id("The quick brown fox jumps over the lazy dog") == "5bfb7372bdb2f169ed8c800e5ee441e8"
    assert content_id(TRICKY[:80]) == content_id(TRICKY[:80].upper().replace(" ", "  "))


def test_folding_character_by_character_is_folding_the_text() -> None:
    """Every character folded alone (by table, or expanded: ß → ss, ½ → 1⁄2, 𝐁 → b), next to every other in
    shuffled orders: the text's words, as NFKC, casefold and the regex give them."""
    table = _fold_table()
    alone = [chr(c) for c in range(_BMP) if table[c] < _CONTEXTUAL]
    alone += [chr(c) for c in [*range(_BMP, 0x110000, 61), 0x1F600, 0x1D401] if _fold_rare_char(c)[0] != _CONTEXTUAL]
    assert {"é", "œ", "’", "\u00a0", "…", "ß", "½", "ﬁ", "A", "1", "_", "😀", "𝐁"} <= set(alone)
    assert "\u0301" not in alone and "\u1161" not in alone  # a combining accent, a Hangul vowel jamo
    rng = random.Random(5)
    for _ in range(3):
        rng.shuffle(alone)
        text = "".join(alone)
        assert fold_points(text)[0].size < len(fold(text)), "folded character by character, not as a string"
        assert words(text) == reference_words(text)


def test_words_of_random_bmp_text() -> None:
    """Everyday text with now and then any BMP character: folded by table or, for some, as a string."""
    rng = random.Random(6)
    everyday = "abcdefghij ÉéèàçœŒ’«»–—…\u00a0\n,.'"
    for length in (400, 3_000):
        for _ in range(40):
            text = "".join(
                rng.choice(everyday) if rng.random() < 0.998 else chr(rng.randrange(0xE000, 0x10000) if rng.random() < 0.1 else rng.randrange(0xD800))
                for _ in range(length)
            )
            assert words(text) == reference_words(text)


def test_word_count_counts_han_and_kana_at_two_characters_a_word() -> None:
    assert word_count("OpenAI signe un accord, annonce Sam Altman.") == 7
    # "The president declared martial law on the night of the 3rd." in Japanese: no spaces between its words
    japanese = "大統領は３日夜、非常戒厳を宣言した。"
    assert len(words(japanese)) == 2, "whitespace and punctuation alone cut it in two"
    assert word_count(japanese) == 8 + 1, "15 Han and kana characters, and the number ３"
    assert word_count("Samsung 갤럭시 출시") == 3, "Korean spaces its words"
