"""Pure helpers that judge a fetched page: is it HTML, how to decode it (the spider), what does it declare itself to
be (the spider for pages whose links it follows, extraction for every page). Unit-tested on bytes and trees."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from courlan import is_navigation_page, is_not_crawlable
from lxml.html import HtmlElement
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

__all__ = [
    "Decoded", "binary_kind", "decode_html", "declared_encoding", "declared_page_type", "is_listing_url",
    "jsonld_objects",
]

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


@dataclass(frozen=True, slots=True)
class Decoded:
    """A page's text, the codec that gave it, whether the declared charset was missing or wrong (`fell_back`),
    and how many stray bytes became U+FFFD (`replaced`)."""

    text: str
    encoding: str
    fell_back: bool
    replaced: int = 0


def decode_html(body: bytes, declared: str | None) -> Decoded:
    """Decode a page as a browser would, without garbling a whole page for a few bad bytes.

    Bytes that are valid UTF-8 and not ASCII are UTF-8 whatever the page declares: legacy-encoded text is
    practically never valid UTF-8, while stale `<meta charset>` tags on re-encoded pages are common. Otherwise
    the declared charset, when the bytes agree with it. Bytes that are UTF-8 but for some stray bytes (a footer
    pasted from elsewhere) are decoded as UTF-8 when that loses fewer characters (the stray bytes, replaced)
    than windows-1252 would garble (every well-formed UTF-8 letter): a strict decode fails on them. Then
    windows-1252 (what browsers assume for Western pages, per the HTML standard), and only then a lossy decode.
    """
    if not body.isascii():
        try:
            return Decoded(body.decode("utf-8"), "utf-8", declared != "utf-8")
        except UnicodeDecodeError:
            pass
    if declared:
        try:
            return Decoded(body.decode(declared), declared, False)
        except (UnicodeDecodeError, LookupError):
            pass
    text = body.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd") - body.count("\ufffd".encode())
    well_formed = len(text) - len(text.encode("ascii", errors="ignore")) - replaced
    if not replaced or well_formed > replaced:
        return Decoded(text, "utf-8", declared != "utf-8", replaced)
    try:
        return Decoded(body.decode("cp1252"), "cp1252", True)
    except UnicodeDecodeError:
        lossy = declared if declared and declared != "utf-8" else "cp1252"
        text = body.decode(lossy, errors="replace")
        return Decoded(text, lossy, True, text.count("\ufffd"))


def jsonld_objects(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """The page's JSON-LD objects: top level, in lists, in `@graph` and as `mainEntity` (not their properties)."""
    for raw in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        yield from _objects_in(data)


def _objects_in(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for child in node:
            yield from _objects_in(child)
    elif isinstance(node, dict):
        yield node
        yield from _objects_in(node.get("@graph", []))
        yield from _objects_in(node.get("mainEntity", []))


def _jsonld_types(tree: HtmlElement) -> Iterator[str]:
    for node in jsonld_objects(tree):
        kind = node.get("@type")
        for name in kind if isinstance(kind, list) else [kind]:
            if isinstance(name, str):
                yield name.lower()


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
    """True for URLs that name navigation, author, contact or legal pages rather than articles.

    courlan's navigation patterns are matched on the path alone: it takes `?p=N` for a page number, but that is
    how WordPress addresses a post, and query-addressed CMSs name their articles in the query."""
    path_only = urlsplit(url)._replace(query="", fragment="").geturl()
    return (
        is_navigation_page(path_only)
        or is_not_crawlable(url)
        or bool(_LEGAL_PATH.search(url) or _AUTHOR_PATH.search(url))
    )
