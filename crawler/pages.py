"""Pure helpers that judge a fetched page: is it HTML, how to decode it (the spider), what does it declare itself to
be (the spider for pages whose links it follows, extraction for every page). Unit-tested on bytes and trees."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from courlan import is_navigation_page, is_not_crawlable
from lxml.html import HtmlElement
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

__all__ = ["binary_kind", "decode_html", "declared_encoding", "declared_page_type", "is_listing_url"]

# schema.org types whose pages are articles, and types whose pages are not.
ARTICLE_TYPES = frozenset(
    {
        "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
        "reviewnewsarticle", "backgroundnewsarticle", "blogposting", "liveblogposting", "report",
        "techarticle", "scholarlyarticle", "socialmediaposting",
    }
)  # fmt: skip
NON_ARTICLE_TYPES = frozenset(
    {"collectionpage", "profilepage", "contactpage", "aboutpage", "searchresultspage", "itemlist", "person"}
)
_BINARY_MAGIC = {
    b"%PDF-": "pdf",
    b"\x89PNG": "image",
    b"\xff\xd8\xff": "image",
    b"GIF8": "image",
    b"RIFF": "image",
    b"PK\x03\x04": "archive",
    b"\x1f\x8b": "gzip",
}
_LEGAL_PATH = re.compile(
    r"/(?:contact|contactez-nous|mentions-legales|legal|legal-notice|cgu|cgv|conditions|terms|privacy|"
    r"confidentialite|politique-de-confidentialite|cookies|about|a-propos|qui-sommes-nous|imprint|impressum)"
    r"(?:[/.?#]|$)",
    re.IGNORECASE,
)
_AUTHOR_PATH = re.compile(r"/(?:auteur|author|authors|redaction|journaliste)s?/", re.IGNORECASE)


def binary_kind(body: bytes) -> str | None:
    """Name the kind of a non-HTML body served whatever its Content-Type says (PDF, image, …), else None."""
    head = body[:16]
    for magic, kind in _BINARY_MAGIC.items():
        if head.startswith(magic):
            return kind
    stripped = body[:512].lstrip()
    if stripped[:1] in (b"{", b"[") and not stripped.startswith(b"[if"):
        return "json"
    if b"\x00" in body[:1024]:
        return "binary"
    return None


def declared_encoding(body: bytes, content_type: str | None) -> str | None:
    """The encoding the page itself declares (BOM, HTTP header, then <meta>), or None: never a guess."""
    bom, _ = read_bom(body)
    return bom or http_content_type_encoding(content_type) or html_body_declared_encoding(body[:4096])


def decode_html(body: bytes, declared: str | None) -> tuple[str, bool]:
    """Decode a page; returns (text, fell_back).

    The declared charset wins when the bytes agree with it. Pages that lie (windows-1252 bytes labelled
    UTF-8) or say nothing are common, so a strict failure or no declaration falls back to UTF-8, then
    windows-1252 (what browsers assume for Western pages, per the HTML standard), and only then to a lossy
    decode. `fell_back` is True when the declared charset was missing or wrong.
    """
    for index, encoding in enumerate([declared, "utf-8", "cp1252"]):
        if encoding is None:
            continue
        try:
            return body.decode(encoding), index > 0
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode(declared or "utf-8", errors="replace"), True


def _jsonld_types(tree: HtmlElement) -> Iterator[str]:
    for raw in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        yield from _types_in(data)


def _types_in(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for child in node:
            yield from _types_in(child)
    elif isinstance(node, dict):
        kind = node.get("@type")
        for name in kind if isinstance(kind, list) else [kind]:
            if isinstance(name, str):
                yield name.lower()
        yield from _types_in(node.get("@graph", []))
        yield from _types_in(node.get("mainEntity", []))


def declared_page_type(tree: HtmlElement) -> str:
    """'article', 'listing' or 'unknown', from what the parsed page declares (JSON-LD @type, og:type, microdata)."""
    types = set(_jsonld_types(tree))
    types.update(t.rsplit("/", 1)[-1].lower() for t in tree.xpath("//*[@itemtype]/@itemtype"))
    og_type = next(iter(tree.xpath('//meta[@property="og:type"]/@content')), "").strip().lower()
    if types & ARTICLE_TYPES or og_type == "article":
        return "article"
    if types & NON_ARTICLE_TYPES or og_type in ("profile", "books.author"):
        return "listing"
    return "unknown"


def is_listing_url(url: str) -> bool:
    """True for URLs that name navigation, author, contact or legal pages rather than articles."""
    return is_navigation_page(url) or is_not_crawlable(url) or bool(_LEGAL_PATH.search(url) or _AUTHOR_PATH.search(url))
