"""Pure metadata rules: the headline without the site's name, the language of the text, the authors as a list.

The rules hold for any site and language: a title is chosen by the agreement of the fields a page fills in
(og:title, JSON-LD headline, <h1>, <title>), not by patterns of known sites. Unit-tested on strings and trees.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from lxml.html import HtmlElement
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from model.pages import ARTICLE_TYPES

__all__ = [
    "Byline", "Language", "TitleSources", "byline", "choose_title", "detect_language", "split_names", "title_sources",
]

# Characters that may join a headline to a site name, section or date in a title field ("X | Site", "X - Site",
# "Section: X", "X：朝日新聞", "X-정치ㅣ한국일보"): a headline is held by a longer field only at one of them.
_JOINERS = "|｜-–—:：·•*»«/~ㅣ"
# The same joiners, as separators of the outer segments that may be stripped when they name the site.
_SEGMENT = re.compile(r"\s+[|｜\-–—·•*»«/~]\s+|\s*[|｜：ㅣ]\s*|\s+::\s+")
# A headline field must be at least this share of a longer field that holds it: a section name or a site name
# held by "Headline - Section - Site" is not the headline.
_MIN_SHARE = 0.5
# Voters: og:title and twitter:title are one (sites fill both from one value), the others one each. On a tie the
# visible and structured headlines win over the social and window titles, which are often rewritten for SEO.
_VOTERS = ("h1", "jsonld", "social", "title")
# Fields that carry the site's name, a section or a kicker around the headline. A visible or structured headline
# that is longer than another field ("Kicker: Headline" in <h1>) is the headline itself: it holds only its equal.
_AFFIXED = ("social", "title")
_QUOTES = str.maketrans("‘’‚‛“”„‟«»", "''''\"\"\"\"\"\"")
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


@dataclass(frozen=True, slots=True)
class TitleSources:
    """What a page offers as its title, each field's values in page order, and the names it gives itself."""

    h1: tuple[str, ...] = ()
    jsonld: tuple[str, ...] = ()
    social: tuple[str, ...] = ()
    title: tuple[str, ...] = ()
    site_names: tuple[str, ...] = ()


def _clean(value: str) -> str:
    return " ".join(html.unescape(value).translate(_INVISIBLE).split())


def _key(value: str) -> str:
    """Equal for two spellings of one headline (case, quotes, spacing)."""
    return " ".join(value.translate(_QUOTES).casefold().split())


def _holds(field: str, headline: str) -> bool:
    """True when `field` is `headline`, or `headline` joined to other words by a joiner (a site, a section)."""
    if field == headline:
        return True
    start = field.find(headline)
    if start < 0 or len(headline) < _MIN_SHARE * len(field):
        return False
    before, after = field[:start].rstrip(), field[start + len(headline) :].lstrip()
    return (not before or before[-1] in _JOINERS) and (not after or after[0] in _JOINERS)


def _letters(value: str) -> str:
    return "".join(c for c in value.casefold() if c.isalnum())


def _names_site(segment: str, site_names: Iterable[str]) -> bool:
    """True when a title's outer segment is the site's name (as it calls itself, or its host name)."""
    seg = _letters(segment)
    if not seg or len(segment.split()) > 6:
        return False
    return any(seg == name or (len(name) >= 3 and (name in seg or seg in name)) for name in map(_letters, site_names))


def _strip_site(title: str, site_names: Iterable[str]) -> str:
    """`title` without leading or trailing segments that name the site."""
    parts = _SEGMENT.split(title)
    if len(parts) < 2:
        return title
    names = [n for n in site_names if n]
    seps = _SEGMENT.findall(title)
    while len(parts) > 1 and _names_site(parts[-1], names):
        parts.pop()
        seps.pop()
    while len(parts) > 1 and _names_site(parts[0], names):
        parts.pop(0)
        seps.pop(0)
    return "".join(part + sep for part, sep in zip(parts, [*seps, ""], strict=True))


def choose_title(sources: TitleSources) -> str | None:
    """The headline: the value that the most fields hold (equal, or in the social and window titles with a site or
    section joined to it), in the spelling most fields give, without segments that name the site."""
    fields = {voter: [v for v in map(_clean, getattr(sources, voter)) if v] for voter in _VOTERS}
    keyed = {voter: [_key(v) for v in values] for voter, values in fields.items()}
    spellings: dict[str, list[tuple[int, str]]] = {}
    for rank, voter in enumerate(_VOTERS):
        for value, key in zip(fields[voter], keyed[voter], strict=True):
            spellings.setdefault(key, []).append((rank, value))
    if not spellings:
        return None

    def support(key: str) -> tuple[int, int]:
        voters = [
            rank
            for rank, voter in enumerate(_VOTERS)
            if any(_holds(f, key) for f in keyed[voter])
        ]
        return len(voters), -min(rank for rank, _ in spellings[key])

    best = max(spellings, key=support)
    counts: dict[str, int] = {}
    for _, value in spellings[best]:
        counts[value] = counts.get(value, 0) + 1
    spelling = max(counts, key=lambda value: counts[value])  # ties: the first seen, in voter order
    return _strip_site(spelling, sources.site_names) or None


def title_sources(tree: HtmlElement, url: str, objects: list[dict[str, Any]]) -> TitleSources:
    """Read the title fields and the site's names of a parsed page; `objects` are its JSON-LD objects."""
    articles = [o for o in objects if _is_article(o)]
    names = [
        *tree.xpath('//meta[@property="og:site_name"]/@content'),
        *tree.xpath('//meta[@name="application-name"]/@content'),
        *(_name(o.get("publisher")) for o in articles),
        *(_name(o) for o in objects if _types(o) & {"website", "organization", "newsmediaorganization"}),
        (urlsplit(url).hostname or "").removeprefix("www."),
    ]
    return TitleSources(
        h1=tuple(" ".join(h.text_content().split()) for h in tree.iter("h1"))[:3],
        jsonld=tuple(o["headline"] for o in articles if isinstance(o.get("headline"), str)),
        social=tuple(
            tree.xpath('//meta[@property="og:title"]/@content | //meta[@name="twitter:title"]/@content')
        ),
        title=tuple(tree.xpath("//head/title/text()"))[:1],
        site_names=tuple(n for n in names if n),
    )


# -- language ------------------------------------------------------------------------------------------------

# Detections below this normalised probability, or on fewer letters, leave the declared language in place.
_MIN_PROBABILITY = 0.9
_MIN_LETTERS = 100
# Enough text to tell a language; more costs time and changes nothing.
_SAMPLE_CHARS = 5000


@dataclass(frozen=True, slots=True)
class Language:
    """`language` is the detected one when the detection is confident, else the declared one."""

    language: str | None
    declared: str | None


@cache
def language_identifier() -> LanguageIdentifier:
    """The model, loaded once per process (the extraction workers' forkserver loads it: pipelines.extract.preload)."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, declared: str | None) -> Language:
    """Detect the language of `text` (py3langid) and check it against what the page declares."""
    sample = text[:_SAMPLE_CHARS]
    if sum(c.isalpha() for c in sample) < _MIN_LETTERS:
        return Language(declared, declared)
    detected, probability = language_identifier().classify(sample)
    return Language(detected if probability >= _MIN_PROBABILITY else declared, declared)


# -- authors -------------------------------------------------------------------------------------------------

# "Par Jean Dupont", "By Jane Doe", "Von Max Muster", "Texte : …": a byline's lead-in words, not a name.
_LEAD_IN = re.compile(
    r"^\s*(?:by|par|von|por|di|da|door|av|af|przez|autor(?:in|a|e)?|author|texte?|text|written by|reporting by)"
    r"\s*[:：]?\s+",
    re.IGNORECASE,
)
# Conjunctions that join two names in a byline ("A et B", "A und B", "A og B"), lower case only: "Y" may be an
# initial. Commas, semicolons and ampersands separate names too.
_NAME_SEPARATORS = re.compile(r"\s*[,;&、，]\s*|\s+(?:and|et|und|y|e|og|och|en|i|a|ve|és|и|та)\s+")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
_ORGANISATION_TYPES = frozenset({"organization", "newsmediaorganization", "corporation", "newsmedia"})


@dataclass(frozen=True, slots=True)
class Byline:
    """Who signed: people (`authors`) and, apart, an organisation that signs on its own (`source`)."""

    authors: list[str]
    source: str | None


def split_names(value: str) -> list[str]:
    """Names in a byline string: lead-in words dropped, split on commas, semicolons and conjunctions."""
    names = []
    for part in _NAME_SEPARATORS.split(value):
        name = _LEAD_IN.sub("", _clean(part)).strip(" .:-–—|")
        if name and any(c.isalpha() for c in name):
            names.append(name)
    return names


def _is_name(value: str) -> bool:
    """False for what templates put in an author field that is not a name: a URL, an address, a profile slug."""
    return not (value.startswith(("http:", "https:", "www.")) or "@" in value or _SLUG.fullmatch(value))


def byline(objects: list[dict[str, Any]], trafilatura_author: str | None, site_names: Iterable[str]) -> Byline:
    """The authors, read from the JSON-LD author of the page's article (people apart from organisations), else
    from trafilatura's author string; URLs and profile slugs are not names, and a name that is the site's own
    name is the source, not an author."""
    people: list[str] = []
    organisations: list[str] = []
    for article in (o for o in objects if _is_article(o)):
        for author in _as_list(article.get("author")):
            if isinstance(author, str):
                people.extend(split_names(author))
            elif isinstance(author, dict) and (name := _name(author)):
                (organisations if _types(author) & _ORGANISATION_TYPES else people).append(_clean(name))
        if people or organisations:
            break
    people = [name for name in people if _is_name(name)]
    if not people and trafilatura_author:  # an organisation in JSON-LD may stand above a byline the page shows
        people = [name for name in split_names(trafilatura_author) if _is_name(name)]
    names = [n for n in site_names if n]
    organisations += [p for p in people if _names_site(p, names)]
    authors = list(dict.fromkeys(p for p in people if not _names_site(p, names)))
    return Byline(authors, "; ".join(dict.fromkeys(organisations)) or None)


# -- JSON-LD helpers -----------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _types(node: dict[str, Any]) -> set[str]:
    return {t.lower() for t in _as_list(node.get("@type")) if isinstance(t, str)}


def _is_article(node: dict[str, Any]) -> bool:
    return bool(_types(node) & ARTICLE_TYPES)


def _name(node: Any) -> str:
    if isinstance(node, list):
        return next((name for n in node if (name := _name(n))), "")
    name = node.get("name") if isinstance(node, dict) else None
    return name if isinstance(name, str) else ""
